#include "support/test_users.h"

#include <gtest/gtest.h>

#include <string>

#include "auth/auth_service.h"
#include "store/sqlite_user_store.h"

namespace infera::testing {

void AddTestUsers(const std::filesystem::path& server_dir) {
  auto users = OpenSqliteUserStore(server_dir / "data" / "infera.db");
  ASSERT_TRUE(users.ok()) << users.status();
  AuthOptions options;
  options.argon2 = Argon2Params::ForTesting();
  auto service = AuthService::Create(users->get(), std::string(32, 's'), options);
  ASSERT_TRUE(service.ok());
  ASSERT_TRUE((*service)->CreateUser("bob", "bob-password", Role::kUser).ok());
  ASSERT_TRUE((*service)->CreateUser("eve", "eve-password", Role::kUser).ok());
}

}  // namespace infera::testing
