// CVAT serverless functions served by infera (../shared/reference/mask-formats.md C3): a
// loaded segmentation model is a "detector" CVAT's auto-annotation can call.
//   GET  /cvat/functions          -> [{id, name, kind: "detector", framework, labels:
//                                    [{id, name}], description}] for every segmenter
//   GET  /cvat/functions/{model}  -> one of them (404 for unknown, 400 for a classifier)
//   POST /cvat/functions/{model}  {"image": "<base64>", "threshold"?: number in [0,1]}
//                                 -> [{"label", "confidence": null, "type": "mask",
//                                      "mask": [crop 0/1 row-major..., xtl, ytl, xbr, ybr]}]
// The answer is what a nuclio function returns to CVAT's lambda manager, which turns
// each "mask" into its RLE (annotations/cvat_mask_shapes.h). Instance masks (cellpose)
// give one shape per object labelled with the model's foreground name; class masks one
// shape per class present, labelled with the model's class names (a binary segmenter's
// 0/255 mask is its class 1). `threshold` sets the runner's own threshold param where it
// has one (binary_sigmoid, custom_tiff) and is otherwise ignored; other request fields are
// ignored (CVAT's request may grow). Guarded like the inference routes (a token with
// auth.protect_inference). The model runs on the image pipeline as /predict does.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "annotations/cvat_mask_shapes.h"
#include "annotations/label_image.h"
#include "annotations/model_classes.h"
#include "api/http_status.h"
#include "api/routes/model_lookup.h"
#include "api/routes/routes.h"
#include "common/base64.h"
#include "common/strings.h"
#include "imaging/codec.h"
#include "models/model.h"
#include "serving/image_pipeline.h"

