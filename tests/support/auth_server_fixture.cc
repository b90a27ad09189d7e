#include "support/auth_server_fixture.h"

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "support/test_users.h"

namespace infera::testing {
namespace {

// The suite server's admin password, for each test's SetUp (suites run one at a time).
std::string& SuiteAdminPassword() {
  static auto* password = new std::string();
  return *password;
}

}  // namespace

void AuthServerFixture::StartSuiteServerWithUsers(const std::vector<std::string>& models,
                                                  const std::string& server_yaml,
                                                  const std::string& admin_password) {
  SuiteAdminPassword() = admin_password;
  ::setenv("INFERA_ADMIN_PASSWORD", admin_password.c_str(), 1);
  StartSuiteServer(models, server_yaml);
  ::unsetenv("INFERA_ADMIN_PASSWORD");
  AddTestUsers(server_dir());
}

void AuthServerFixture::SetUp() {
  ServerFixture::SetUp();
  bob_ = Login("bob", "bob-password");
  eve_ = Login("eve", "eve-password");
  admin_ = Login("admin", SuiteAdminPassword());
}

std::string AuthServerFixture::Login(const std::string& user, const std::string& password) {
  HttpResponse r =
      Post("/api/auth/login", nlohmann::json{{"username", user}, {"password", password}}.dump());
  EXPECT_EQ(r.status, 200) << r.body;
  return nlohmann::json::parse(r.body, nullptr, false).value("access_token", "");
}

HttpResponse AuthServerFixture::As(const std::string& token, const std::string& method,
                                   const std::string& target, const std::string& body,
                                   HttpHeaders headers) {
  headers["Authorization"] = "Bearer " + token;
  return Send(method, target, body, headers);
}

}  // namespace infera::testing
