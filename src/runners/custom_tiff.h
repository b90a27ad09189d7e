// CustomTiffRunner ("custom_tiff"): segmentation of scientific images (16-bit, float,
// multi-channel TIFFs such as fluorescence microscopy) by a fully convolutional model,
// CSBDeep/Cellpose style, with TIFF results at the source resolution.
//
// Preprocess: the first `channels` channels of the image (param; 0 = all of them) are
// each percentile-normalised (imaging/normalize.h: (x - p_low) / (p_high - p_low), 1st and
// 99th percentiles by default, not clipped; a flat channel becomes 0) at the source size,
// then resized to input.size with input.interpolation when the spec has a size
// (`size: keep` feeds the source size), into a FP32 [1, C, H, W] tensor (or [1, H, W, C]
// for layout NHWC). The input spec's color, scale, mean and std do not apply (percentile
// normalisation replaces them): the model receives exactly C channels, C being the
// `channels` param or the image's channel count. The spec cannot express C (its colour
// means 1 or 3 channels), hence the param. Only the first page of a multi-page TIFF is
// processed (the summary reports `pages`). Any decodable image works, not only TIFF.
// Postprocess: the first output, FP32 [1, K, H, W] or [1, H, W] (K = 1):
//   output "probability": the probability map as a float32 TIFF of K channels at the
//     source size (bilinear when the model's output size differs): sigmoid of the scores
//     for K = 1, softmax over the classes for K > 1, the scores unchanged when
//     output_is_probability. Artifact kind "probability".
//   output "labels": a 16-bit 1-channel TIFF of class labels at the source size (nearest):
//     K = 1: 1 where the probability is above `threshold`, else 0; K > 1: the argmax
//     (ties to the lowest class). Artifact kind "class_mask".
// Both also give a "preview" (8-bit RGB PNG: the labels over the contrast-stretched
// source), and the summary, computed from the labels in both cases:
//   {"width", "height", "pages", "channels": C, "num_classes": K, "output",
//    "foreground_fraction", "class_histogram": {"<k>": pixels}, "classes": [...] (as
//    multiclass_argmax), "threshold" (K = 1 only)}.
// Params: output ("probability" | "labels", default "probability"), output_is_probability
// (bool, false), threshold (number in [0, 1], 0.5), channels (integer 0..256, 0),
// low_percentile (number 0..100, 1), high_percentile (number 0..100, 99; above
// low_percentile).
// Errors: InvalidArgument for bad params or an image with fewer channels than
// `channels`; Internal (naming the model) for a spec whose dtype is not float32 and for
// outputs of another shape or type.
// Training (training/losses.h: the task follows the model's output type): AnnotationToTarget
// gives two targets at the model input size (the annotation's channel 0, 8- or 16-bit,
// resized nearest as the image is), one per output type:
//   [0] FP32 [1, 1, h, w], 1.0 where the annotation is > 0 (every non-zero label,
//       255 included: a 0/255 mask is a binary mask) — for K = 1 (BCE + Dice; on the
//       probabilities when output_is_probability);
//   [1] INT64 [1, h, w] class indices, kUnannotatedTarget where the annotation is 255
//       (8-bit) or 65535 (16-bit): pixels nobody annotated, which the loss ignores — for
//       K > 1 (cross-entropy).
// The trainer knows K (it runs the model) and takes the one that applies; it refuses a
// class index >= K. InvalidArgument for float annotations (labels are integers).
// training_loss() "by_output_type".
// Stateless; thread-safe.
#pragma once

#include "runners/runner.h"

namespace infera {

class CustomTiffRunner final : public Runner {
 public:
  std::string_view name() const override { return "custom_tiff"; }
  std::string_view description() const override {
    return "Scientific images (16-bit, multi-channel TIFF): per-channel percentile "
           "normalisation, probability or label maps as TIFF at the source resolution.";
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
  std::string_view training_loss() const override { return "by_output_type"; }
};

}  // namespace infera
