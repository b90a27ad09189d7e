// Open Inference Protocol: server metadata and health (b.1, b.2 of the reference).
// Health answers by status code as Triton does (200 true, 400 false) with a small JSON
// body for humans; this server is ready once start-up has loaded every model.
#include <nlohmann/json.hpp>

#include "api/routes/routes.h"
#include "serving/oip_metadata.h"

namespace infera {

void AddV2HealthRoutes(Router& router, const ApiContext& ctx) {
  router.Add("GET", "/v2", [](HttpRequest&&, const Responder& respond) {
    respond(JsonResponse(200, nlohmann::json{{"name", kOipServerName},
                                             {"version", INFERA_VERSION},
                                             {"extensions", OipExtensions()}}
                                  .dump()));
  });
  router.Add("GET", "/v2/health/live", [](HttpRequest&&, const Responder& respond) {
    respond(JsonResponse(200, R"({"live":true})"));
  });
  // Ready (200) when every model asked for serves (ModelManager::Ready); else 400 with
  // the reason, as Triton answers.
  router.Add("GET", "/v2/health/ready", [ctx](HttpRequest&&, const Responder& respond) {
    std::string why;
    if (ctx.manager == nullptr || ctx.manager->Ready(&why)) {
      return respond(JsonResponse(200, R"({"ready":true})"));
    }
    respond(JsonResponse(400, nlohmann::json{{"ready", false}, {"reason", why}}.dump()));
  });
}

}  // namespace infera
