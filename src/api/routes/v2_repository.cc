// Model control over HTTP (Triton's model_repository extension):
//   POST /v2/repository/index   body {"ready": bool} optional
//        -> [{"name", "version"?, "state", "reason"}]
//   POST /v2/repository/models/{m}/load     (re)load from the repository -> 200 {}
//   POST /v2/repository/models/{m}/unload   -> 200 {}
// Errors as everywhere: 404 unknown / not loaded, 409 in model control modes none and
// poll (the repository is rescanned: change its files),
// 400 for a bad name or body, the loader's error for a broken model.
#include <nlohmann/json.hpp>

#include "api/http_status.h"
#include "api/routes/api_common.h"
#include "api/routes/routes.h"

namespace infera {

namespace {

// An optional JSON object body; InvalidArgument otherwise.
StatusOr<nlohmann::json> OptionalObject(const std::string& body) {
  if (body.empty()) return nlohmann::json::object();
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
  if (!parsed.is_object()) return absl::InvalidArgumentError("body must be a JSON object");
  return parsed;
}

}  // namespace

void AddV2RepositoryRoutes(Router& router, const ApiContext& ctx) {
  router.Add("POST", "/v2/repository/index", [ctx](HttpRequest&& req, const Responder& respond) {
    StatusOr<nlohmann::json> body = OptionalObject(req.body);
    if (!body.ok()) return respond(StatusResponse(body.status()));
    bool ready_only = false;
    if (body->contains("ready")) {
      if (!(*body)["ready"].is_boolean()) {
        return respond(StatusResponse(absl::InvalidArgumentError("'ready' must be a boolean")));
      }
      ready_only = (*body)["ready"].get<bool>();
    }
    nlohmann::json rows = nlohmann::json::array();
    for (const ModelState& s : ctx.manager->Index(ready_only)) {
      nlohmann::json row = {{"name", s.name}, {"state", s.state}, {"reason", s.reason}};
      if (s.version) row["version"] = std::to_string(*s.version);
      rows.push_back(std::move(row));
    }
    respond(JsonResponse(200, rows.dump()));
  });
  // Loading takes as long as the model takes to load and warm up (seconds for a large
  // model), and an unload waits for requests in flight: both run on the blocking pool,
  // never on the I/O thread that received them.
  auto control = [ctx](bool load) {
    return Blocking(ctx,
                    [load](const ApiContext& c, const HttpRequest& req) -> StatusOr<HttpResponse> {
                      RETURN_IF_ERROR(OptionalObject(req.body).status());
                      const std::string& name = req.params.at("model");
                      RETURN_IF_ERROR(load ? c.manager->Load(name) : c.manager->Unload(name));
                      return JsonResponse(200, "{}");
                    });
  };
  router.Add("POST", "/v2/repository/models/{model}/load", control(true));
  router.Add("POST", "/v2/repository/models/{model}/unload", control(false));
}

}  // namespace infera
