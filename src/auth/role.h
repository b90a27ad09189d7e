// Role: what a user may do. kAdmin manages users, keys and models; kUser runs
// inferences on their own data. The names are the stored and JWT "role" values.
//
// Thread-safety: pure functions. Errors: ParseRole returns InvalidArgument for any
// text other than the exact lower-case names (no trimming, no case folding), so a JWT
// or store row with an unknown role is refused rather than mapped to a default.
#pragma once

#include <string_view>

#include "common/status.h"

namespace infera {

enum class Role { kAdmin, kUser };

// RoleName: "admin" or "user".
std::string_view RoleName(Role role);

// ParseRole: the role named exactly `name`.
StatusOr<Role> ParseRole(std::string_view name);

}  // namespace infera
