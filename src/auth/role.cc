#include "auth/role.h"

namespace infera {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kUser:
      return "user";
  }
  return "";
}

StatusOr<Role> ParseRole(std::string_view name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "user") return Role::kUser;
  return absl::InvalidArgumentError("unknown role: expected \"admin\" or \"user\"");
}

}  // namespace infera
