// GET /v1/models and /v1/models/{model}: what is loaded, how it is configured, how it
// is doing.
#include <nlohmann/json.hpp>

#include "api/http_status.h"
#include "api/routes/model_lookup.h"
#include "api/routes/routes.h"
#include "common/strings.h"
#include "serving/model_json.h"

namespace infera {

void AddModelRoutes(Router& router, const ApiContext& ctx) {
  router.Add("GET", "/v1/models", [ctx](HttpRequest&&, const Responder& respond) {
    nlohmann::json models = nlohmann::json::array();
    for (const auto& model : ctx.models->List()) models.push_back(DescribeModel(*model));
    respond(JsonResponse(200, nlohmann::json{{"models", std::move(models)}}.dump()));
  });
  router.Add("GET", "/v1/models/{model}", [ctx](HttpRequest&& req, const Responder& respond) {
    const std::string& name = req.params["model"];
    auto model = ctx.models->Get(name);
    if (!model) {
      respond(StatusResponse(absl::NotFoundError(StrCat(
          "unknown model '", name, "' (available: ", StrJoin(ctx.models->Names(), ", "), ")"))));
      return;
    }
    respond(JsonResponse(200, DescribeModel(*model).dump()));
  });
}

}  // namespace infera
