// Authentication (auth/auth_service.h does the work):
//   POST   /api/auth/login     {username, password} -> {access_token, refresh_token,
//                              token_type: "Bearer", expires_in}; 401 for bad credentials
//                              (one message for every cause), 429 + Retry-After when
//                              throttled
//   POST   /api/auth/refresh   {refresh_token} -> a new pair (the old refresh token is
//                              used up; replaying it ends the session)
//   POST   /api/auth/logout    {refresh_token?} (signed in) -> the access token and the
//                              session are revoked
//   GET    /api/auth/me        (signed in) -> {id, username, role, created_at}
//   POST   /api/auth/keys      {name} (signed in) -> 201 {id, name, prefix, key, ...}; the
//                              key is shown this once
//   GET    /api/auth/keys      (signed in) -> {keys: [...]} without the keys themselves
//   DELETE /api/auth/keys/{id} (signed in) -> revoked; another user's key is 404 (an
//                              admin may revoke any)
// With auth off (ctx.auth null) every route answers 409 saying so.
#include "api/client_address.h"
#include "api/http_status.h"
#include "api/routes/api_common.h"
#include "api/routes/routes.h"
#include "auth/auth_service.h"
#include "common/json_text.h"
#include "common/strings.h"

namespace infera {

namespace {

Status AuthOff() {
  return absl::FailedPreconditionError(
      "authentication is off on this server (set auth: {enabled: true} in the config)");
}

StatusOr<std::string> RequiredString(const nlohmann::json& body, const char* key) {
  if (!body.contains(key) || !body[key].is_string() || body[key].get<std::string>().empty()) {
    return absl::InvalidArgumentError(StrCat("'", key, "' is required (a string)"));
  }
  return body[key].get<std::string>();
}

HttpResponse TokenResponse(const TokenPair& pair) {
  return JsonResponse(200, JsonText(nlohmann::json{{"access_token", pair.access_token},
                                                   {"refresh_token", pair.refresh_token},
                                                   {"token_type", "Bearer"},
                                                   {"expires_in", pair.expires_in}}));
}

nlohmann::json KeyJson(const ApiKeyRecord& k) {
  return {{"id", k.id},
          {"name", k.name},
          {"prefix", k.prefix},
          {"created_at", k.created_at},
          {"last_used_at", k.last_used_at},
          {"revoked", k.revoked_at != 0}};
}

StatusOr<HttpResponse> Login(const ApiContext& ctx, const HttpRequest& req) {
  if (ctx.auth == nullptr) return AuthOff();
  ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(req));
  ASSIGN_OR_RETURN(std::string username, RequiredString(body, "username"));
  ASSIGN_OR_RETURN(std::string password, RequiredString(body, "password"));
  int64_t retry_after = 0;
  const std::string client =
      ClientAddress(req.remote_address, req.header("x-forwarded-for"), ctx.trusted_proxies);
  StatusOr<TokenPair> pair = ctx.auth->Login(username, password, client, &retry_after);
  if (absl::IsResourceExhausted(pair.status())) {
    HttpResponse r = ErrorResponse(429, ToStd(pair.status().message()));
    r.headers["retry-after"] = std::to_string(std::max<int64_t>(1, retry_after));
    return r;
  }
  if (!pair.ok()) return pair.status();
  return TokenResponse(*pair);
}

StatusOr<HttpResponse> Refresh(const ApiContext& ctx, const HttpRequest& req) {
  if (ctx.auth == nullptr) return AuthOff();
  ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(req));
  ASSIGN_OR_RETURN(std::string token, RequiredString(body, "refresh_token"));
  ASSIGN_OR_RETURN(TokenPair pair, ctx.auth->Refresh(token));
  return TokenResponse(pair);
}

StatusOr<HttpResponse> Logout(const ApiContext& ctx, const HttpRequest& req) {
  if (ctx.auth == nullptr || !req.principal) return AuthOff();
  ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(req));
  std::optional<std::string> refresh;
  if (body.contains("refresh_token")) {
    ASSIGN_OR_RETURN(refresh, RequiredString(body, "refresh_token"));
  }
  RETURN_IF_ERROR(ctx.auth->Logout(*req.principal, refresh));
  return JsonResponse(200, R"({"logged_out": true})");
}

StatusOr<HttpResponse> Me(const ApiContext& ctx, const HttpRequest& req) {
  if (ctx.auth == nullptr || !req.principal) return AuthOff();
  ASSIGN_OR_RETURN(UserRecord user, ctx.auth->users().GetUser(req.principal->user_id));
  return JsonResponse(200, JsonText(nlohmann::json{{"id", user.id},
                                                   {"username", user.username},
                                                   {"role", user.role},
                                                   {"created_at", user.created_at}}));
}

StatusOr<HttpResponse> CreateKey(const ApiContext& ctx, const HttpRequest& req) {
  if (ctx.auth == nullptr || !req.principal) return AuthOff();
  ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(req));
  std::string name;
  if (body.contains("name")) {
    if (!body["name"].is_string()) return absl::InvalidArgumentError("'name' must be a string");
    name = body["name"].get<std::string>();
  }
  ASSIGN_OR_RETURN(auto created, ctx.auth->CreateApiKey(req.principal->user_id, name));
  nlohmann::json j = KeyJson(created.first);
  j["key"] = created.second;
  return JsonResponse(201, JsonText(j));
}

StatusOr<HttpResponse> ListKeys(const ApiContext& ctx, const HttpRequest& req) {
  if (ctx.auth == nullptr || !req.principal) return AuthOff();
  ASSIGN_OR_RETURN(std::vector<ApiKeyRecord> keys,
                   ctx.auth->users().ListApiKeys(req.principal->user_id));
  nlohmann::json list = nlohmann::json::array();
  for (const ApiKeyRecord& k : keys) list.push_back(KeyJson(k));
  return JsonResponse(200, JsonText(nlohmann::json{{"keys", std::move(list)}}));
}

StatusOr<HttpResponse> RevokeKey(const ApiContext& ctx, const HttpRequest& req) {
  if (ctx.auth == nullptr || !req.principal) return AuthOff();
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("id"), "API key"));
  RETURN_IF_ERROR(
      ctx.auth->users().RevokeApiKey(id, req.principal->admin() ? 0 : req.principal->user_id));
  return JsonResponse(200, JsonText(nlohmann::json{{"id", id}, {"revoked", true}}));
}

}  // namespace

void AddApiAuthRoutes(Router& router, const ApiContext& ctx) {
  router.Add("POST", "/api/auth/login", Blocking(ctx, Login));
  router.Add("POST", "/api/auth/refresh", Blocking(ctx, Refresh));
  router.Add("POST", "/api/auth/logout", Guarded(ctx, Access::kUser, Blocking(ctx, Logout)));
  router.Add("GET", "/api/auth/me", Guarded(ctx, Access::kUser, Blocking(ctx, Me)));
  router.Add("POST", "/api/auth/keys", Guarded(ctx, Access::kUser, Blocking(ctx, CreateKey)));
  router.Add("GET", "/api/auth/keys", Guarded(ctx, Access::kUser, Blocking(ctx, ListKeys)));
  router.Add("DELETE", "/api/auth/keys/{id}",
             Guarded(ctx, Access::kUser, Blocking(ctx, RevokeKey)));
}

}  // namespace infera
