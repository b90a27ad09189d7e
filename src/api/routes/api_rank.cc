// Active learning (active_learning/dataset_ranker.h):
//   POST /api/datasets/{id}/rank  {model_id?, model_version?, strategy, annotation_set_id?,
//                                  limit?, params?, seed?}
//     -> 200 {strategy, model: {name, version} | null, images: [{file, filename, score,
//        rank, details}] best first, candidates, skipped_annotated, scored, failed:
//        [{file, filename, error}], unscored, truncated, seconds, limits}
// strategy: uncertainty | tta (need model_id) | random (seed, default 0) | first. Images
// with a mask in `annotation_set_id` (an image_labels set: with a label) are left out. Ownership as
// datasets (someone else's dataset or set: 404); unknown dataset, model or set 404; unknown
// strategy, a set of another dataset, ill-typed or unknown fields, params the runner refuses, a
// runner without probabilities 400. Runs on the blocking pool, bounded by ctx.rank (a number of
// images and a time budget: what is left is `unscored`, with `truncated`).
#include <optional>
#include <set>

#include "active_learning/dataset_ranker.h"
#include "active_learning/rank_strategy.h"
#include "api/routes/annotation_common.h"
#include "api/routes/api_common.h"
#include "api/routes/routes.h"
#include "common/json_text.h"
#include "common/strings.h"
#include "models/model.h"
#include "models/model_config.h"
#include "store/annotation_store.h"

namespace infera {

namespace {

constexpr int64_t kMaxLimit = 100'000;

struct RankBody {
  std::optional<std::string> model_name;
  std::optional<int64_t> model_version;
  RankStrategy strategy = RankStrategy::kFirst;
  std::optional<int64_t> set_id;
  std::optional<int64_t> limit;
  nlohmann::json params = nlohmann::json::object();
  uint64_t seed = 0;
};

StatusOr<RankBody> ParseRankBody(const nlohmann::json& body) {
  RankBody out;
  for (const auto& [key, value] : body.items()) {
    if (key == "model_id") {
      if (value.is_null()) continue;
      if (!value.is_string() || !ValidateModelName(value.get<std::string>()).ok()) {
        return absl::InvalidArgumentError(
            StrCat("invalid model_id ", value.dump().substr(0, 140), " (expected a model name)"));
      }
      out.model_name = value.get<std::string>();
    } else if (key == "model_version") {
      if (value.is_null()) continue;
      ASSIGN_OR_RETURN(out.model_version, ParseIdJson(value, "model version"));
    } else if (key == "strategy") {
      if (!value.is_string()) {
        return absl::InvalidArgumentError(StrCat("'strategy' must be a string (one of ",
                                                 StrJoin(RankStrategyNames(), ", "), ")"));
      }
      ASSIGN_OR_RETURN(out.strategy, ParseRankStrategy(value.get<std::string>()));
    } else if (key == "annotation_set_id") {
      if (value.is_null()) continue;
      ASSIGN_OR_RETURN(out.set_id, ParseIdJson(value, "annotation set"));
    } else if (key == "limit") {
      if (value.is_null()) continue;
      if (!value.is_number_integer() || value.get<int64_t>() < 1 ||
          value.get<int64_t>() > kMaxLimit) {
        return absl::InvalidArgumentError(
            StrCat("'limit' must be an integer between 1 and ", kMaxLimit));
      }
      out.limit = value.get<int64_t>();
    } else if (key == "params") {
      if (value.is_null()) continue;
      if (!value.is_object()) return absl::InvalidArgumentError("'params' must be an object");
      out.params = value;
    } else if (key == "seed") {
      if (!value.is_number_integer() ||
          (value.is_number_integer() && !value.is_number_unsigned() && value.get<int64_t>() < 0)) {
        return absl::InvalidArgumentError("'seed' must be a non-negative integer");
      }
      out.seed = value.get<uint64_t>();
    } else {
      return absl::InvalidArgumentError(
          StrCat("unknown field '", key.substr(0, 64),
                 "' (expected model_id, model_version, strategy, annotation_set_id, limit, "
                 "params, seed)"));
    }
  }
  if (!body.contains("strategy")) {
    return absl::InvalidArgumentError(
        StrCat("'strategy' is required (one of ", StrJoin(RankStrategyNames(), ", "), ")"));
  }
  if (StrategyNeedsModel(out.strategy) && !out.model_name.has_value()) {
    return absl::InvalidArgumentError(
        StrCat("strategy '", RankStrategyName(out.strategy), "' needs a model_id"));
  }
  return out;
}

StatusOr<HttpResponse> RankRoute(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t dataset_id, ParseId(req.params.at("id"), "dataset"));
  ASSIGN_OR_RETURN(nlohmann::json json, JsonBody(req));
  ASSIGN_OR_RETURN(RankBody body, ParseRankBody(json));
  ASSIGN_OR_RETURN(DatasetRecord dataset, VisibleDataset(ctx, req, dataset_id));

