// The auth matrix: every route the server serves × every credential state, on a real
// server with auth on — once with inference open (the default) and once with
// auth.protect_inference. The route table below must name every route of the router
// (a route added without a row fails the test), so a new route cannot ship unguarded by
// accident.
//
// Credential states: 15 that must never pass (no header, wrong scheme, empty and
// malformed tokens, a tampered signature, another key, alg none, expired, not yet valid,
// a logged-out session, a token from before a password change, a disabled user's token,
// an unknown and a revoked API key, a refresh token shown as an access token) and 3 that
// pass (a user's token, a user's API key, an admin's token). Guarded routes answer the
// failing states 401 with `WWW-Authenticate: Bearer`; admin routes answer users 403;
// public routes answer the same whatever the credentials.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "auth/base64url.h"
#include "auth/jwt.h"
#include "auth/secret_file.h"
#include "server/server.h"
#include "support/server_fixture.h"

namespace infera::testing {
namespace {

using json = nlohmann::json;

constexpr const char* kAdminPassword = "matrix-admin-password";

// Who may call a route.
enum class Access {
  kPublic,     // anyone; credentials change nothing
  kUser,       // any signed-in user (the /api routes)
  kAdmin,      // admins only
  kInference,  // the protocol routes: public, or kUser with auth.protect_inference
};

struct RouteRow {
  const char* method;
  const char* pattern;
  Access access;
};

// Every route of the server. Keep in step with the route files (src/api/routes/*): the
// test fails on a route missing here or a row no route matches.
const RouteRow kRoutes[] = {
    // health and metrics: always open (probes and scrapers carry no token)
    {"GET", "/health", Access::kPublic},
    {"GET", "/v2", Access::kPublic},
    {"GET", "/v2/health/live", Access::kPublic},
    {"GET", "/v2/health/ready", Access::kPublic},
    {"GET", "/metrics", Access::kPublic},
    // the web page: "/" here, and each of its files (see IsWebPageFile)
    {"GET", "/", Access::kPublic},
    // the infera protocol and the Open Inference Protocol
    {"POST", "/predict/{model}", Access::kInference},
    {"POST", "/predict/{model}/versions/{version}", Access::kInference},
    {"GET", "/v1/models", Access::kInference},
    {"GET", "/v1/models/{model}", Access::kInference},
    {"GET", "/v2/models/stats", Access::kInference},
    {"GET", "/v2/models/{model}", Access::kInference},
    {"GET", "/v2/models/{model}/ready", Access::kInference},
    {"GET", "/v2/models/{model}/config", Access::kInference},
    {"GET", "/v2/models/{model}/stats", Access::kInference},
    {"GET", "/v2/models/{model}/versions/{version}", Access::kInference},
    {"GET", "/v2/models/{model}/versions/{version}/ready", Access::kInference},
    {"GET", "/v2/models/{model}/versions/{version}/config", Access::kInference},
    {"GET", "/v2/models/{model}/versions/{version}/stats", Access::kInference},
    {"POST", "/v2/models/{model}/infer", Access::kInference},
    {"POST", "/v2/models/{model}/versions/{version}/infer", Access::kInference},
    {"POST", "/v2/repository/index", Access::kInference},
    // CVAT's serverless functions (auto-annotation calls them like /predict)
    {"GET", "/cvat/functions", Access::kInference},
    {"GET", "/cvat/functions/{model}", Access::kInference},
    {"POST", "/cvat/functions/{model}", Access::kInference},
    // model control: an admin whenever auth is on
    {"POST", "/v2/repository/models/{model}/load", Access::kAdmin},
    {"POST", "/v2/repository/models/{model}/unload", Access::kAdmin},
    // sign-in
    {"POST", "/api/auth/login", Access::kPublic},
    {"POST", "/api/auth/refresh", Access::kPublic},
    {"POST", "/api/auth/logout", Access::kUser},
    {"GET", "/api/auth/me", Access::kUser},
    {"POST", "/api/auth/keys", Access::kUser},
    {"GET", "/api/auth/keys", Access::kUser},
    {"DELETE", "/api/auth/keys/{id}", Access::kUser},
    // users
    {"GET", "/api/users", Access::kAdmin},
    {"POST", "/api/users", Access::kAdmin},
    {"POST", "/api/users/{id}/disable", Access::kAdmin},
    {"POST", "/api/users/{id}/enable", Access::kAdmin},
    {"POST", "/api/users/{id}/password", Access::kAdmin},
    // datasets and files
    {"POST", "/api/datasets", Access::kUser},
    {"GET", "/api/datasets", Access::kUser},
    {"GET", "/api/datasets/{id}", Access::kUser},
    {"DELETE", "/api/datasets/{id}", Access::kUser},
    {"POST", "/api/datasets/{id}/files", Access::kUser},
    {"POST", "/api/datasets/{id}/archive", Access::kUser},
    {"GET", "/api/datasets/{id}/series", Access::kUser},
    {"GET", "/api/files/{id}", Access::kUser},
    {"GET", "/api/files/{id}/meta", Access::kUser},
    {"GET", "/api/files/{id}/thumbnail", Access::kUser},
    {"GET", "/api/files/{id}/overlay", Access::kUser},
    // models
    {"GET", "/api/models", Access::kUser},
    {"POST", "/api/models/upload", Access::kAdmin},
    {"GET", "/api/models/{id}", Access::kUser},
    {"POST", "/api/models/{id}/versions/{version}/activate", Access::kAdmin},
    // jobs
    {"POST", "/api/inferences/start", Access::kUser},
    {"GET", "/api/inferences", Access::kUser},
    {"GET", "/api/inferences/{id}", Access::kUser},
    {"POST", "/api/inferences/{id}/cancel", Access::kUser},
    {"POST", "/api/inferences/{id}/retry", Access::kUser},
    {"GET", "/api/inferences/{id}/download", Access::kUser},
    {"GET", "/api/inferences/{id}/export", Access::kUser},
    {"POST", "/api/inferences/{id}/annotations", Access::kUser},
    // annotations
    {"POST", "/api/datasets/{id}/annotations", Access::kUser},
    // active learning
    {"POST", "/api/datasets/{id}/rank", Access::kUser},
    {"GET", "/api/datasets/{id}/annotations", Access::kUser},
    {"GET", "/api/annotations/{set}", Access::kUser},
    {"DELETE", "/api/annotations/{set}", Access::kUser},
    {"GET", "/api/annotations/{set}/images/{file}/mask", Access::kUser},
    {"PUT", "/api/annotations/{set}/images/{file}/mask", Access::kUser},
    {"GET", "/api/annotations/{set}/images/{file}/revisions", Access::kUser},
    {"POST", "/api/annotations/{set}/import", Access::kUser},
    {"GET", "/api/annotations/{set}/export", Access::kUser},
    {"POST", "/api/annotations/{set}/images/{file}/assist", Access::kUser},
    // retraining
    {"POST", "/api/retraining/start", Access::kUser},
    {"GET", "/api/retraining", Access::kUser},
    {"GET", "/api/retraining/params_schema", Access::kUser},
    {"GET", "/api/retraining/{id}", Access::kUser},
    {"POST", "/api/retraining/{id}/cancel", Access::kUser},
    // DICOM modality values for the web page's viewer
    {"GET", "/api/files/{id}/values", Access::kUser},
    // image labels (annotation sets of kind image_labels)
    {"GET", "/api/annotations/{set}/images/{file}/label", Access::kUser},
    {"PUT", "/api/annotations/{set}/images/{file}/label", Access::kUser},
    // DICOMweb (issue 21)
    {"POST", "/api/datasets/{id}/import/dicomweb", Access::kUser},
    {"GET", "/api/dicomweb/imports", Access::kUser},
    {"GET", "/api/dicomweb/imports/{id}", Access::kUser},
    {"POST", "/api/dicomweb/imports/{id}/cancel", Access::kUser},
    {"POST", "/api/inferences/{id}/export/dicomweb", Access::kUser},
};

// A concrete target for a pattern: ids no record has, a model no repository holds (so
// that admins' calls change nothing: load and unload answer 404).
std::string TargetOf(const std::string& pattern) {
  static const std::map<std::string, std::string> kValues = {{"{id}", "987654"},
                                                             {"{set}", "987654"},
                                                             {"{file}", "987654"},
                                                             {"{model}", "no_such_model"},
                                                             {"{version}", "1"}};
  std::string target = pattern;
  for (const auto& [param, value] : kValues) {
    for (size_t at = target.find(param); at != std::string::npos; at = target.find(param)) {
      target.replace(at, param.size(), value);
    }
  }
  return target;
}

// A file of the embedded web page (web/: index.html, css/, js/): public, one route each.
bool IsWebPageFile(const std::pair<std::string, std::string>& route) {
  const std::string& p = route.second;
  return route.first == "GET" && p.find('{') == std::string::npos &&
         (p.ends_with(".html") || p.ends_with(".css") || p.ends_with(".js") ||
          p.ends_with(".svg") || p.ends_with(".png") || p.ends_with(".ico"));
}

// One credential state: the Authorization header sent (absent when empty) and whether
// it must be refused, or which role it signs in as.
struct Credential {
  std::string name;
  std::string authorization;
  enum Kind { kRefused, kUser, kAdmin } kind;
  std::string refusal;  // part of the 401's error text, for the refused ones
};

class AuthMatrix : public ServerFixture {
 protected:
  static void Start(bool protect_inference) {
    ::setenv("INFERA_ADMIN_PASSWORD", kAdminPassword, 1);
    StartSuiteServer({"tiny_cls"}, std::string("auth: {enabled: true, access_ttl_s: 600") +
                                       (protect_inference ? ", protect_inference: true" : "") +
                                       "}\n");
    ::unsetenv("INFERA_ADMIN_PASSWORD");
  }

