#include "runners/custom_tiff.h"

#include <cstring>

#include "common/strings.h"
#include "imaging/normalize.h"
#include "imaging/overlay.h"
#include "imaging/preprocess.h"
#include "runners/model_description.h"
#include "runners/multiclass_argmax.h"
#include "runners/params.h"
#include "runners/segmentation_util.h"

namespace infera {

namespace {

constexpr int kMaxChannels = 256;

const ParamSchema& Schema() {
  static const ParamSchema schema(
      "custom_tiff",
      {
          EnumParam("output", "probability", {"probability", "labels"},
                    "probability: a float32 TIFF of probabilities; labels: a 16-bit TIFF of "
                    "class labels"),
          BoolParam("output_is_probability", false,
                    "true when the model already outputs probabilities (no sigmoid/softmax)"),
          NumberParam("threshold", 0.5, 0.0, 1.0,
                      "one-channel models: a pixel is labelled 1 when its probability is "
                      "above this"),
          IntParam("channels", 0, 0, kMaxChannels,
                   "how many of the image's channels the model takes (the first ones); 0: "
                   "all of them"),
          NumberParam("low_percentile", 1.0, 0.0, 100.0,
                      "per-channel normalisation: this percentile maps to 0"),
          NumberParam("high_percentile", 99.0, 0.0, 100.0,
                      "per-channel normalisation: this percentile maps to 1"),
      });
  return schema;
}

// The first `channels` channels of `image` (the image itself when it has no more).
Image FirstChannels(const Image& image, int channels) {
  if (channels == image.channels) return image;
  Image out = MakeImage(image.width, image.height, channels, image.type);
  const size_t sample = PixelTypeSize(image.type);
  const size_t n = static_cast<size_t>(image.width) * image.height;
  for (size_t i = 0; i < n; ++i) {
    std::memcpy(out.data.data() + i * channels * sample,
                image.data.data() + i * image.channels * sample, channels * sample);
  }
  return out;
}

// Copies an interleaved float image into a [1, C, H, W] or [1, H, W, C] tensor.
Tensor ToTensor(const Image& image, Layout layout) {
  const int c = image.channels;
  const int h = image.height;
  const int w = image.width;
  if (layout == Layout::kNHWC) {
    Tensor t(DType::kFP32, {1, h, w, c});
    std::memcpy(t.data(), image.data.data(), image.data.size());
    return t;
  }
  Tensor t(DType::kFP32, {1, c, h, w});
  const float* src = image.pixels<float>();
  float* dst = t.data_as<float>();
  const size_t plane = static_cast<size_t>(h) * w;
  for (size_t i = 0; i < plane; ++i) {
    for (int k = 0; k < c; ++k) dst[k * plane + i] = src[i * c + k];
  }
  return t;
}

}  // namespace

nlohmann::json CustomTiffRunner::params_schema() const { return Schema().ToJsonSchema(); }

StatusOr<nlohmann::json> CustomTiffRunner::ValidateParams(const nlohmann::json& params,
                                                          const ModelDescription& /*model*/) const {
  ASSIGN_OR_RETURN(nlohmann::json out, Schema().Validate(params));
  if (!(out["low_percentile"].get<double>() < out["high_percentile"].get<double>())) {
    return absl::InvalidArgumentError(
        StrCat("low_percentile (", out["low_percentile"].get<double>(),
               ") must be below high_percentile (", out["high_percentile"].get<double>(), ")"));
  }
  return out;
}

StatusOr<RunnerInput> CustomTiffRunner::Preprocess(const Image& image,
                                                   const ModelDescription& model,
                                                   const nlohmann::json& params) const {
  if (model.input.dtype != DType::kFP32) {
    return absl::InternalError(StrCat("custom_tiff feeds FP32 input, but model '", model.name,
                                      "' declares input dtype ", DTypeName(model.input.dtype)));
  }
  if (image.width <= 0 || image.height <= 0 || image.channels <= 0) {
    return absl::InvalidArgumentError("empty image");
  }
  const int wanted = params.value("channels", 0);
  const int channels = wanted == 0 ? image.channels : wanted;
  if (image.channels < channels) {
    return absl::InvalidArgumentError(StrCat("custom_tiff: the model takes ", channels,
                                             " channels (param channels) but the image has ",
                                             image.channels));
  }
  PercentileOptions options;
  options.low = params.value("low_percentile", 1.0);
  options.high = params.value("high_percentile", 99.0);
  ASSIGN_OR_RETURN(Image normalized, NormalizePercentiles(FirstChannels(image, channels), options));
  if (model.input.size) {
    ASSIGN_OR_RETURN(normalized, ToInputSize(normalized, model.input, model.input.interpolation));
  }
  RunnerInput input;
  input.items.emplace_back();
  input.items[0].push_back(ToTensor(normalized, model.input.layout));
  input.context = {{"channels", channels}};
  return input;
}

StatusOr<RunnerOutput> CustomTiffRunner::Postprocess(
    const Image& source, const RunnerInput& input, const std::vector<std::vector<Tensor>>& outputs,
    const ModelDescription& model, const nlohmann::json& params) const {
  ScoreMapRequirements requirements;
  requirements.allow_3d = true;
  ASSIGN_OR_RETURN(ScoreMap scores, ReadScoreMap(outputs, model, name(), requirements));
  const bool is_probability = params.value("output_is_probability", false);
  const double threshold = params.value("threshold", 0.5);
  const bool labels_output = params.value("output", std::string("probability")) == "labels";

  Image model_labels;
  if (scores.classes == 1) {
    model_labels = ThresholdPlane(scores, 0, is_probability, threshold, 1);
  } else {
    model_labels = ArgmaxLabels(scores);
  }
  ASSIGN_OR_RETURN(Image labels,
                   ToSourceSize(model_labels, source, Interpolation::kNearest, model.input));
  ASSIGN_OR_RETURN(Image preview, OverlayLabels(source, labels));
  const std::vector<int64_t> counts = CountLabels(labels);

  RunnerOutput out;
  out.summary = {
      {"width", source.width},
      {"height", source.height},
      {"pages", source.pages},
      {"channels", input.context.is_object() ? input.context.value("channels", source.channels)
                                             : source.channels},
      {"num_classes", scores.classes},
      {"output", labels_output ? "labels" : "probability"},
      {"foreground_fraction", ForegroundFraction(counts)},
      {"class_histogram", HistogramJson(counts)},
      {"classes", ClassesJson(counts, model)},
  };
  if (scores.classes == 1) out.summary["threshold"] = threshold;

  if (labels_output) {
    Image wide = MakeImage(labels.width, labels.height, 1, PixelType::kUInt16);
    const size_t n = static_cast<size_t>(labels.width) * labels.height;
    for (size_t i = 0; i < n; ++i) {
      wide.pixels<uint16_t>()[i] = labels.type == PixelType::kUInt8 ? labels.pixels<uint8_t>()[i]
                                                                    : labels.pixels<uint16_t>()[i];
    }
    out.artifacts.push_back({"class_mask", std::move(wide), ArtifactFormat::kTiff});
  } else {
    ASSIGN_OR_RETURN(Image probability,
                     ToSourceSize(ProbabilityImage(scores, is_probability), source,
                                  Interpolation::kBilinear, model.input));
    out.artifacts.push_back({"probability", std::move(probability), ArtifactFormat::kTiff});
  }
  out.artifacts.push_back({"preview", std::move(preview), ArtifactFormat::kPng});
  return out;
}

StatusOr<RunnerProbabilities> CustomTiffRunner::Probabilities(
    const Image& source, const RunnerInput& /*input*/,
    const std::vector<std::vector<Tensor>>& outputs, const ModelDescription& model,
    const nlohmann::json& params) const {
  ScoreMapRequirements requirements;
  requirements.allow_3d = true;
  ASSIGN_OR_RETURN(ScoreMap scores, ReadScoreMap(outputs, model, name(), requirements));
  RunnerProbabilities out;
  out.probabilities = ContentPart(
      ProbabilityImage(scores, params.value("output_is_probability", false)), source, model.input);
  out.kind = scores.classes == 1 ? ProbabilityKind::kBernoulli : ProbabilityKind::kCategorical;
  return out;
}

StatusOr<std::vector<Tensor>> CustomTiffRunner::AnnotationToTarget(
    const Image& annotation, const Image& source, const ModelDescription& model) const {
  if (annotation.type == PixelType::kFloat32) {
    return absl::InvalidArgumentError(
        "custom_tiff annotations must be 8- or 16-bit labels, not float");
  }
  ASSIGN_OR_RETURN(Image resized, AnnotationAtModelSize(annotation, source, model.input));
  const int h = resized.height, w = resized.width;
  Tensor foreground(DType::kFP32, {1, 1, h, w});
  Tensor classes(DType::kInt64, {1, h, w});
  float* f = foreground.data_as<float>();
  int64_t* c = classes.data_as<int64_t>();
  const bool wide = resized.type == PixelType::kUInt16;
  const int64_t unannotated = wide ? 65535 : 255;
  const size_t n = static_cast<size_t>(w) * h;
  for (size_t i = 0; i < n; ++i) {
    const int64_t v = wide ? resized.pixels<uint16_t>()[i] : resized.pixels<uint8_t>()[i];
    f[i] = v > 0 ? 1.0f : 0.0f;
    c[i] = v == unannotated ? kUnannotatedTarget : v;
  }
  std::vector<Tensor> targets;
  targets.push_back(std::move(foreground));
  targets.push_back(std::move(classes));
  return targets;
}

}  // namespace infera
