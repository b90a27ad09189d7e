#include "api/routes/routes.h"

namespace infera {

void AddHealthRoutes(Router& router, const ApiContext& /*ctx*/) {
  router.Add("GET", "/health", [](HttpRequest&&, const Responder& respond) {
    respond(JsonResponse(200, R"({"status":"ok"})"));
  });
}

}  // namespace infera