  json Call(const std::string& method, const std::string& target, const std::string& token,
            const json& body, int want) {
    HttpHeaders headers;
    if (!token.empty()) headers["Authorization"] = "Bearer " + token;
    HttpResponse r = Send(method, target, body.dump(), headers);
    EXPECT_EQ(r.status, want) << method << " " << target << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }
  json Login(const std::string& user, const std::string& password) {
    return Call("POST", "/api/auth/login", "", json{{"username", user}, {"password", password}},
                200);
  }
  // A user made through the admin API; its id.
  int64_t AddUser(const std::string& admin, const std::string& name) {
    json made =
        Call("POST", "/api/users", admin,
             json{{"username", name}, {"password", name + "-password"}, {"role", "user"}}, 201);
    return made.value("id", int64_t{0});
  }

  // The 17 credential states, made on the suite's server.
  std::vector<Credential> Credentials() {
    std::vector<Credential> out;
    const std::string admin = Login("admin", kAdminPassword)["access_token"];
    AddUser(admin, "bob");
    const json bob = Login("bob", "bob-password");
    const std::string bob_access = bob["access_token"];

    // Ended sessions and accounts.
    const json ended = Login("bob", "bob-password");
    Call("POST", "/api/auth/logout", ended["access_token"], json::object(), 200);
    const int64_t carl = AddUser(admin, "carl");
    const std::string carl_token = Login("carl", "carl-password")["access_token"];
    Call("POST", "/api/users/" + std::to_string(carl) + "/disable", admin, json::object(), 200);
    const int64_t dave = AddUser(admin, "dave");
    const std::string dave_token = Login("dave", "dave-password")["access_token"];
    Call("POST", "/api/users/" + std::to_string(dave) + "/password", admin,
         json{{"password", "dave-new-password"}}, 200);
    // API keys: one live, one revoked.
    const std::string key =
        Call("POST", "/api/auth/keys", bob_access, json{{"name", "live"}}, 201)["key"];
    const json revoked = Call("POST", "/api/auth/keys", bob_access, json{{"name", "old"}}, 201);
    Call("DELETE", "/api/auth/keys/" + std::to_string(revoked["id"].get<int64_t>()), bob_access,
         json::object(), 200);

    // Forged tokens, signed here.
    StatusOr<std::string> secret = LoadSecret(server_dir() / "data" / "auth_secret");
    EXPECT_TRUE(secret.ok()) << secret.status();
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    auto sign = [&](JwtClaims claims, const std::string& with) { return *SignJwt(claims, with); };
    std::string tampered = bob_access;
    tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
    const std::string alg_none = Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." +
                                 Base64UrlEncode(R"({"sub":"1","role":"admin","iat":1,"exp":)" +
                                                 std::to_string(now + 600) + R"(,"jti":"x"})") +
                                 ".";

    out.push_back({"no header", "", Credential::kRefused, "authentication required"});
    out.push_back({"basic scheme", "Basic Ym9iOng=", Credential::kRefused, "Bearer"});
    out.push_back({"empty bearer", "Bearer ", Credential::kRefused, "Bearer"});
    out.push_back({"malformed", "Bearer not.a.jwt", Credential::kRefused, "malformed"});
    out.push_back({"tampered", "Bearer " + tampered, Credential::kRefused, "invalid signature"});
    out.push_back({"another key",
                   "Bearer " + sign({"1", "admin", now, now + 600, std::nullopt, "k", "", {}},
                                    std::string(64, 'w')),
                   Credential::kRefused, "invalid signature"});
    out.push_back({"alg none", "Bearer " + alg_none, Credential::kRefused, "algorithm"});
    out.push_back(
        {"expired",
         "Bearer " +
             sign({"2", "user", now - 7200, now - 3600, std::nullopt, "e", "", {}}, *secret),
         Credential::kRefused, "token expired"});
    out.push_back(
        {"not yet valid",
         "Bearer " + sign({"2", "user", now, now + 600, now + 3600, "f", "", {}}, *secret),
         Credential::kRefused, "not yet valid"});
    out.push_back({"logged out", "Bearer " + ended["access_token"].get<std::string>(),
                   Credential::kRefused, "revoked"});
    out.push_back(
        {"before a password change", "Bearer " + dave_token, Credential::kRefused, "revoked"});
    out.push_back({"disabled user", "Bearer " + carl_token, Credential::kRefused, "disabled"});
    out.push_back({"unknown API key", "Bearer infera_key_0123456789abcdef0123456789abcdef",
                   Credential::kRefused, ""});
    out.push_back({"revoked API key", "Bearer " + revoked["key"].get<std::string>(),
                   Credential::kRefused, "API key revoked"});
    out.push_back({"refresh token", "Bearer " + bob["refresh_token"].get<std::string>(),
                   Credential::kRefused, ""});
    out.push_back({"user token", "Bearer " + bob_access, Credential::kUser, ""});
    out.push_back({"user API key", "Bearer " + key, Credential::kUser, ""});
    out.push_back({"admin token", "Bearer " + admin, Credential::kAdmin, ""});
    return out;
  }

