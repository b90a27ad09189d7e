#include "runners/binary_sigmoid.h"

#include <span>

#include "imaging/overlay.h"
#include "imaging/preprocess.h"
#include "runners/model_description.h"
#include "runners/params.h"
#include "runners/segmentation_util.h"

namespace infera {

namespace {

constexpr uint8_t kForeground = 255;

const ParamSchema& Schema() {
  static const ParamSchema schema(
      "binary_sigmoid",
      {
          NumberParam("threshold", 0.5, 0.0, 1.0,
                      "a pixel is foreground when its probability is above this"),
          BoolParam("output_is_probability", false,
                    "true when the model already outputs probabilities (no sigmoid)"),
      });
  return schema;
}

}  // namespace

nlohmann::json BinarySigmoidRunner::params_schema() const { return Schema().ToJsonSchema(); }

StatusOr<nlohmann::json> BinarySigmoidRunner::ValidateParams(
    const nlohmann::json& params, const ModelDescription& /*model*/) const {
  return Schema().Validate(params);
}

StatusOr<RunnerInput> BinarySigmoidRunner::Preprocess(const Image& image,
                                                      const ModelDescription& model,
                                                      const nlohmann::json& /*params*/) const {
  ASSIGN_OR_RETURN(Tensor tensor, ImageToTensor(image, model.input));
  RunnerInput input;
  input.items.emplace_back();
  input.items[0].push_back(std::move(tensor));
  return input;
}

StatusOr<RunnerOutput> BinarySigmoidRunner::Postprocess(
    const Image& source, const RunnerInput& /*input*/,
    const std::vector<std::vector<Tensor>>& outputs, const ModelDescription& model,
    const nlohmann::json& params) const {
  ScoreMapRequirements requirements;
  requirements.max_classes = 1;
  requirements.allow_3d = true;
  ASSIGN_OR_RETURN(ScoreMap scores, ReadScoreMap(outputs, model, name(), requirements));
  const double threshold = params.value("threshold", 0.5);
  const Image model_mask = ThresholdPlane(scores, 0, params.value("output_is_probability", false),
                                          threshold, kForeground);
  ASSIGN_OR_RETURN(Image mask,
                   ToSourceSize(model_mask, source, Interpolation::kNearest, model.input));

  // The preview draws label 1 (the first palette colour) where the mask is set.
  Image labels = mask;
  for (uint8_t& v : std::span(labels.pixels<uint8_t>(), labels.data.size())) v = v != 0;
  ASSIGN_OR_RETURN(Image preview, OverlayLabels(source, labels));

  const std::vector<int64_t> counts = CountLabels(mask);
  RunnerOutput out;
  out.summary = {
      {"width", source.width},
      {"height", source.height},
      {"foreground_fraction", ForegroundFraction(counts)},
      {"class_histogram", HistogramJson(counts, {0, kForeground})},
      {"threshold", threshold},
      {"foreground_color", ColorHex(LabelColor(1))},
  };
  out.artifacts.push_back({"class_mask", std::move(mask), ArtifactFormat::kPng});
  out.artifacts.push_back({"preview", std::move(preview), ArtifactFormat::kPng});
  return out;
}

StatusOr<RunnerProbabilities> BinarySigmoidRunner::Probabilities(
    const Image& source, const RunnerInput& /*input*/,
    const std::vector<std::vector<Tensor>>& outputs, const ModelDescription& model,
    const nlohmann::json& params) const {
  ScoreMapRequirements requirements;
  requirements.max_classes = 1;
  requirements.allow_3d = true;
  ASSIGN_OR_RETURN(ScoreMap scores, ReadScoreMap(outputs, model, name(), requirements));
  RunnerProbabilities out;
  out.probabilities = ContentPart(
      ProbabilityImage(scores, params.value("output_is_probability", false)), source, model.input);
  out.kind = ProbabilityKind::kBernoulli;
  return out;
}

StatusOr<std::vector<Tensor>> BinarySigmoidRunner::AnnotationToTarget(
    const Image& annotation, const Image& source, const ModelDescription& model) const {
  ASSIGN_OR_RETURN(Image resized, AnnotationAtModelSize(annotation, source, model.input));
  Tensor target(DType::kFP32, {1, 1, resized.height, resized.width});
  float* t = target.data_as<float>();
  const size_t n = static_cast<size_t>(resized.width) * resized.height;
  for (size_t i = 0; i < n; ++i) {
    switch (resized.type) {
      case PixelType::kUInt8:
        t[i] = resized.pixels<uint8_t>()[i] > 0 ? 1.0f : 0.0f;
        break;
      case PixelType::kUInt16:
        t[i] = resized.pixels<uint16_t>()[i] > 0 ? 1.0f : 0.0f;
        break;
      case PixelType::kFloat32:
        t[i] = resized.pixels<float>()[i] > 0.0f ? 1.0f : 0.0f;
        break;
    }
  }
  std::vector<Tensor> targets;
  targets.push_back(std::move(target));
  return targets;
}

}  // namespace infera
