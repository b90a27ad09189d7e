// POST /predict/{model}[/versions/{version}]: the seed's image endpoint.
//
// Body: {"image": "<base64 PNG/JPEG/TIFF>", "top_k": 5, "params": {...runner params}}.
// Flow: parse (simdjson's tape, no boxed values) -> base64 -> decode (pixel limit)
// -> runner.Preprocess -> the model's batcher (InferItems) -> runner.Postprocess -> JSON
// (segmentation runners add the mask as base64 PNG/TIFF and a preview). The handler
// returns as soon as the request is queued; the answer is sent from the batcher's
// completion callback.
#include <simdjson.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "api/http_status.h"
#include "api/routes/model_lookup.h"
#include "api/routes/routes.h"
#include "common/base64.h"
#include "common/strings.h"
#include "imaging/codec.h"
#include "models/infer_items.h"

namespace infera {

namespace {

using Clock = std::chrono::steady_clock;

double Ms(std::chrono::microseconds us) { return static_cast<double>(us.count()) / 1000.0; }
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
  for (const auto field : obj) {
    const std::string_view key = field.key;
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
      have_image = true;
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

struct PredictState {
  Image image;
  RunnerInput input;
  nlohmann::json params;
};

// The summary's fields, plus for segmentation runners the primary mask ("mask": base64,
// "mask_content_type") and every artifact under "artifacts" {kind: {content_type, data}}.
StatusOr<nlohmann::json> ResponseBody(const RunnerOutput& out) {
  nlohmann::json body = out.summary.is_object() ? out.summary : nlohmann::json::object();
  if (out.artifacts.empty()) return body;
  nlohmann::json artifacts = nlohmann::json::object();
  for (const RunnerArtifact& a : out.artifacts) {
    ASSIGN_OR_RETURN(std::vector<std::byte> bytes, EncodeArtifact(a));
    artifacts[a.kind] = {{"content_type", ArtifactContentType(a.format)},
                         {"data", Base64Encode(bytes.data(), bytes.size())}};
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

  auto fail = [&respond](const Status& s) { respond(StatusResponse(s)); };
  StatusOr<PredictBody> body = ParseBody(req.body);
  if (!body.ok()) return fail(body.status());
  StatusOr<nlohmann::json> params = model->runner().ResolveParams(body->params, model->config());
  if (!params.ok()) return fail(params.status());
  DecodeLimits limits;
  limits.max_pixels = ctx.max_image_pixels;
  StatusOr<Image> image = DecodeImage(body->image, limits);
  if (!image.ok()) return fail(image.status());
  StatusOr<RunnerInput> input = model->runner().Preprocess(*image, model->config(), *params);
  if (!input.ok()) return fail(input.status());
  const double preprocess_ms = MsSince(start);

  std::vector<std::vector<Tensor>> items = std::move(input->items);
  input->items.clear();
  // The source image and the runner's context stay alive until Postprocess.
  auto state = std::make_shared<PredictState>(
      PredictState{std::move(*image), std::move(*input), std::move(*params)});
  InferItems(model, std::move(items), ItemsOptions{},
             [model, state, respond, start, preprocess_ms](StatusOr<ItemsResult> result) {
               if (!result.ok()) return respond(StatusResponse(result.status()));
               StatusOr<RunnerOutput> out = model->runner().Postprocess(
                   state->image, state->input, result->outputs, model->config(), state->params);
               if (!out.ok()) return respond(StatusResponse(out.status()));
               StatusOr<nlohmann::json> body = ResponseBody(*out);
               if (!body.ok()) return respond(StatusResponse(body.status()));
               nlohmann::json& j = *body;
               j["model"] = model->config().name;
               j["version"] = model->config().version;
               j["inference_time_ms"] = Ms(result->queue_time + result->compute_time);
               j["queue_time_ms"] = Ms(result->queue_time);
               j["compute_time_ms"] = Ms(result->compute_time);
               j["preprocess_time_ms"] = preprocess_ms;
               j["batch_size"] = result->batch_size;
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