  void RunMatrix(bool protect_inference) {
    // The table names every route and no other.
    std::set<std::pair<std::string, std::string>> table;
    for (const RouteRow& row : kRoutes) table.emplace(row.method, row.pattern);
    std::set<std::pair<std::string, std::string>> served;
    for (const auto& route : server()->router().Routes()) served.insert(route);
    std::vector<RouteRow> rows(std::begin(kRoutes), std::end(kRoutes));
    for (const auto& route : served) {
      if (IsWebPageFile(route) && !table.contains(route)) {
        rows.push_back({route.first.c_str(), route.second.c_str(), Access::kPublic});
        continue;
      }
      EXPECT_TRUE(table.contains(route))
          << route.first << " " << route.second << " is served but has no row in kRoutes";
    }
    for (const auto& row : table) {
      EXPECT_TRUE(served.contains(row)) << row.first << " " << row.second << " is not served";
    }

    const std::vector<Credential> credentials = Credentials();
    ASSERT_EQ(credentials.size(), 18u);
    int checked = 0;
    for (const RouteRow& row : rows) {
      const std::string target = TargetOf(row.pattern);
      Access access = row.access;
      if (access == Access::kInference) {
        access = protect_inference ? Access::kUser : Access::kPublic;
      }
      int public_status = -1;
      for (const Credential& credential : credentials) {
        SCOPED_TRACE(std::string(row.method) + " " + target + " with " + credential.name);
        // Logout with a passing credential would end the session the other rows use.
        if (std::string(row.pattern) == "/api/auth/logout" &&
            credential.kind != Credential::kRefused) {
          continue;
        }
        HttpHeaders headers;
        if (!credential.authorization.empty()) headers["Authorization"] = credential.authorization;
        const HttpResponse r = Send(row.method, target, "", headers);
        ++checked;
        ASSERT_GT(r.status, 0);
        EXPECT_LT(r.status, 500) << r.body;
        const json body = json::parse(r.body, nullptr, false);
        if (access == Access::kPublic) {
          // The same answer whatever the credentials.
          if (public_status < 0) public_status = r.status;
          EXPECT_EQ(r.status, public_status) << r.body;
          EXPECT_NE(r.status, 401) << r.body;
          EXPECT_NE(r.status, 403) << r.body;
          continue;
        }
        if (credential.kind == Credential::kRefused) {
          EXPECT_EQ(r.status, 401) << r.body;
          EXPECT_EQ(r.headers.count("www-authenticate") ? r.headers.at("www-authenticate") : "",
                    "Bearer");
          ASSERT_TRUE(body.is_object() && body.contains("error")) << r.body;
          EXPECT_THAT(body["error"].get<std::string>(), ::testing::HasSubstr(credential.refusal));
        } else if (access == Access::kAdmin && credential.kind == Credential::kUser) {
          EXPECT_EQ(r.status, 403) << r.body;
          ASSERT_TRUE(body.is_object() && body.contains("error")) << r.body;
          EXPECT_THAT(body["error"].get<std::string>(), ::testing::HasSubstr("admin"));
        } else {
          EXPECT_NE(r.status, 401) << r.body;
          EXPECT_NE(r.status, 403) << r.body;
        }
      }
    }
    // Every route × every state, less the passing states of logout.
    EXPECT_EQ(checked, static_cast<int>(rows.size() * credentials.size() - 3));
    // The server is still whole.
    EXPECT_EQ(Get("/health").status, 200);
  }
};

class AuthMatrixTest : public AuthMatrix {
 protected:
  static void SetUpTestSuite() { Start(/*protect_inference=*/false); }
  static void TearDownTestSuite() { StopSuiteServer(); }
};

class ProtectedAuthMatrixTest : public AuthMatrix {
 protected:
  static void SetUpTestSuite() { Start(/*protect_inference=*/true); }
  static void TearDownTestSuite() { StopSuiteServer(); }
};

TEST_F(AuthMatrixTest, EveryRouteTimesEveryCredentialState) { RunMatrix(false); }

TEST_F(ProtectedAuthMatrixTest, EveryRouteTimesEveryCredentialStateWithInferenceProtected) {
  RunMatrix(true);
}

}  // namespace
}  // namespace infera::testing
