#include "runners/multiclass_argmax.h"

#include "common/strings.h"
#include "imaging/overlay.h"
#include "imaging/preprocess.h"
#include "runners/model_description.h"
#include "runners/params.h"
#include "runners/segmentation_util.h"

namespace infera {

namespace {

const ParamSchema& Schema() {
  static const ParamSchema schema(
      "multiclass_argmax",
      {
          BoolParam("output_is_probability", false,
                    "true when the model already outputs per-class probabilities (no softmax)"),
      });
  return schema;
}

}  // namespace

nlohmann::json MulticlassArgmaxRunner::params_schema() const { return Schema().ToJsonSchema(); }

StatusOr<nlohmann::json> MulticlassArgmaxRunner::ValidateParams(
    const nlohmann::json& params, const ModelDescription& /*model*/) const {
  return Schema().Validate(params);
}

StatusOr<RunnerInput> MulticlassArgmaxRunner::Preprocess(const Image& image,
                                                         const ModelDescription& model,
                                                         const nlohmann::json& /*params*/) const {
  ASSIGN_OR_RETURN(Tensor tensor, ImageToTensor(image, model.input));
  RunnerInput input;
  input.items.emplace_back();
  input.items[0].push_back(std::move(tensor));
  return input;
}

StatusOr<RunnerOutput> MulticlassArgmaxRunner::Postprocess(
    const Image& source, const RunnerInput& /*input*/,
    const std::vector<std::vector<Tensor>>& outputs, const ModelDescription& model,
    const nlohmann::json& /*params*/) const {
  ScoreMapRequirements requirements;
  requirements.min_classes = 2;
  ASSIGN_OR_RETURN(ScoreMap scores, ReadScoreMap(outputs, model, name(), requirements));
  ASSIGN_OR_RETURN(
      Image mask, ToSourceSize(ArgmaxLabels(scores), source, Interpolation::kNearest, model.input));
  ASSIGN_OR_RETURN(Image preview, OverlayLabels(source, mask));
  const std::vector<int64_t> counts = CountLabels(mask);
  RunnerOutput out;
  out.summary = {
      {"width", source.width},
      {"height", source.height},
      {"num_classes", scores.classes},
      {"foreground_fraction", ForegroundFraction(counts)},
      {"class_histogram", HistogramJson(counts)},
      {"classes", ClassesJson(counts, model)},
  };
  out.artifacts.push_back({"class_mask", std::move(mask), ArtifactFormat::kPng});
  out.artifacts.push_back({"preview", std::move(preview), ArtifactFormat::kPng});
  return out;
}

StatusOr<RunnerProbabilities> MulticlassArgmaxRunner::Probabilities(
    const Image& source, const RunnerInput& /*input*/,
    const std::vector<std::vector<Tensor>>& outputs, const ModelDescription& model,
    const nlohmann::json& params) const {
  ScoreMapRequirements requirements;
  requirements.min_classes = 2;
  ASSIGN_OR_RETURN(ScoreMap scores, ReadScoreMap(outputs, model, name(), requirements));
  RunnerProbabilities out;
  out.probabilities = ContentPart(
      ProbabilityImage(scores, params.value("output_is_probability", false)), source, model.input);
  out.kind = ProbabilityKind::kCategorical;
  return out;
}

StatusOr<std::vector<Tensor>> MulticlassArgmaxRunner::AnnotationToTarget(
    const Image& annotation, const Image& source, const ModelDescription& model) const {
  if (annotation.type == PixelType::kFloat32) {
    return absl::InvalidArgumentError(
        "multiclass_argmax annotations must be 8- or 16-bit class indices, not float");
  }
  ASSIGN_OR_RETURN(Image resized, AnnotationAtModelSize(annotation, source, model.input));
  if (!model.labels.empty()) {
    // Every annotated class must exist, also where the resize drops pixels.
    const std::vector<int64_t> counts = CountLabels(annotation);
    const size_t unannotated = annotation.type == PixelType::kUInt8 ? 255 : 65535;
    for (size_t k = model.labels.size(); k < counts.size(); ++k) {
      if (counts[k] > 0 && k != unannotated) {
        return absl::InvalidArgumentError(StrCat("the annotation has class ", k, " but model '",
                                                 model.name, "' has ", model.labels.size(),
                                                 " classes"));
      }
    }
  }
  Tensor target(DType::kInt64, {1, resized.height, resized.width});
  int64_t* t = target.data_as<int64_t>();
  const size_t n = static_cast<size_t>(resized.width) * resized.height;
  for (size_t i = 0; i < n; ++i) {
    if (resized.type == PixelType::kUInt8) {
      const uint8_t v = resized.pixels<uint8_t>()[i];
      t[i] = v == 255 ? kUnannotatedTarget : v;
    } else {
      const uint16_t v = resized.pixels<uint16_t>()[i];
      t[i] = v == 65535 ? kUnannotatedTarget : v;
    }
  }
  std::vector<Tensor> targets;
  targets.push_back(std::move(target));
  return targets;
}

}  // namespace infera
