// POST /predict/{model}[/versions/{version}]: the seed's image endpoint.
//
// Body: {"image": "<base64 PNG/JPEG/TIFF>", "top_k": 5, "params": {...runner params}}.
// Translation only: parse (simdjson's tape, no boxed values) -> base64 -> the image
// pipeline (serving/image_pipeline: decode, Preprocess, the model's batcher,
// Postprocess and encoding on a pipeline worker) -> JSON (segmentation runners add the
// mask as base64 PNG/TIFF and a preview). The handler returns as soon as the request is
// queued; the answer is built and sent on the pipeline worker that post-processed it.
#include <simdjson.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "api/http_status.h"
#include "api/routes/model_lookup.h"
#include "api/routes/routes.h"
#include "common/base64.h"
#include "common/strings.h"
#include "imaging/codec.h"
#include "serving/image_pipeline.h"
#include "tracing/span.h"

namespace infera {

namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

struct PredictBody {
  std::vector<std::byte> image;
  nlohmann::json params = nlohmann::json::object();
};

StatusOr<PredictBody> ParseBody(std::string& body) {
  if (body.empty()) {
    return absl::InvalidArgumentError(R"(empty body; expected {"image": "<base64 image>"})");
  }
  // simdjson's DOM is a tape (no boxed values), and picks the CPU's kernel at run time.
  body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto error = parser.parse(body.data(), body.size(), false).get(doc)) {
    return absl::InvalidArgumentError(StrCat("malformed JSON: ", simdjson::error_message(error)));
  }
  simdjson::dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(R"(body must be a JSON object {"image": "<base64>"})");
  }
  PredictBody out;
  bool have_image = false;
  bool have_top_k = false;
  bool have_params = false;
  for (const auto field : obj) {
    const std::string_view key = field.key;
    // A key given twice is ambiguous (parsers differ on which one wins): refused.
    bool* seen = key == "image"    ? &have_image
                 : key == "top_k"  ? &have_top_k
                 : key == "params" ? &have_params
                                   : nullptr;
    if (seen != nullptr && *seen) {
      return absl::InvalidArgumentError(StrCat("'", key, "' is given twice"));
    }
    if (seen != nullptr) *seen = true;
    if (key == "image") {
      std::string_view text;
      if (field.value.get_string().get(text) != simdjson::SUCCESS) {
        return absl::InvalidArgumentError("'image' must be a base64 string");
      }
      auto bytes = Base64Decode(text);
      if (!bytes.ok()) {
        return absl::InvalidArgumentError(StrCat("'image': ", bytes.status().message()));
      }
      out.image = std::move(*bytes);
    } else if (key == "top_k") {
      int64_t k = 0;
      if (field.value.get_int64().get(k) != simdjson::SUCCESS) {
        return absl::InvalidArgumentError("'top_k' must be an integer");
      }
      out.params["top_k"] = k;
    } else if (key == "params") {
      if (!field.value.is_object()) return absl::InvalidArgumentError("'params' must be an object");
      nlohmann::json params = nlohmann::json::parse(simdjson::minify(field.value), nullptr, false);
      for (auto& [k, v] : params.items()) {
        if (!out.params.contains(k)) out.params[k] = v;
      }
    } else {
      return absl::InvalidArgumentError(
          StrCat("unknown field '", key, "' (expected image, top_k, params)"));
    }
  }
  if (!have_image) {
    return absl::InvalidArgumentError(R"(missing field 'image' (a base64 PNG, JPEG or TIFF))");
  }
  if (out.image.empty()) return absl::InvalidArgumentError("'image' is empty");
  return out;
}

// The summary's fields, plus for segmentation runners the primary mask ("mask": base64,
// "mask_content_type") and every artifact under "artifacts" {kind: {content_type, data}}.
nlohmann::json ResponseBody(const ImageResult& out) {
  nlohmann::json body = out.summary.is_object() ? out.summary : nlohmann::json::object();
  if (out.artifacts.empty()) return body;
  nlohmann::json artifacts = nlohmann::json::object();
  for (const EncodedArtifact& a : out.artifacts) {
    artifacts[a.artifact.kind] = {{"content_type", ArtifactContentType(a.artifact.format)},
                                  {"data", Base64Encode(a.bytes.data(), a.bytes.size())}};
  }
  for (const char* primary : {"instance_mask", "class_mask", "probability"}) {
    if (artifacts.contains(primary)) {
      body["mask"] = artifacts[primary]["data"];
      body["mask_content_type"] = artifacts[primary]["content_type"];
      body["mask_kind"] = primary;
      break;
    }
  }
  body["artifacts"] = std::move(artifacts);
  return body;
}

void Predict(const ApiContext& ctx, HttpRequest&& req, Responder respond) {
  const Clock::time_point start = Clock::now();
  StatusOr<std::shared_ptr<Model>> resolved = ResolveModel(ctx, req.params);
  if (!resolved.ok()) return respond(StatusResponse(resolved.status()));
  std::shared_ptr<Model> model = std::move(*resolved);
  TagModelOnSpan(req, *model);

  auto fail = [&respond](const Status& s) { respond(StatusResponse(s)); };
  StatusOr<PredictBody> body = ParseBody(req.body);
  if (!body.ok()) return fail(body.status());
  StatusOr<nlohmann::json> params =
      model->runner().ResolveParams(body->params, model->description());
  if (!params.ok()) return fail(params.status());
  DecodeLimits limits;
  limits.max_pixels = ctx.max_image_pixels;
  std::shared_ptr<TraceSpan> preprocess = StartChildSpan(req.span, "preprocess");
  StatusOr<PreparedImage> prepared = ImagePipeline::Prepare(
      model->runner(), model->description(), body->image, std::move(*params), limits);
  EndSpan(preprocess.get(), prepared.status());
  if (!prepared.ok()) return fail(prepared.status());
  const double preprocess_ms = MsSince(start);

  RequestContext request;
  request.request_id = req.request_id;
  request.span = req.span;
  ctx.pipeline->Submit(model, std::move(*prepared), request,
                       [model, respond, start, preprocess_ms](StatusOr<ImageResult> result) {
                         if (!result.ok()) return respond(StatusResponse(result.status()));
                         nlohmann::json j = ResponseBody(*result);
                         const PipelineTimings& t = result->timings;
                         j["model"] = model->config().name;
                         j["version"] = model->config().version;
                         j["inference_time_ms"] = t.queue_ms + t.compute_ms;
                         j["queue_time_ms"] = t.queue_ms;
                         j["compute_time_ms"] = t.compute_ms;
                         j["preprocess_time_ms"] = preprocess_ms;
                         j["postprocess_time_ms"] = t.postprocess_ms;
                         j["batch_size"] = t.batch_size;
                         j["total_time_ms"] = MsSince(start);
                         respond(JsonResponse(200, j.dump()));
                       });
}

}  // namespace

void AddPredictRoutes(Router& router, const ApiContext& ctx) {
  AddModelRoute(router, "POST", "/predict", "", [ctx](HttpRequest&& req, Responder respond) {
    Predict(ctx, std::move(req), std::move(respond));
  });
}

}  // namespace infera
