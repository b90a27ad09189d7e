// Authentication on the real server (auth: {enabled: true}): every /api route refuses
// calls without a valid token (401, WWW-Authenticate), admin routes refuse users (403);
// (every route × every credential state is auth_matrix_test.cc); login, me, refresh rotation with
// reuse detection, logout, API keys, throttling (429); and a server with auth off says so on the
// auth routes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "support/multipart_body.h"
#include "support/server_fixture.h"
#include "support/test_users.h"

namespace infera::testing {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr const char* kAdminPassword = "admin-test-password";

class AuthTest : public ServerFixture {
 protected:
  static void SetUpTestSuite() {
    ::setenv("INFERA_ADMIN_PASSWORD", kAdminPassword, 1);
    StartSuiteServer({"tiny_cls"}, "auth: {enabled: true, access_ttl_s: 600}\n");
    ::unsetenv("INFERA_ADMIN_PASSWORD");
    // Plain users, made as `infera users add` would: on the server's own store.
    AddTestUsers(server_dir());
  }
  static void TearDownTestSuite() { StopSuiteServer(); }

  json Login(const std::string& user, const std::string& password, int want = 200) {
    HttpResponse r =
        Post("/api/auth/login", json{{"username", user}, {"password", password}}.dump());
    EXPECT_EQ(r.status, want) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  HttpHeaders Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }
  HttpResponse As(const std::string& token, const std::string& method, const std::string& target,
                  const std::string& body = "") {
    return Send(method, target, body, Bearer(token));
  }
};

// Every route × every credential state: auth_matrix_test.cc.

TEST_F(AuthTest, LoginMeRefreshReuseAndLogout) {
  ExpectError(Post("/api/auth/login", json{{"username", "bob"}, {"password", "nope-nope"}}.dump()),
              401, "invalid username or password");
  ExpectError(Post("/api/auth/login", json{{"username", "bob"}}.dump()), 400, "'password'");
  json tokens = Login("bob", "bob-password");
  EXPECT_EQ(tokens["token_type"], "Bearer");
  EXPECT_EQ(tokens["expires_in"], 600);
  HttpResponse me = As(tokens["access_token"], "GET", "/api/auth/me");
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(json::parse(me.body)["username"], "bob");
  EXPECT_EQ(json::parse(me.body)["role"], "user");

  HttpResponse refreshed =
      Post("/api/auth/refresh", json{{"refresh_token", tokens["refresh_token"]}}.dump());
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  json second = json::parse(refreshed.body);
  EXPECT_EQ(As(second["access_token"], "GET", "/api/auth/me").status, 200);
  ExpectError(Post("/api/auth/refresh", json{{"refresh_token", tokens["refresh_token"]}}.dump()),
              401, "reuse");
  ExpectError(Post("/api/auth/refresh", json{{"refresh_token", second["refresh_token"]}}.dump()),
              401, "revoked");

  json third = Login("bob", "bob-password");
  ASSERT_EQ(As(third["access_token"], "POST", "/api/auth/logout",
               json{{"refresh_token", third["refresh_token"]}}.dump())
                .status,
            200);
  ExpectError(As(third["access_token"], "GET", "/api/auth/me"), 401, "token revoked");
  ExpectError(Post("/api/auth/refresh", json{{"refresh_token", third["refresh_token"]}}.dump()),
              401, "revoked");
}

TEST_F(AuthTest, ApiKeysWorkUntilRevokedAndAreOwnedByTheirUser) {
  const std::string bob = Login("bob", "bob-password")["access_token"];
  HttpResponse created = As(bob, "POST", "/api/auth/keys", json{{"name", "script"}}.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  json key = json::parse(created.body);
  const std::string secret = key["key"];
  EXPECT_TRUE(secret.starts_with("infera_key_"));
  EXPECT_EQ(As(secret, "GET", "/api/datasets").status, 200);
  HttpResponse list = As(bob, "GET", "/api/auth/keys");
  ASSERT_EQ(list.status, 200);
  EXPECT_THAT(list.body, ::testing::Not(HasSubstr(secret)));  // never shown again
  EXPECT_THAT(list.body, HasSubstr("script"));
  // Another user cannot revoke it (404, no oracle); its owner can.
  const std::string admin = Login("admin", kAdminPassword)["access_token"];
  HttpResponse admin_keys = As(admin, "GET", "/api/auth/keys");
  EXPECT_THAT(admin_keys.body, ::testing::Not(HasSubstr("script")));
  const std::string target = "/api/auth/keys/" + std::to_string(key["id"].get<int64_t>());
  ExpectError(As(Login("eve", "eve-password")["access_token"], "DELETE", target), 404,
              "no API key");
  EXPECT_EQ(As(secret, "GET", "/api/datasets").status, 200);
  HttpResponse own = As(Login("bob", "bob-password")["access_token"], "DELETE", target);
  EXPECT_EQ(own.status, 200) << own.body;
  ExpectError(As(secret, "GET", "/api/datasets"), 401, "API key revoked");
}

TEST_F(AuthTest, RecordsBelongToTheirCreatorOthersGet404AdminsSeeAll) {
  const std::string bob = Login("bob", "bob-password")["access_token"];
  const std::string eve = Login("eve", "eve-password")["access_token"];
  const std::string admin = Login("admin", kAdminPassword)["access_token"];
  HttpResponse created = As(bob, "POST", "/api/datasets", json{{"name", "bob's cells"}}.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const int64_t dataset = json::parse(created.body)["id"];
  const std::string png = ReadFile(TestModelsDir() / "images" / "disk.png");
  HttpHeaders upload = Bearer(bob);
  upload["Content-Type"] = MultipartContentType();
  HttpResponse up = Send("POST", "/api/datasets/" + std::to_string(dataset) + "/files",
                         MultipartBody({{"files", "disk.png", png, "image/png"}}), upload);
  ASSERT_EQ(up.status, 201) << up.body;
  const int64_t file = json::parse(up.body)["files"][0]["id"];
  HttpResponse started = As(bob, "POST", "/api/inferences/start",
                            json{{"dataset_id", dataset}, {"model_id", "tiny_cls"}}.dump());
  ASSERT_EQ(started.status, 202) << started.body;
  const int64_t job = json::parse(started.body)["inference_id"];

  const std::string d = "/api/datasets/" + std::to_string(dataset);
  const std::string f = "/api/files/" + std::to_string(file);
  const std::string j = "/api/inferences/" + std::to_string(job);
  // Eve: exactly what an unknown id gets.
  for (const auto& [method, target] :
       std::vector<std::pair<std::string, std::string>>{{"GET", d},
                                                        {"DELETE", d},
                                                        {"GET", f},
                                                        {"GET", f + "/meta"},
                                                        {"GET", f + "/thumbnail"},
                                                        {"GET", f + "/overlay"},
                                                        {"GET", j},
                                                        {"POST", j + "/cancel"},
                                                        {"GET", j + "/download"}}) {
    SCOPED_TRACE(method + " " + target);
    HttpResponse theirs = As(eve, method, target);
    EXPECT_EQ(theirs.status, 404) << theirs.body;
  }
  ExpectError(As(eve, "GET", d), 404, "dataset " + std::to_string(dataset) + " not found");
  ExpectError(As(eve, "GET", "/api/datasets/987654"), 404, "dataset 987654 not found");
  ExpectError(As(eve, "POST", "/api/inferences/start",
                 json{{"dataset_id", dataset}, {"model_id", "tiny_cls"}}.dump()),
              404, "not found");
  HttpHeaders eve_upload = Bearer(eve);
  eve_upload["Content-Type"] = MultipartContentType();
  EXPECT_EQ(
      Send("POST", d + "/files", MultipartBody({{"files", "x.png", png, "image/png"}}), eve_upload)
          .status,
      404);
  EXPECT_THAT(As(eve, "GET", "/api/datasets").body, ::testing::Not(HasSubstr("bob's cells")));
  EXPECT_THAT(As(eve, "GET", "/api/inferences").body,
              ::testing::Not(HasSubstr("\"id\":" + std::to_string(job) + ",")));
  // Bob and the admin see them.
  EXPECT_EQ(As(bob, "GET", d).status, 200);
  EXPECT_EQ(As(bob, "GET", f).status, 200);
  EXPECT_EQ(As(admin, "GET", d).status, 200);
  EXPECT_EQ(As(admin, "GET", j).status, 200);
  EXPECT_THAT(As(admin, "GET", "/api/datasets").body, HasSubstr("bob's cells"));
  EXPECT_THAT(As(bob, "GET", "/api/datasets").body, HasSubstr("bob's cells"));
  EXPECT_EQ(As(bob, "DELETE", d).status, 200);
}

TEST_F(AuthTest, RepeatedFailuresAreThrottledWith429) {
  for (int i = 0; i < 5; ++i) Login("carol", "wrong-password", 401);
  HttpResponse r =
      Post("/api/auth/login", json{{"username", "carol"}, {"password", "wrong-password"}}.dump());
  ExpectError(r, 429, "too many failed logins");
  EXPECT_GE(std::stoi(r.headers["retry-after"]), 1);
}

TEST_F(AuthTest, ModelControlNeedsAnAdminAndInferenceStaysOpenByDefault) {
  const std::string admin = Login("admin", kAdminPassword)["access_token"];
  const std::string user = Login("bob", "bob-password")["access_token"];
  for (const char* action : {"load", "unload"}) {
    const std::string target = std::string("/v2/repository/models/tiny_cls/") + action;
    ExpectError(Post(target, ""), 401, "authentication required");
    ExpectError(As(user, "POST", target), 403, "admin");
  }
  HttpResponse loaded = As(admin, "POST", "/v2/repository/models/tiny_cls/load");
  EXPECT_NE(loaded.status, 401);
  EXPECT_NE(loaded.status, 403);
  // Without protect_inference the protocol endpoints need no token.
  EXPECT_EQ(Get("/v2/models/tiny_cls").status, 200);
  EXPECT_EQ(Get("/v1/models").status, 200);
}

// auth.protect_inference: the inference endpoints need a token or key; health, /v2
// and /metrics stay open.
class ProtectedInferenceTest : public ServerFixture {
 protected:
  static void SetUpTestSuite() {
    ::setenv("INFERA_ADMIN_PASSWORD", kAdminPassword, 1);
    StartSuiteServer({"tiny_cls"}, "auth: {enabled: true, protect_inference: true}\n");
    ::unsetenv("INFERA_ADMIN_PASSWORD");
  }
  static void TearDownTestSuite() { StopSuiteServer(); }
};

TEST_F(ProtectedInferenceTest, InferenceNeedsAKey) {
  const std::string png = ReadFile(TestModelsDir() / "images" / "disk.png");
  const std::string body = json{{"image", Base64Encode(png.data(), png.size())}}.dump();
  ExpectError(Post("/predict/tiny_cls", body), 401, "authentication required");
  ExpectError(Get("/v2/models/tiny_cls"), 401, "authentication required");
  ExpectError(Get("/v1/models"), 401, "authentication required");
  ExpectError(Post("/v2/models/tiny_cls/infer", "{}"), 401, "authentication required");
  EXPECT_EQ(Get("/v2/health/live").status, 200);
  EXPECT_EQ(Get("/v2/health/ready").status, 200);
  EXPECT_EQ(Get("/v2").status, 200);
  EXPECT_EQ(Get("/metrics").status, 200);
  EXPECT_EQ(Get("/health").status, 200);
  HttpResponse login =
      Post("/api/auth/login", json{{"username", "admin"}, {"password", kAdminPassword}}.dump());
  ASSERT_EQ(login.status, 200);
  const std::string token = json::parse(login.body)["access_token"];
  HttpResponse key = Send("POST", "/api/auth/keys", json{{"name", "client"}}.dump(),
                          {{"Authorization", "Bearer " + token}});
  ASSERT_EQ(key.status, 201);
  HttpResponse r =
      Send("POST", "/predict/tiny_cls", body,
           {{"Authorization", "Bearer " + json::parse(key.body)["key"].get<std::string>()},
            {"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(AuthTest, AdminsManageUsersOverHttp) {
  const std::string admin = Login("admin", kAdminPassword)["access_token"];
  HttpResponse created = As(admin, "POST", "/api/users",
                            json{{"username", "dora"}, {"password", "dora-password"}}.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const int64_t id = json::parse(created.body)["id"];
  EXPECT_EQ(json::parse(created.body)["role"], "user");
  ExpectError(As(admin, "POST", "/api/users",
                 json{{"username", "DORA"}, {"password", "other-password"}}.dump()),
              409, "taken");
  ExpectError(
      As(admin, "POST", "/api/users", json{{"username", "x"}, {"password", "short"}}.dump()), 400,
      "8");
  ExpectError(As(admin, "POST", "/api/users",
                 json{{"username", "y"}, {"password", "long-enough"}, {"role", "root"}}.dump()),
              400, "role");
  const std::string dora = Login("dora", "dora-password")["access_token"];
  EXPECT_EQ(As(dora, "GET", "/api/auth/me").status, 200);
  EXPECT_THAT(As(admin, "GET", "/api/users").body, HasSubstr("dora"));
  const std::string base = "/api/users/" + std::to_string(id);
  ASSERT_EQ(As(admin, "POST", base + "/disable").status, 200);
  ExpectError(As(dora, "GET", "/api/auth/me"), 401, "disabled");
  Login("dora", "dora-password", 401);
  ASSERT_EQ(As(admin, "POST", base + "/enable").status, 200);
  ASSERT_EQ(
      As(admin, "POST", base + "/password", json{{"password", "dora-new-pass"}}.dump()).status,
      200);
  Login("dora", "dora-new-pass");
  ExpectError(As(admin, "POST", "/api/users/424242/disable"), 404, "no user");
  const int64_t admin_id = json::parse(As(admin, "GET", "/api/auth/me").body)["id"];
  ExpectError(As(admin, "POST", "/api/users/" + std::to_string(admin_id) + "/disable"), 409,
              "themselves");
}

class AuthOffTest : public ServerFixture {
 protected:
  static void SetUpTestSuite() { StartSuiteServer({"tiny_cls"}); }
  static void TearDownTestSuite() { StopSuiteServer(); }
};

TEST_F(AuthOffTest, AuthRoutesSaySoAndApiIsOpen) {
  ExpectError(Post("/api/auth/login", json{{"username", "a"}, {"password", "b"}}.dump()), 409,
              "authentication is off");
  EXPECT_EQ(Get("/api/datasets").status, 200);
}

}  // namespace
}  // namespace infera::testing
