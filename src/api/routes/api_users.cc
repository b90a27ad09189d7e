// User management for admins (the CLI `infera users` does the same offline):
//   GET  /api/users                 -> {users: [{id, username, role, created_at, disabled}]}
//   POST /api/users                 {username, password, role?} -> 201 the user
//   POST /api/users/{id}/disable    -> the user (its sessions end)
//   POST /api/users/{id}/enable     -> the user
//   POST /api/users/{id}/password   {password} -> the user (its sessions end)
// Non-admins get 403 (the Guarded wrapper); unknown ids 404; a taken username 409; a
// password under the policy 400. With auth off every route answers 409.
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

nlohmann::json UserJson(const UserRecord& u) {
  return {{"id", u.id},
          {"username", u.username},
          {"role", u.role},
          {"created_at", u.created_at},
          {"disabled", u.disabled_at != 0}};
}

StatusOr<std::string> StringField(const nlohmann::json& body, const char* key) {
  if (!body.contains(key) || !body[key].is_string()) {
    return absl::InvalidArgumentError(StrCat("'", key, "' is required (a string)"));
  }
  return body[key].get<std::string>();
}

StatusOr<HttpResponse> ListUsers(const ApiContext& ctx, const HttpRequest&) {
  if (ctx.auth == nullptr) return AuthOff();
  ASSIGN_OR_RETURN(std::vector<UserRecord> users, ctx.auth->users().ListUsers());
  nlohmann::json list = nlohmann::json::array();
  for (const UserRecord& u : users) list.push_back(UserJson(u));
  return JsonResponse(200, JsonText(nlohmann::json{{"users", std::move(list)}}));
}

StatusOr<HttpResponse> CreateUser(const ApiContext& ctx, const HttpRequest& req) {
  if (ctx.auth == nullptr) return AuthOff();
  ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(req));
  ASSIGN_OR_RETURN(std::string username, StringField(body, "username"));
  ASSIGN_OR_RETURN(std::string password, StringField(body, "password"));
  std::string role_name = "user";
  if (body.contains("role")) {
    ASSIGN_OR_RETURN(role_name, StringField(body, "role"));
  }
  StatusOr<Role> role = ParseRole(role_name);
  if (!role.ok()) return absl::InvalidArgumentError("'role' must be \"admin\" or \"user\"");
  ASSIGN_OR_RETURN(UserRecord user, ctx.auth->CreateUser(username, password, *role));
  return JsonResponse(201, JsonText(UserJson(user)));
}

StatusOr<HttpResponse> ChangeUser(const ApiContext& ctx, const HttpRequest& req,
                                  std::string_view action) {
  if (ctx.auth == nullptr) return AuthOff();
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("id"), "user"));
  ASSIGN_OR_RETURN(UserRecord user, ctx.auth->users().GetUser(id));
  if (action == "password") {
    ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(req));
    ASSIGN_OR_RETURN(std::string password, StringField(body, "password"));
    RETURN_IF_ERROR(ctx.auth->SetPassword(user.id, password));
  } else {
    if (action == "disable" && req.principal && req.principal->user_id == user.id) {
      return absl::FailedPreconditionError("an admin cannot disable themselves");
    }
    RETURN_IF_ERROR(ctx.auth->users().SetDisabled(user.id, action == "disable"));
  }
  ASSIGN_OR_RETURN(user, ctx.auth->users().GetUser(id));
  return JsonResponse(200, JsonText(UserJson(user)));
}

}  // namespace

void AddApiUserRoutes(Router& router, const ApiContext& ctx) {
  router.Add("GET", "/api/users", Guarded(ctx, Access::kAdmin, Blocking(ctx, ListUsers)));
  router.Add("POST", "/api/users", Guarded(ctx, Access::kAdmin, Blocking(ctx, CreateUser)));
  for (const char* action : {"disable", "enable", "password"}) {
    router.Add("POST", StrCat("/api/users/{id}/", action),
               Guarded(ctx, Access::kAdmin,
                       Blocking(ctx, [action](const ApiContext& c, const HttpRequest& r) {
                         return ChangeUser(c, r, action);
                       })));
  }
}

}  // namespace infera
