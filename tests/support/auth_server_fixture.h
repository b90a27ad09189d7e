// AuthServerFixture: a ServerFixture whose suite server runs with auth on and has two
// plain users besides the admin, and whose tests start signed in as all three.
//
// A derived suite calls StartSuiteServerWithUsers from its SetUpTestSuite (and
// StopSuiteServer from its TearDownTestSuite, as any ServerFixture). Each test's SetUp
// signs in bob ("bob-password", role user), eve ("eve-password", role user) and the
// admin through POST /api/auth/login, so bob_, eve_ and admin_ hold access tokens.
#pragma once

#include <string>
#include <vector>

#include "support/server_fixture.h"

namespace infera::testing {

class AuthServerFixture : public ServerFixture {
 protected:
  // StartSuiteServer(models, server_yaml) with INFERA_ADMIN_PASSWORD set to
  // `admin_password` for the server's start (unset again after), then AddTestUsers
  // (support/test_users.h). `server_yaml` must turn auth on (e.g.
  // "auth: {enabled: true, access_ttl_s: 600}\n"). A failure fails the suite.
  static void StartSuiteServerWithUsers(const std::vector<std::string>& models,
                                        const std::string& server_yaml,
                                        const std::string& admin_password);

  // Connects (ServerFixture::SetUp) and signs in bob_, eve_ and admin_.
  void SetUp() override;

  // POST /api/auth/login; the access token ("" and a test failure unless HTTP 200).
  std::string Login(const std::string& user, const std::string& password);
  // Sends one request with `token` as its bearer token (added to `headers`).
  HttpResponse As(const std::string& token, const std::string& method, const std::string& target,
                  const std::string& body = "", HttpHeaders headers = {});

  std::string bob_, eve_, admin_;
};

}  // namespace infera::testing
