// GET /v1/models and /v1/models/{model}: what is loaded, how it is configured, how it
// is doing.
#include <nlohmann/json.hpp>

#include "api/http_status.h"
#include "api/routes/routes.h"
#include "common/strings.h"

namespace infera {

namespace {

std::string_view ColorName(ColorMode c) {
  switch (c) {
    case ColorMode::kGray:
      return "gray";
    case ColorMode::kRgb:
      return "rgb";
    case ColorMode::kBgr:
      return "bgr";
  }
  return "rgb";
}

nlohmann::json Describe(const Model& model) {
  const ModelConfig& c = model.config();
  const BatcherStats stats = model.batcher().stats();
  nlohmann::json input = {
      {"name", c.input_name},
      {"color", ColorName(c.input.color)},
      {"size", c.input.size ? nlohmann::json{c.input.size->first, c.input.size->second}
                            : nlohmann::json("keep")},
      {"interpolation", c.input.interpolation == Interpolation::kBilinear ? "bilinear" : "nearest"},
      {"scale", c.input.scale ? nlohmann::json(*c.input.scale) : nlohmann::json("auto")},
      {"mean", c.input.mean},
      {"std", c.input.std},
      {"layout", c.input.layout == Layout::kNCHW ? "NCHW" : "NHWC"},
      {"dtype", DTypeName(c.input.dtype)},
  };
  return {
      {"name", c.name},
      {"version", c.version},
      {"state", "READY"},
      {"backend", c.backend},
      {"runner", c.runner},
      {"description", c.description},
      {"input", std::move(input)},
      {"outputs", c.outputs},
      {"num_labels", c.labels.size()},
      {"batching",
       {{"max_batch_size", c.batching.max_batch_size},
        {"max_queue_delay_ms", c.batching.max_queue_delay_ms},
        {"max_queue_size", c.batching.max_queue_size},
        {"default_timeout_ms", c.batching.default_timeout_ms}}},
      {"instances",
       {{"count", c.instances.count},
        {"device", c.instances.device},
        {"threads", c.instances.threads}}},
      {"load_time_ms", model.load_time().count()},
      {"queue_size", model.batcher().queue_size()},
      {"stats",
       {{"success", stats.success},
        {"failed", stats.failed},
        {"timed_out", stats.timed_out},
        {"rejected", stats.rejected},
        {"executions", stats.executions},
        {"inferences", stats.inferences}}},
  };
}

}  // namespace

void AddModelRoutes(Router& router, const ApiContext& ctx) {
  router.Add("GET", "/v1/models", [ctx](HttpRequest&&, Responder respond) {
    nlohmann::json models = nlohmann::json::array();
    for (const auto& model : ctx.models->List()) models.push_back(Describe(*model));
    respond(JsonResponse(200, nlohmann::json{{"models", std::move(models)}}.dump()));
  });
  router.Add("GET", "/v1/models/{model}", [ctx](HttpRequest&& req, Responder respond) {
    const std::string& name = req.params["model"];
    auto model = ctx.models->Get(name);
    if (!model) {
      respond(StatusResponse(absl::NotFoundError(StrCat(
          "unknown model '", name, "' (available: ", StrJoin(ctx.models->Names(), ", "), ")"))));
      return;
    }
    respond(JsonResponse(200, Describe(*model).dump()));
  });
}

}  // namespace infera
