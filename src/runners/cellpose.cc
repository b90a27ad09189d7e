#include "runners/cellpose.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <span>

#include "cellpose/follow_flows.h"
#include "cellpose/masks_to_flows.h"
#include "cellpose/reconstruct.h"
#include "common/strings.h"
#include "imaging/outline_overlay.h"
#include "imaging/resize_image.h"
#include "runners/cellpose_input.h"
#include "runners/cellpose_tiles.h"
#include "runners/instance_mask.h"
#include "runners/model_description.h"
#include "runners/params.h"

namespace infera {

namespace {

constexpr double kDefaultDiamMean = 30.0;  // Cellpose's cyto models
constexpr int kDefaultNiter = 200;
constexpr int kOutputChannels = 3;  // dY, dX, cellprob logit

// `channels` is an array, which ParamSchema does not declare: Schema().Validate
// is told it is known, ValidateParams checks it itself, and params_schema adds
// it to the JSON Schema.
constexpr const char* kChannelsParam = "channels";
constexpr const char* kChannelsDescription =
    "[cyto, nucleus]: the channel to segment and the optional nuclear channel; "
    "0 = gray "
    "(the mean of the channels; the nuclear channel is then unused), 1 = red, "
    "2 = green, "
    "3 = blue";

const ParamSchema& Schema() {
  static const ParamSchema schema(
      "cellpose", {
                      NumberParam("diameter", 0.0, 0.0, 10000.0,
                                  "cell diameter in pixels: the image is rescaled by "
                                  "diam_mean / diameter "
                                  "before the network; 0: not rescaled"),
                      NumberParam("diam_mean", kDefaultDiamMean, 1.0, 1000.0,
                                  "the cell diameter the model was trained at (30 for "
                                  "Cellpose's cyto "
                                  "models, 17 for nuclei)"),
                      NumberParam("flow_threshold", 0.4, 0.0, 1000.0,
                                  "masks whose flow error is above this are removed; 0 "
                                  "disables the check"),
                      NumberParam("cellprob_threshold", 0.0, -1000.0, 1000.0,
                                  "pixels whose cell-probability logit is above this are "
                                  "cell pixels"),
                      IntParam("min_size", 15, -1, 1'000'000'000,
                               "masks with fewer pixels are removed; -1 (or 0) keeps every "
                               "mask"),
                      IntParam("niter", 0, 0, cellpose::kMaxNiter,
                               "Euler steps of the flow dynamics; 0: 200, times diameter / "
                               "diam_mean when "
                               "the image is rescaled"),
                      NumberParam("tile_overlap", cellpose::kDefaultTileOverlap, 0.05, 0.5,
                                  "fraction of overlap between neighbouring tiles"),
                      IntParam("batch_size", 8, 1, 4096,
                               "accepted for compatibility with Cellpose and ignored: "
                               "tiles are batched by "
                               "the model's dynamic batcher (batching.max_batch_size)"),
                      BoolParam("normalize", true,
                                "normalise each channel between its 1st and 99th percentiles"),
                      NumberParam("max_size_fraction", 0.4, 0.0, 1.0,
                                  "masks covering more than this fraction of the image are "
                                  "removed"),
                      IntParam("model_channels", 0, 0, 3,
                               "input channels of the network: 2 ([cyto, nucleus]) or 3 (a "
                               "zero third "
                               "channel); 0: 2 for a gray input spec, 3 for rgb/bgr"),
                  });
  return schema;
}

StatusOr<CellposeChannels> ParseChannels(const nlohmann::json& value) {
  const auto bad = [&]() {
    return absl::InvalidArgumentError(
        StrCat("channels must be an array of two integers between 0 and ", kMaxCellposeChannel,
               " ([cyto, nucleus]; 0 = gray, 1 = R, 2 = G, 3 = B), got ", value.dump()));
  };
  if (!value.is_array() || value.size() != 2) return bad();
  int parsed[2] = {0, 0};
  for (size_t i = 0; i < 2; ++i) {
    const nlohmann::json& v = value[i];
    if (!v.is_number() || v.is_boolean()) return bad();
    const double d = v.get<double>();
    if (!(d >= 0.0 && d <= kMaxCellposeChannel) || d != std::floor(d)) return bad();
    parsed[i] = static_cast<int>(d);
  }
  return CellposeChannels{parsed[0], parsed[1]};
}

int ModelChannels(const ModelDescription& model, const nlohmann::json& params) {
  const int given = params.value("model_channels", 0);
  if (given != 0) return given;
  return model.input.color == ColorMode::kGray ? 2 : 3;
}

StatusOr<int> TileSize(const ModelDescription& model) {
  if (!model.input.size) return cellpose::kDefaultTileSize;
  const auto [h, w] = *model.input.size;
  if (h != w || h < 1) {
    return absl::InternalError(StrCat("cellpose tiles are square, but model '", model.name,
                                      "' declares input size ", h, "x", w));
  }
  return h;
}

// Cellpose's rescale factor: diam_mean / diameter, 1 when diameter is 0.
double Rescale(const nlohmann::json& params) {
  const double diameter = params.value("diameter", 0.0);
  if (!(diameter > 0.0)) return 1.0;
  return params.value("diam_mean", kDefaultDiamMean) / diameter;
}

// niter as Cellpose v3's _run_cp computes it: the param, or int(200 / rescale).
int Niter(const nlohmann::json& params, double rescale) {
  const int given = params.value("niter", 0);
  if (given > 0) return given;
  const double n = std::floor(kDefaultNiter / rescale);
  return static_cast<int>(std::clamp(n, 1.0, static_cast<double>(cellpose::kMaxNiter)));
}

// One plane (h x w floats) resized bilinearly to out_h x out_w.
StatusOr<std::vector<float>> ResizePlane(std::span<const float> plane, int h, int w, int out_h,
                                         int out_w) {
  Image image = MakeImage(w, h, 1, PixelType::kFloat32);
  std::memcpy(image.data.data(), plane.data(), plane.size() * sizeof(float));
  ASSIGN_OR_RETURN(Image resized, ResizeImage(image, out_w, out_h, Interpolation::kBilinear));
  const float* p = resized.pixels<float>();
  return std::vector<float>(p, p + static_cast<size_t>(out_h) * static_cast<size_t>(out_w));
}

}  // namespace

int CellposeRunner::ModelInputChannels(const ModelDescription& model) const {
  return ModelChannels(model, nlohmann::json::object());
}

nlohmann::json CellposeRunner::params_schema() const {
  nlohmann::json schema = Schema().ToJsonSchema();
  schema["properties"][kChannelsParam] = {
      {"type", "array"},
      {"items", {{"type", "integer"}, {"minimum", 0}, {"maximum", kMaxCellposeChannel}}},
      {"minItems", 2},
      {"maxItems", 2},
      {"default", {0, 0}},
      {"description", kChannelsDescription},
  };
  return schema;
}

Status CellposeRunner::CheckInputSpec(const InputSpec& spec) const {
  if (spec.resize == ResizeMode::kLetterbox) {
    return absl::InvalidArgumentError(
        "the cellpose runner tiles images at their own scale (size is the tile size): "
        "resize letterbox does not apply");
  }
  return absl::OkStatus();
}

StatusOr<nlohmann::json> CellposeRunner::ValidateParams(const nlohmann::json& params,
                                                        const ModelDescription& /*model*/) const {
  ASSIGN_OR_RETURN(nlohmann::json out, Schema().Validate(params, {kChannelsParam}));
  CellposeChannels channels;
  if (params.is_object() && params.contains(kChannelsParam)) {
    ASSIGN_OR_RETURN(channels, ParseChannels(params[kChannelsParam]));
  }
  if (out["model_channels"].get<int>() == 1) {
    return absl::InvalidArgumentError(
        "model_channels must be 0 (from the input spec), 2 or 3, got 1");
  }
  out[kChannelsParam] = {channels.cyto, channels.nucleus};
  return out;
}

StatusOr<RunnerInput> CellposeRunner::Preprocess(const Image& image, const ModelDescription& model,
                                                 const nlohmann::json& params) const {
  if (model.input.dtype != DType::kFP32) {
    return absl::InternalError(StrCat("cellpose feeds FP32 input, but model '", model.name,
                                      "' declares input dtype ", DTypeName(model.input.dtype)));
  }
  ASSIGN_OR_RETURN(const int tile_size, TileSize(model));
  CellposeChannels channels;
  if (auto it = params.find(kChannelsParam); it != params.end()) {
    ASSIGN_OR_RETURN(channels, ParseChannels(*it));
  }
  // The plan first: a diameter that rescales the image out of bounds fails
  // before any work.
  ASSIGN_OR_RETURN(const CellposeTilePlan plan,
                   MakeCellposeTilePlan(image.height, image.width, Rescale(params), tile_size,
                                        params.value("tile_overlap", 0.1)));
  ASSIGN_OR_RETURN(Image input, SelectCellposeChannels(image, channels));
  if (params.value("normalize", true)) RETURN_IF_ERROR(Normalize99(input));
  if (plan.resized()) {
    ASSIGN_OR_RETURN(input, ResizeImage(input, plan.rescaled_width, plan.rescaled_height,
                                        Interpolation::kBilinear));
  }
  ASSIGN_OR_RETURN(std::vector<Tensor> tiles,
                   CutTiles(input, plan, ModelChannels(model, params), model.input.layout));
  RunnerInput out;
  out.items.reserve(tiles.size());
  for (Tensor& t : tiles) {
    out.items.emplace_back();
    out.items.back().push_back(std::move(t));
  }
  out.context = plan.ToJson();
  return out;
}

StatusOr<RunnerOutput> CellposeRunner::Postprocess(const Image& source, const RunnerInput& input,
                                                   const std::vector<std::vector<Tensor>>& outputs,
                                                   const ModelDescription& model,
                                                   const nlohmann::json& params) const {
  ASSIGN_OR_RETURN(const CellposeTilePlan plan, CellposeTilePlan::FromJson(input.context));
  if (plan.source_height != source.height || plan.source_width != source.width) {
    return absl::InternalError(StrCat("cellpose: the tile plan is for a ", plan.source_height, "x",
                                      plan.source_width, " image, the source is ", source.height,
                                      "x", source.width));
  }
  ASSIGN_OR_RETURN(const cellpose::TileLayout layout, plan.Layout());
  if (outputs.size() != layout.tiles.size()) {
    return absl::InternalError(StrCat("cellpose made ", layout.tiles.size(),
                                      " model calls but model '", model.name, "' returned ",
                                      outputs.size()));
  }
  const int64_t t = plan.tile_size;
  const Shape expected = {1, kOutputChannels, t, t};
  std::vector<std::span<const float>> tiles;
  tiles.reserve(outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].empty()) {
      return absl::InternalError(
          StrCat("cellpose: model '", model.name, "' returned no output for tile ", i));
    }
    const Tensor& out = outputs[i][0];
    if (out.dtype() != DType::kFP32 || out.shape() != expected) {
      return absl::InternalError(
          StrCat("cellpose expects a FP32 output of shape ", ShapeToString(expected),
                 " (dY, dX, cell probability) per tile; model '", model.name, "' returned ",
                 DTypeName(out.dtype()), " ", ShapeToString(out.shape()), " for tile ", i));
    }
    tiles.emplace_back(out.data_as<float>(), static_cast<size_t>(out.num_elements()));
  }
  ASSIGN_OR_RETURN(std::vector<float> blended, BlendTiles(plan, tiles, kOutputChannels));

  // dY, dX, cellprob at the source size.
  const int h = source.height;
  const int w = source.width;
  const size_t plane = static_cast<size_t>(h) * static_cast<size_t>(w);
  std::vector<float> maps[kOutputChannels];
  const size_t small_plane =
      static_cast<size_t>(plan.rescaled_height) * static_cast<size_t>(plan.rescaled_width);
  for (int c = 0; c < kOutputChannels; ++c) {
    std::span<const float> p(blended.data() + c * small_plane, small_plane);
    if (plan.resized()) {
      ASSIGN_OR_RETURN(maps[c], ResizePlane(p, plan.rescaled_height, plan.rescaled_width, h, w));
    } else {
      maps[c].assign(p.begin(), p.end());
    }
  }
  blended = {};
  cellpose::FlowField flows;
  flows.height = h;
  flows.width = w;
  flows.dy = std::move(maps[0]);
  flows.dx = std::move(maps[1]);

  cellpose::MaskParams mask_params;
  mask_params.cellprob_threshold = static_cast<float>(params.value("cellprob_threshold", 0.0));
  mask_params.flow_threshold = params.value("flow_threshold", 0.4);
  mask_params.min_size = params.value("min_size", 15);
  mask_params.max_size_fraction = params.value("max_size_fraction", 0.4);
  mask_params.niter = Niter(params, plan.rescale);
  ASSIGN_OR_RETURN(const cellpose::LabelImage masks,
                   cellpose::ComputeMasks(flows, maps[2], mask_params));

  uint32_t count = 0;
  int64_t foreground = 0;
  Image class_mask = MakeImage(w, h, 1, PixelType::kUInt8);
  uint8_t* fg = class_mask.pixels<uint8_t>();
  for (size_t i = 0; i < plane; ++i) {
    const uint32_t l = masks.labels[i];
    if (l == 0) continue;
    count = std::max(count, l);  // labels are 1..N
    ++foreground;
    fg[i] = 255;
  }
  ASSIGN_OR_RETURN(RunnerArtifact instance_mask, InstanceMaskArtifact(masks.labels, w, h));
  ASSIGN_OR_RETURN(Image preview, OverlayOutlines(source, masks.labels));

  const double diameter = params.value("diameter", 0.0);
  RunnerOutput out;
  out.summary = {
      {"count", count},
      {"width", w},
      {"height", h},
      {"foreground_fraction", static_cast<double>(foreground) / static_cast<double>(plane)},
      {"mean_area", count == 0 ? 0.0 : static_cast<double>(foreground) / count},
      {"diameter_used", diameter > 0.0 ? diameter : params.value("diam_mean", kDefaultDiamMean)},
      {"tiles", layout.tiles.size()},
      {"niter", mask_params.niter},
      {"model_channels", ModelChannels(model, params)},
  };
  out.artifacts.push_back(std::move(instance_mask));
  out.artifacts.push_back({"class_mask", std::move(class_mask), ArtifactFormat::kPng});
  out.artifacts.push_back({"preview", std::move(preview), ArtifactFormat::kPng});
  return out;
}

}  // namespace infera

