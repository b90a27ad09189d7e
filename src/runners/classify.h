// ClassifyRunner ("classify"): an image classifier. Preprocess resizes and normalises
// the image as the model's input spec says; Postprocess takes the first output
// ([1, K] logits), applies softmax (unless params.apply_softmax is false, for models
// that already output probabilities) and returns the top_k classes:
//   {"predictions": [{"class_id": 3, "label": "disk", "confidence": 0.97}, ...]}
// Params: top_k (integer 1..1000, default 5; capped at K), apply_softmax (bool, true).
// Training: from per-image labels (TrainingSample::image_label, no mask target);
// training_loss() "cross_entropy".
// Stateless; thread-safe.
#pragma once

#include "runners/runner.h"

namespace infera {

class ClassifyRunner final : public Runner {
 public:
  std::string_view name() const override { return "classify"; }
  std::string_view description() const override {
    return "Image classification: softmax over the first output, top-k classes with labels.";
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
  std::string_view training_loss() const override { return "cross_entropy"; }
};

// Softmax of `logits` in double precision (max-subtracted), as float.
std::vector<float> Softmax(const float* logits, size_t n);

}  // namespace infera