namespace infera {

namespace {

bool IsSegmenter(const Model& model) { return model.runner().name() != "classify"; }
bool MakesInstances(const Model& model) { return model.runner().name() == "cellpose"; }

// The labels CVAT maps (function.yaml's spec): what the model's shapes will be named.
nlohmann::json FunctionLabels(const Model& model) {
  const std::vector<std::string>& names = model.description().labels;
  nlohmann::json labels = nlohmann::json::array();
  const std::string runner(model.runner().name());
  if (MakesInstances(model)) {
    labels.push_back({{"id", 1}, {"name", ModelForegroundName(names, "object")}});
  } else if (runner == "binary_sigmoid" || names.size() < 2) {
    // A binary segmenter (or one whose classes are not named: they appear as "class k").
    if (runner == "binary_sigmoid") {
      labels.push_back({{"id", 1}, {"name", ModelForegroundName(names, "foreground")}});
    }
  } else {
    for (int k = 1; k < static_cast<int>(names.size()); ++k) {
      labels.push_back({{"id", k}, {"name", ModelClassName(names, k)}});
    }
  }
  return labels;
}

nlohmann::json FunctionJson(const Model& model) {
  return {{"id", model.config().name},
          {"name", model.config().name},
          {"kind", "detector"},
          {"framework", "infera"},
          {"description", model.config().description},
          {"labels", FunctionLabels(model)}};
}

StatusOr<std::shared_ptr<Model>> Segmenter(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(std::shared_ptr<Model> model, ResolveModel(ctx, req.params));
  if (!IsSegmenter(*model)) {
    return absl::InvalidArgumentError(StrCat("model '", model->config().name,
                                             "' is a classifier; CVAT detector functions need a "
                                             "segmentation model"));
  }
  return model;
}

struct DetectRequest {
  std::vector<std::byte> image;
  std::optional<double> threshold;
};

StatusOr<DetectRequest> ParseDetect(const std::string& body) {
  if (body.empty())
    return absl::InvalidArgumentError(R"(empty body; expected {"image": "<base64>"})");
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) return absl::InvalidArgumentError("malformed JSON");
  if (!j.is_object())
    return absl::InvalidArgumentError(R"(body must be a JSON object {"image": "<base64>"})");
  DetectRequest out;
  auto image = j.find("image");
  if (image == j.end())
    return absl::InvalidArgumentError("missing field 'image' (base64 of the frame)");
  if (!image->is_string()) return absl::InvalidArgumentError("'image' must be a base64 string");
  auto bytes = Base64Decode(image->get_ref<const std::string&>());
  if (!bytes.ok()) return absl::InvalidArgumentError(StrCat("'image': ", bytes.status().message()));
  if (bytes->empty()) return absl::InvalidArgumentError("'image' is empty");
  out.image = std::move(*bytes);
  auto threshold = j.find("threshold");
  if (threshold != j.end() && !threshold->is_null()) {
    if (!threshold->is_number()) return absl::InvalidArgumentError("'threshold' must be a number");
    const double t = threshold->get<double>();
    if (!(t >= 0.0 && t <= 1.0)) return absl::InvalidArgumentError("'threshold' must be in [0, 1]");
    out.threshold = t;
  }
  return out;
}

// The runner params a CVAT call sets: the threshold where the runner has one, and a
// runner that can answer with probabilities asked for labels.
nlohmann::json DetectParams(const Model& model, const DetectRequest& request) {
  nlohmann::json params = nlohmann::json::object();
  const nlohmann::json schema = model.runner().params_schema();
  const nlohmann::json properties = schema.value("properties", nlohmann::json::object());
  if (request.threshold && properties.contains("threshold"))
    params["threshold"] = *request.threshold;
  if (properties.contains("output")) {
    const nlohmann::json choices = properties["output"].value("enum", nlohmann::json::array());
    for (const nlohmann::json& c : choices) {
      if (c == "labels") params["output"] = "labels";
    }
  }
  return params;
}

// The JSON list of shapes for the model's mask.
StatusOr<std::string> ShapesJson(const Model& model, const ImageResult& result) {
  const RunnerArtifact* mask = nullptr;
  for (const EncodedArtifact& a : result.artifacts) {
    if (a.artifact.kind == "instance_mask" ||
        (mask == nullptr && a.artifact.kind == "class_mask")) {
      mask = &a.artifact;
    }
  }
  if (mask == nullptr) {
    return absl::InvalidArgumentError(
        StrCat("model '", model.config().name, "' gave no instance or class mask"));
  }
  Image labels = mask->image;
  if (!CheckLabelImage(labels).ok()) {
    return absl::OutOfRangeError(
        StrCat("model '", model.config().name,
               "' gave a mask with more labels than a 16-bit label image holds"));
  }
  const std::vector<std::string>& names = model.description().labels;
  const bool instances = mask->kind == "instance_mask";
  if (!instances && IsBinaryForegroundMask(labels, names.size())) MapBinaryForeground(&labels);
  const bool binary = !instances && model.runner().name() == "binary_sigmoid";
  const std::string foreground = ModelForegroundName(names, instances ? "object" : "foreground");
  std::string out = "[";
  bool first = true;
  for (const CvatMaskShape& shape : CvatMaskShapes(labels)) {
    const std::string label = instances || binary ? foreground : ModelClassName(names, shape.value);
    if (!first) out.push_back(',');
    first = false;
    out += R"({"label":)";
    out += nlohmann::json(label).dump();
    out += R"(,"confidence":null,"type":"mask","mask":)";
    AppendCvatMaskJson(shape, &out);
    out.push_back('}');
  }
  out.push_back(']');
  return out;
}

void Detect(const ApiContext& ctx, HttpRequest&& req, Responder respond) {
  auto fail = [&respond](const Status& s) { respond(StatusResponse(s)); };
  StatusOr<std::shared_ptr<Model>> resolved = Segmenter(ctx, req);
  if (!resolved.ok()) return fail(resolved.status());
  std::shared_ptr<Model> model = std::move(*resolved);
  StatusOr<DetectRequest> request = ParseDetect(req.body);
  if (!request.ok()) return fail(request.status());
  StatusOr<nlohmann::json> params =
      model->runner().ResolveParams(DetectParams(*model, *request), model->description());
  if (!params.ok()) return fail(params.status());
  DecodeLimits limits;
  limits.max_pixels = ctx.max_image_pixels;
  StatusOr<PreparedImage> prepared = ImagePipeline::Prepare(
      model->runner(), model->description(), request->image, std::move(*params), limits);
  if (!prepared.ok()) return fail(prepared.status());
  RequestContext context;
  context.request_id = req.request_id;
  ctx.pipeline->Submit(model, std::move(*prepared), context,
                       [model, respond](StatusOr<ImageResult> result) {
                         if (!result.ok()) return respond(StatusResponse(result.status()));
                         StatusOr<std::string> shapes = ShapesJson(*model, *result);
                         if (!shapes.ok()) return respond(StatusResponse(shapes.status()));
                         respond(JsonResponse(200, std::move(*shapes)));
                       });
}

}  // namespace

void AddCvatFunctionRoutes(Router& router, const ApiContext& ctx) {
  router.Add("GET", "/cvat/functions", [ctx](HttpRequest&&, Responder respond) {
    // List() is by name then version: the last of a name is its highest version.
    std::map<std::string, std::shared_ptr<Model>> latest;
    for (std::shared_ptr<Model>& model : ctx.models->List()) {
      if (IsSegmenter(*model)) latest[model->config().name] = std::move(model);
    }
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [name, model] : latest) list.push_back(FunctionJson(*model));
    respond(JsonResponse(200, list.dump()));
  });
  router.Add("GET", "/cvat/functions/{model}", [ctx](HttpRequest&& req, Responder respond) {
    StatusOr<std::shared_ptr<Model>> model = Segmenter(ctx, req);
    if (!model.ok()) return respond(StatusResponse(model.status()));
    respond(JsonResponse(200, FunctionJson(**model).dump()));
  });
  router.Add("POST", "/cvat/functions/{model}", [ctx](HttpRequest&& req, Responder respond) {
    Detect(ctx, std::move(req), std::move(respond));
  });
}

}  // namespace infera
