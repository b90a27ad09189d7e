// Retraining (issue 18; translation: the rules are jobs/retraining_jobs'):
//   POST /api/retraining/start          {model_id, annotation_set_ids, params}
//                                       -> 202 {retraining_id, status: "queued"}
//   GET  /api/retraining                ?status=&limit=&offset= -> {"retrainings": [...]}
//                                       (the caller's own; an admin's: all)
//   GET  /api/retraining/params_schema  -> the training params' JSON Schema (the web form)
//   GET  /api/retraining/{id}           -> status, params, per-epoch metrics, logs,
//                                       new_version and held_back when done
//   POST /api/retraining/{id}/cancel    -> the job (stops within one batch)
// Malformed ids and bodies 400; ill-typed params 400 with the reason; a model whose runner
// cannot train 400 naming the runners that can; unknown (or someone else's) jobs, models
// and annotation sets 404.
#include <string>
#include <vector>

#include "api/routes/api_common.h"
#include "api/routes/routes.h"
#include "common/json_text.h"
#include "common/strings.h"
#include "jobs/retraining_jobs.h"
#include "models/model_config.h"
#include "training/trainer.h"

namespace infera {

namespace {

StatusOr<HttpResponse> StartRoute(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(req));
  for (const auto& [key, value] : body.items()) {
    if (key != "model_id" && key != "annotation_set_ids" && key != "params") {
      return absl::InvalidArgumentError(
          StrCat("unknown field '", key, "' (expected model_id, annotation_set_ids, params)"));
    }
  }
  if (!body.contains("model_id")) return absl::InvalidArgumentError("'model_id' is required");
  const nlohmann::json& model_id = body["model_id"];
  if (!model_id.is_string() || !ValidateModelName(model_id.get<std::string>()).ok()) {
    return absl::InvalidArgumentError(
        StrCat("invalid model_id ", model_id.dump().substr(0, 140), " (expected a model name)"));
  }
  if (!body.contains("annotation_set_ids")) {
    return absl::InvalidArgumentError("'annotation_set_ids' is required");
  }
  const nlohmann::json& sets = body["annotation_set_ids"];
  if (!sets.is_array() || sets.empty()) {
    return absl::InvalidArgumentError(
        "'annotation_set_ids' must be a non-empty array of annotation set ids");
  }
  if (sets.size() > 1000) {
    return absl::InvalidArgumentError("'annotation_set_ids' names more than 1000 sets");
  }
  StartRetrainingRequest start;
  start.model_name = model_id.get<std::string>();
  for (const nlohmann::json& id : sets) {
    ASSIGN_OR_RETURN(int64_t set_id, ParseIdJson(id, "annotation set"));
    start.annotation_set_ids.push_back(set_id);
  }
  start.params = body.value("params", nlohmann::json::object());
  if (start.params.is_null()) start.params = nlohmann::json::object();
  if (!start.params.is_object()) return absl::InvalidArgumentError("'params' must be an object");
  ASSIGN_OR_RETURN(JobRecord created, ctx.retraining->Start(req.principal, start));
  return JsonResponse(202, JsonText(nlohmann::json{{"retraining_id", created.id},
                                                   {"status", JobStatusName(created.status)}}));
}

StatusOr<HttpResponse> ListRoute(const ApiContext& ctx, const HttpRequest& req) {
  std::optional<JobStatus> status;
  int64_t limit = 100;
  int64_t offset = 0;
  std::string value;
  if (req.query_param("status", &value)) {
    ASSIGN_OR_RETURN(status, ParseJobStatus(value));
  }
  if (req.query_param("limit", &value)) {
    ASSIGN_OR_RETURN(limit, ParseId(value, "limit"));
    limit = std::min<int64_t>(limit, 1000);
  }
  if (req.query_param("offset", &value) && value != "0") {
    ASSIGN_OR_RETURN(offset, ParseId(value, "offset"));
  }
  ASSIGN_OR_RETURN(std::vector<JobRecord> jobs,
                   ctx.retraining->List(req.principal, status, limit, offset));
  nlohmann::json list = nlohmann::json::array();
  for (const JobRecord& j : jobs) list.push_back(RetrainingJson(j, /*with_logs=*/false));
  return JsonResponse(200, JsonText(nlohmann::json{{"retrainings", std::move(list)}}));
}

StatusOr<HttpResponse> GetRoute(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("id"), "retraining"));
  ASSIGN_OR_RETURN(JobRecord job, ctx.retraining->Get(req.principal, id));
  return JsonResponse(200, JsonText(RetrainingJson(job)));
}

StatusOr<HttpResponse> CancelRoute(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("id"), "retraining"));
  ASSIGN_OR_RETURN(JobRecord job, ctx.retraining->Cancel(req.principal, id));
  return JsonResponse(200, JsonText(RetrainingJson(job)));
}

StatusOr<HttpResponse> SchemaRoute(const ApiContext&, const HttpRequest&) {
  return JsonResponse(200, JsonText(nlohmann::json{{"schema", TrainingParamsSchema()},
                                                   {"trainable_runners", TrainableRunners()}}));
}

// The service is missing when the server runs without one (never with Server).
Handler WithService(const ApiContext& ctx, BlockingFn fn) {
  return Blocking(
      ctx,
      [fn = std::move(fn)](const ApiContext& c, const HttpRequest& req) -> StatusOr<HttpResponse> {
        if (c.retraining == nullptr) {
          return absl::UnimplementedError("retraining is not available on this server");
        }
        return fn(c, req);
      });
}

}  // namespace

void AddApiRetrainingRoutes(Router& router, const ApiContext& ctx) {
  router.Add("POST", "/api/retraining/start",
             Guarded(ctx, Access::kUser, WithService(ctx, StartRoute)));
  router.Add("GET", "/api/retraining", Guarded(ctx, Access::kUser, WithService(ctx, ListRoute)));
  router.Add("GET", "/api/retraining/params_schema",
             Guarded(ctx, Access::kUser, Blocking(ctx, SchemaRoute)));
  router.Add("GET", "/api/retraining/{id}",
             Guarded(ctx, Access::kUser, WithService(ctx, GetRoute)));
  router.Add("POST", "/api/retraining/{id}/cancel",
             Guarded(ctx, Access::kUser, WithService(ctx, CancelRoute)));
}

}  // namespace infera
