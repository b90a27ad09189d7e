// The per-address login throttle behind a reverse proxy (issue 22 item 6): X-Forwarded-For
// is believed only from auth.trusted_proxies, so clients behind the proxy are throttled
// one by one (an admin is not locked out by someone else's guessing), and a client that
// is not a trusted proxy cannot dodge its address's lockout by sending the header.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "support/server_fixture.h"

namespace infera::testing {
namespace {

using json = nlohmann::json;
constexpr const char* kAdminPassword = "admin-test-password";

// Fails logins for 12 different (unknown) usernames from one address: past the
// address's 10 free failures, so that address is locked; no username is.
class ThrottleFixture : public ServerFixture {
 protected:
  int LoginStatus(const std::string& user, const std::string& password,
                  const std::string& forwarded_for) {
    HttpHeaders headers;
    if (!forwarded_for.empty()) headers["X-Forwarded-For"] = forwarded_for;
    return Post("/api/auth/login", json{{"username", user}, {"password", password}}.dump(), headers)
        .status;
  }
  void GuessFrom(const std::string& forwarded_for, bool vary_header = false) {
    for (int i = 0; i < 12; ++i) {
      const std::string header = vary_header ? "198.51.100." + std::to_string(i) : forwarded_for;
      const int status = LoginStatus("nobody" + std::to_string(i), "wrong-password", header);
      EXPECT_TRUE(status == 401 || status == 429) << status;
    }
  }
};

class TrustedProxyTest : public ThrottleFixture {
 protected:
  static void SetUpTestSuite() {
    ::setenv("INFERA_ADMIN_PASSWORD", kAdminPassword, 1);
    StartSuiteServer({"tiny_cls"}, "auth: {enabled: true, trusted_proxies: [127.0.0.1]}\n");
    ::unsetenv("INFERA_ADMIN_PASSWORD");
  }
  static void TearDownTestSuite() { StopSuiteServer(); }
};

TEST_F(TrustedProxyTest, ForwardedForFromATrustedProxyThrottlesEachClient) {
  GuessFrom("203.0.113.5");
  EXPECT_EQ(LoginStatus("admin", kAdminPassword, "203.0.113.5"), 429);
  // Another client behind the same proxy is not locked out.
  EXPECT_EQ(LoginStatus("admin", kAdminPassword, "203.0.113.9"), 200);
  // The right-most untrusted entry counts: a client cannot pick its address by putting
  // one in front ("spoofed, real" as the proxy appends the real one).
  EXPECT_EQ(LoginStatus("admin", kAdminPassword, "192.0.2.1, 203.0.113.5"), 429);
  // Garbage stops the walk at the proxy: the proxy's own address is used.
  EXPECT_EQ(LoginStatus("admin", kAdminPassword, "not-an-address"), 200);
}

class UntrustedForwardedForTest : public ThrottleFixture {
 protected:
  static void SetUpTestSuite() {
    ::setenv("INFERA_ADMIN_PASSWORD", kAdminPassword, 1);
    StartSuiteServer({"tiny_cls"}, "auth: {enabled: true}\n");
    ::unsetenv("INFERA_ADMIN_PASSWORD");
  }
  static void TearDownTestSuite() { StopSuiteServer(); }
};

TEST_F(UntrustedForwardedForTest, ForwardedForIsIgnoredWithoutTrustedProxies) {
  GuessFrom("", /*vary_header=*/true);  // a different spoofed address on every guess
  EXPECT_EQ(LoginStatus("admin", kAdminPassword, "203.0.113.77"), 429);
}

}  // namespace
}  // namespace infera::testing
