// The real `infera users` binary on a server config's store: add (password from
// INFERA_PASSWORD), list, set-password, disable/enable, and refusals — checked by
// logging in through AuthService on the same store.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "auth/auth_service.h"
#include "auth/secret_file.h"
#include "store/sqlite_user_store.h"
#include "support/child_process.h"
#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct Result {
  int code = 0;
  std::string out, err;
};

Result Users(const fs::path& config, std::vector<std::string> args, const char* password) {
  if (password != nullptr) {
    ::setenv("INFERA_PASSWORD", password, 1);
  } else {
    ::unsetenv("INFERA_PASSWORD");
  }
  std::vector<std::string> argv = {testing::InferaBinary().string(), "users"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--config");
  argv.push_back(config.string());
  testing::Child c = testing::Spawn(argv);
  ::unsetenv("INFERA_PASSWORD");
  Result r;
  r.out = testing::ReadUntil(c.out, "\x01never", std::chrono::seconds(60));
  r.err = testing::ReadUntil(c.err, "\x01never", std::chrono::seconds(10));
  r.code = testing::WaitExit(c.pid, std::chrono::seconds(60));
  close(c.out);
  close(c.err);
  return r;
}

bool CanLogin(const fs::path& dir, const std::string& user, const std::string& password) {
  auto users = OpenSqliteUserStore(dir / "data" / "infera.db");
  auto secret = LoadSecret(dir / "data" / "auth_secret");
  if (!users.ok() || !secret.ok()) return false;
  auto auth = AuthService::Create(users->get(), *secret, AuthOptions{});
  return auth.ok() && (*auth)->Login(user, password, "127.0.0.1", nullptr).ok();
}

TEST(UsersCliTest, AddListSetPasswordDisable) {
  testing::TempDir dir;
  const fs::path config = dir.path() / "config.yaml";
  testing::WriteFile(config, "server: {port: 0}\n");
  Result r = Users(config, {"add", "alice", "--role", "admin"}, "alice-password");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("added user alice"));
  EXPECT_TRUE(CanLogin(dir.path(), "alice", "alice-password"));
  EXPECT_EQ(Users(config, {"add", "bob"}, "bob-password").code, 0);

  r = Users(config, {"list"}, nullptr);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("alice"));
  EXPECT_THAT(r.out, HasSubstr("admin"));
  EXPECT_THAT(r.out, HasSubstr("bob"));

  EXPECT_EQ(Users(config, {"set-password", "bob"}, "new-bob-password").code, 0);
  EXPECT_FALSE(CanLogin(dir.path(), "bob", "bob-password"));
  EXPECT_TRUE(CanLogin(dir.path(), "bob", "new-bob-password"));
  EXPECT_EQ(Users(config, {"disable", "bob"}, nullptr).code, 0);
  EXPECT_FALSE(CanLogin(dir.path(), "bob", "new-bob-password"));
  EXPECT_THAT(Users(config, {"list"}, nullptr).out, HasSubstr("disabled"));
  EXPECT_EQ(Users(config, {"enable", "bob"}, nullptr).code, 0);
  EXPECT_TRUE(CanLogin(dir.path(), "bob", "new-bob-password"));

  r = Users(config, {"add", "ALICE"}, "another-password");
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("taken"));
  r = Users(config, {"add", "carol"}, "short");
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("8"));
  r = Users(config, {"disable", "nobody"}, nullptr);
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("no user 'nobody'"));
  // The signing secret the CLI created is private.
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() / "data" / "auth_secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace infera