namespace infera {

namespace {

// The labels of an 8/16-bit or float annotation's channel 0 as a LabelImage.
StatusOr<cellpose::LabelImage> AnnotationLabels(const Image& annotation) {
  cellpose::LabelImage labels = cellpose::MakeLabelImage(annotation.height, annotation.width);
  const size_t c = static_cast<size_t>(annotation.channels);
  for (size_t i = 0; i < labels.size(); ++i) {
    switch (annotation.type) {
      case PixelType::kUInt8:
        labels.labels[i] = annotation.pixels<uint8_t>()[i * c];
        break;
      case PixelType::kUInt16:
        labels.labels[i] = annotation.pixels<uint16_t>()[i * c];
        break;
      case PixelType::kFloat32: {
        const float v = annotation.pixels<float>()[i * c];
        if (!(v >= 0) || v != std::floor(v)) {
          return absl::InvalidArgumentError("cellpose annotations must hold instance ids");
        }
        labels.labels[i] = static_cast<uint32_t>(v);
        break;
      }
    }
  }
  return labels;
}

}  // namespace

StatusOr<int> CellposeTrainingSide(const ModelDescription& model) {
  ASSIGN_OR_RETURN(const int t, TileSize(model));
  const int side = t - 16;
  if (side < 16 || side % 16 != 0) {
    return absl::InvalidArgumentError(
        StrCat("cellpose training needs a tile size that is a "
               "multiple of 16 and at least 32; model '",
               model.name, "' has ", t));
  }
  return side;
}

StatusOr<std::vector<Tensor>> CellposeRunner::AnnotationToTarget(
    const Image& annotation, const Image& source, const ModelDescription& model) const {
  ASSIGN_OR_RETURN(const int side, CellposeTrainingSide(model));
  if (annotation.width != source.width || annotation.height != source.height ||
      source.width != side || source.height != side) {
    return absl::InvalidArgumentError(
        StrCat("cellpose training takes ", side, "x", side, " crops (one ", side + 16,
               "-pixel tile with "
               "its padding) and their annotations; got an image of ",
               source.width, "x", source.height, " and an annotation of ", annotation.width, "x",
               annotation.height));
  }
  ASSIGN_OR_RETURN(const nlohmann::json params, ResolveParams(nullptr, model));
  if (Rescale(params) != 1.0) {
    return absl::InvalidArgumentError(
        StrCat("cellpose training needs diameter 0 (no rescaling) "
               "in the params of model '",
               model.name, "'"));
  }
  ASSIGN_OR_RETURN(const int t, TileSize(model));
  ASSIGN_OR_RETURN(const CellposeTilePlan plan,
                   MakeCellposeTilePlan(side, side, 1.0, t, params.value("tile_overlap", 0.1)));
  ASSIGN_OR_RETURN(const cellpose::TileLayout layout, plan.Layout());
  if (layout.tiles.size() != 1) {
    return absl::InternalError(
        StrCat("cellpose: a ", side, "x", side, " crop makes ", layout.tiles.size(), " tiles"));
  }
  ASSIGN_OR_RETURN(const cellpose::LabelImage labels, AnnotationLabels(annotation));
  ASSIGN_OR_RETURN(const cellpose::FlowField flows, cellpose::MasksToFlows(labels));
  Tensor target(DType::kFP32, {1, kOutputChannels, t, t});
  float* out = target.data_as<float>();
  std::fill(out, out + static_cast<size_t>(kOutputChannels) * t * t, 0.0f);
  const size_t plane = static_cast<size_t>(t) * t;
  for (int y = 0; y < side; ++y) {
    for (int x = 0; x < side; ++x) {
      const size_t src = static_cast<size_t>(y) * side + x;
      const size_t dst = static_cast<size_t>(y + plan.pad_top) * t + (x + plan.pad_left);
      out[dst] = kFlowTargetScale * flows.dy[src];
      out[plane + dst] = kFlowTargetScale * flows.dx[src];
      out[2 * plane + dst] = labels.labels[src] != 0 ? 1.0f : 0.0f;
    }
  }
  std::vector<Tensor> targets;
  targets.push_back(std::move(target));
  return targets;
}

}  // namespace infera
