#include "auth/role.h"

#include <gtest/gtest.h>

namespace infera {
namespace {

TEST(RoleTest, NamesRoundTrip) {
  for (const Role role : {Role::kAdmin, Role::kUser}) {
    StatusOr<Role> parsed = ParseRole(RoleName(role));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, role);
  }
  EXPECT_EQ(RoleName(Role::kAdmin), "admin");
  EXPECT_EQ(RoleName(Role::kUser), "user");
}

TEST(RoleTest, RejectsUnknownCaseVariantsAndPadding) {
  for (const char* bad : {"", "Admin", "ADMIN", " admin", "admin ", "root", "users"}) {
    EXPECT_EQ(ParseRole(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace infera
