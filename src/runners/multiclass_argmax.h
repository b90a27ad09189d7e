// MulticlassArgmaxRunner ("multiclass_argmax"): semantic segmentation with K class
// scores per pixel (class 0 is background).
//
// Preprocess: the model's input spec (imaging/preprocess.h): colour, resize to
// input.size, scale, mean/std (e.g. ImageNet's); one model call. Any decodable image
// (PNG, JPEG, TIFF) works; its channels map to the spec's colour as preprocess.h says.
// Postprocess: the first output, FP32 [1, K, H, W] with K >= 2 (logits or probabilities:
// argmax does not care) -> per-pixel argmax (ties to the lowest class) -> resized back to
// the source size (nearest). Artifacts: "class_mask" (1-channel PNG of class indices at
// the source size: 8-bit when K <= 256, 16-bit otherwise) and "preview" (8-bit RGB PNG:
// class k >= 1 drawn in LabelColor(k), half opaque, over the source). Summary:
//   {"width", "height", "num_classes": K, "foreground_fraction": (pixels not class 0),
//    "class_histogram": {"<k>": pixels} (classes present),
//    "classes": [{"class_id", "label", "pixels", "fraction", "color"}] (classes present;
//    labels from model.labels, else "class_<k>"; "color" is the preview's "#rrggbb",
//    null for class 0): the preview's legend}.
// Params: output_is_probability (bool, false): the scores are per-class probabilities
// already. The mask is their argmax either way; Probabilities (active learning) takes
// them unchanged when true, else their per-pixel softmax. Any other param is refused.
// Errors: InvalidArgument for params or an image the spec cannot take; Internal (naming
// the model, dtype and shape) for outputs of another shape or type, or K > 65536.
// Training: AnnotationToTarget gives an INT64 [1, h, w] target of class indices at the
// model input size (the annotation's channel 0, 8- or 16-bit, resized nearest), with
// kUnannotatedTarget where the annotation is 255 (8-bit) or 65535 (16-bit): pixels
// nobody annotated, which the loss ignores; InvalidArgument for float annotations or,
// when the model has labels, a class index >= the number of labels (the unannotated
// value aside). Loss "cross_entropy".
// Stateless; thread-safe.
#pragma once

#include "runners/runner.h"

namespace infera {

// The target of unannotated pixels (PyTorch's default ignore_index of cross_entropy).
inline constexpr int64_t kUnannotatedTarget = -100;

class MulticlassArgmaxRunner final : public Runner {
 public:
  std::string_view name() const override { return "multiclass_argmax"; }
  std::string_view description() const override {
    return "Semantic segmentation: per-pixel argmax over class scores, a class-index mask at "
           "the image's size, a colour preview and a class histogram with labels.";
  }
  nlohmann::json params_schema() const override;
  StatusOr<nlohmann::json> ValidateParams(const nlohmann::json& params,
                                          const ModelDescription& model) const override;
  StatusOr<RunnerInput> Preprocess(const Image& image, const ModelDescription& model,
                                   const nlohmann::json& params) const override;
  StatusOr<RunnerOutput> Postprocess(const Image& source, const RunnerInput& input,
                                     const std::vector<std::vector<Tensor>>& outputs,
                                     const ModelDescription& model,
                                     const nlohmann::json& params) const override;
  StatusOr<RunnerProbabilities> Probabilities(const Image& source, const RunnerInput& input,
                                              const std::vector<std::vector<Tensor>>& outputs,
                                              const ModelDescription& model,
                                              const nlohmann::json& params) const override;
  StatusOr<std::vector<Tensor>> AnnotationToTarget(const Image& annotation, const Image& source,
                                                   const ModelDescription& model) const override;
  std::string_view training_loss() const override { return "cross_entropy"; }
};

}  // namespace infera
