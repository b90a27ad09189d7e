// BinarySigmoidRunner ("binary_sigmoid"): foreground/background segmentation with one
// logit per pixel (a U-Net with one output channel).
//
// Preprocess: the model's input spec (imaging/preprocess.h): colour (gray or rgb),
// resize to input.size, scale, mean/std; one model call.
// Postprocess: the first output, FP32 [1, 1, H, W] or [1, H, W] (any H, W: the model's
// output resolution need not be its input's) -> sigmoid (skipped when
// output_is_probability) -> `> threshold` -> a 0/255 mask -> resized back to the source
// size (nearest). Artifacts: "class_mask" (8-bit 1-channel PNG, 0 or 255, source size)
// and "preview" (8-bit RGB PNG: the source with the foreground in LabelColor(1), red,
// half opaque; 16-bit and float sources contrast-stretched). Summary:
//   {"width": W, "height": H, "foreground_fraction": f,
//    "class_histogram": {"0": n0, "255": n1}, "threshold": t, "foreground_color": "#e6194b"}
// (the histogram always has both keys).
// Params: threshold (number in [0, 1], default 0.5), output_is_probability (bool, false).
// Errors: InvalidArgument for bad params or an image the spec cannot take; Internal
// (naming the model, dtype and shape) for outputs of another shape or type.
// Training: AnnotationToTarget gives a FP32 [1, 1, h, w] target at the model input size:
// 1.0 where the annotation's channel 0, resized nearest, is > 0; loss "bce_with_logits".
// Stateless; thread-safe.
#pragma once

#include "runners/runner.h"

namespace infera {

class BinarySigmoidRunner final : public Runner {
 public:
  std::string_view name() const override { return "binary_sigmoid"; }
  std::string_view description() const override {
    return "Binary segmentation: sigmoid of a one-channel logit map, thresholded into a "
           "0/255 mask at the image's size, with a colour preview.";
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
  std::string_view training_loss() const override { return "bce_with_logits"; }
};

}  // namespace infera