  RankRequest request;
  request.strategy = body.strategy;
  request.seed = body.seed;
  request.request_id = req.request_id;
  if (body.model_name.has_value()) {
    request.model = ctx.models->Get(*body.model_name, body.model_version);
    if (request.model == nullptr) {
      return absl::NotFoundError(body.model_version
                                     ? StrCat("model '", *body.model_name, "' version ",
                                              *body.model_version, " is not loaded")
                                     : StrCat("unknown model '", *body.model_name, "'"));
    }
    if (StrategyNeedsModel(body.strategy)) {
      StatusOr<nlohmann::json> params =
          request.model->runner().ResolveParams(body.params, request.model->description());
      if (!params.ok()) {
        return absl::InvalidArgumentError(StrCat("params: ", params.status().message()));
      }
      request.params = std::move(*params);
    }
  }

  std::set<int64_t> annotated;
  if (body.set_id.has_value()) {
    if (ctx.annotations == nullptr) {
      return absl::UnimplementedError("this storage driver has no annotation sets");
    }
    ASSIGN_OR_RETURN(AnnotationSetRecord set, VisibleAnnotationSet(ctx, req, *body.set_id));
    if (set.dataset_id != dataset.id) {
      return absl::InvalidArgumentError(StrCat("annotation set ", set.id, " belongs to dataset ",
                                               set.dataset_id, ", not to dataset ", dataset.id));
    }
    if (set.kind == AnnotationKind::kImageLabels) {
      // An image_labels set: the images with a label are annotated.
      ASSIGN_OR_RETURN(std::vector<ImageLabelRecord> labels,
                       ctx.annotations->ListCurrentImageLabels(set.id));
      for (const ImageLabelRecord& l : labels) annotated.insert(l.source_file_id);
    } else {
      ASSIGN_OR_RETURN(std::vector<MaskRevisionRecord> masks,
                       ctx.annotations->ListCurrentMasks(set.id));
      for (const MaskRevisionRecord& m : masks) annotated.insert(m.source_file_id);
    }
  }
  ASSIGN_OR_RETURN(std::vector<FileRecord> files, ctx.store->ListDatasetFiles(dataset.id));
  int64_t skipped = 0;
  for (FileRecord& f : files) {
    if (f.role != "source") continue;
    if (annotated.count(f.id) > 0) {
      ++skipped;
      continue;
    }
    request.candidates.push_back(std::move(f));
  }

  ASSIGN_OR_RETURN(RankResult result, RankImages(request, *ctx.blobs, *ctx.pipeline, ctx.rank));

  nlohmann::json images = nlohmann::json::array();
  const size_t shown =
      body.limit ? std::min<size_t>(result.images.size(), *body.limit) : result.images.size();
  for (size_t i = 0; i < shown; ++i) {
    const ScoredImage& s = result.images[i];
    images.push_back({{"file", s.file_id},
                      {"filename", s.filename},
                      {"score", s.score},
                      {"rank", i + 1},
                      {"details", s.details}});
  }
  nlohmann::json failed = nlohmann::json::array();
  for (const RankFailure& f : result.failed) {
    failed.push_back({{"file", f.file_id}, {"filename", f.filename}, {"error", f.error}});
  }
  nlohmann::json model = nullptr;
  if (request.model != nullptr) {
    model = {{"name", request.model->config().name},
             {"version", request.model->config().version},
             {"runner", request.model->config().runner}};
  }
  nlohmann::json out = {
      {"dataset_id", dataset.id},
      {"strategy", RankStrategyName(body.strategy)},
      {"model", std::move(model)},
      {"images", std::move(images)},
      {"candidates", result.candidates},
      {"skipped_annotated", skipped},
      {"scored", result.images.size()},
      {"failed", std::move(failed)},
      {"unscored", result.unscored},
      {"truncated", result.truncated},
      {"seconds", result.seconds},
      {"limits",
       {{"max_images", ctx.rank.max_images},
        {"time_budget_s", static_cast<double>(ctx.rank.time_budget.count()) / 1000.0}}},
  };
  if (body.set_id.has_value()) out["annotation_set_id"] = *body.set_id;
  if (body.strategy == RankStrategy::kRandom) out["seed"] = body.seed;
  return JsonResponse(200, JsonText(out));
}

}  // namespace

void AddApiRankRoutes(Router& router, const ApiContext& ctx) {
  router.Add("POST", "/api/datasets/{id}/rank",
             Guarded(ctx, Access::kUser, Blocking(ctx, RankRoute)));
}

}  // namespace infera
