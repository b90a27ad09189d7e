// Open Inference Protocol: model metadata, readiness, configuration and statistics,
// with and without /versions/{v} (b.1, b.9 and §1.4 of the reference).
#include <nlohmann/json.hpp>

#include "api/http_status.h"
#include "api/routes/model_lookup.h"
#include "api/routes/routes.h"
#include "serving/model_json.h"
#include "serving/oip_metadata.h"

namespace infera {

namespace {

nlohmann::json TensorJson(const TensorInfo& t) {
  return {{"name", t.name}, {"datatype", DTypeName(t.dtype)}, {"shape", t.shape}};
}

nlohmann::json Metadata(const ApiContext& ctx, const Model& model) {
  const OipModelMetadata m = DescribeOipModel(*ctx.models, model);
  nlohmann::json inputs = nlohmann::json::array();
  for (const TensorInfo& t : m.inputs) inputs.push_back(TensorJson(t));
  nlohmann::json outputs = nlohmann::json::array();
  for (const TensorInfo& t : m.outputs) outputs.push_back(TensorJson(t));
  return {{"name", m.name},
          {"versions", m.versions},
          {"platform", m.platform},
          {"inputs", std::move(inputs)},
          {"outputs", std::move(outputs)}};
}

// Adds `handler` for the path with and without /versions/{version}.
void AddVersioned(Router& router, const std::string& suffix,
                  const std::function<HttpResponse(const Model&)>& handler, const ApiContext& ctx) {
  Handler h = [ctx, handler](HttpRequest&& req, const Responder& respond) {
    StatusOr<std::shared_ptr<Model>> model = ResolveModel(ctx, req.params);
    if (!model.ok()) return respond(StatusResponse(model.status()));
    respond(handler(**model));
  };
  AddModelRoute(router, "GET", "/v2/models", suffix, h);
}

}  // namespace

void AddV2ModelRoutes(Router& router, const ApiContext& ctx) {
  AddVersioned(
      router, "", [ctx](const Model& m) { return JsonResponse(200, Metadata(ctx, m).dump()); },
      ctx);
  // Ready: 200 when loaded; 400 {"ready": false, state, reason} for a model the
  // repository knows that does not serve (failed, loading, unloaded); 404 otherwise.
  AddModelRoute(
      router, "GET", "/v2/models", "/ready", [ctx](HttpRequest&& req, const Responder& respond) {
        StatusOr<std::shared_ptr<Model>> model = ResolveModel(ctx, req.params);
        if (model.ok()) {
          return respond(JsonResponse(
              200, nlohmann::json{{"name", (*model)->config().name}, {"ready", true}}.dump()));
        }
        const std::string name = req.params.count("model") ? req.params.at("model") : "";
        if (model.status().code() == absl::StatusCode::kNotFound && ctx.manager &&
            !req.params.count("version")) {
          for (const ModelState& row : ctx.manager->Index(false)) {
            if (row.name != name) continue;
            return respond(JsonResponse(
                400,
                nlohmann::json{
                    {"name", name}, {"ready", false}, {"state", row.state}, {"reason", row.reason}}
                    .dump()));
          }
        }
        respond(StatusResponse(model.status()));
      });
  AddVersioned(
      router, "/config", [](const Model& m) { return JsonResponse(200, DescribeModel(m).dump()); },
      ctx);
  AddVersioned(
      router, "/stats",
      [](const Model& m) {
        return JsonResponse(200, nlohmann::json{{"model_stats", {StatsJson(m)}}}.dump());
      },
      ctx);
  router.Add("GET", "/v2/models/stats", [ctx](HttpRequest&&, const Responder& respond) {
    nlohmann::json stats = nlohmann::json::array();
    for (const auto& m : ctx.models->List()) stats.push_back(StatsJson(*m));
    respond(JsonResponse(200, nlohmann::json{{"model_stats", std::move(stats)}}.dump()));
  });
}

}  // namespace infera
