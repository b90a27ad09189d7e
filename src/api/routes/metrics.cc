// GET /metrics: the Prometheus text exposition of every series (metrics/metrics.h).
#include "api/routes/routes.h"

namespace infera {

void AddMetricsRoutes(Router& router, const ApiContext& ctx) {
  router.Add("GET", "/metrics", [ctx](HttpRequest&&, const Responder& respond) {
    HttpResponse response;
    response.status = 200;
    response.content_type = MetricsRegistry::kContentType;
    response.body = ctx.metrics->Expose();
    respond(std::move(response));
  });
}

}  // namespace infera
