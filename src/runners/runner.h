// Runner: the strategy that turns images into model inputs and model outputs into
// results for one kind of model (classify today; binary_sigmoid, multiclass_argmax,
// cellpose... are added as files plus one line in runner_registry.cc).
//
// Runners are stateless singletons: every method is const and thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "imaging/image.h"
#include "tensor/tensor.h"

namespace infera {

struct ModelConfig;

class Runner {
 public:
  virtual ~Runner() = default;

  virtual std::string_view name() const = 0;
  virtual std::string_view description() const = 0;
  // JSON Schema of the runner's params (an object schema with defaults).
  virtual nlohmann::json params_schema() const = 0;

  // Checks params against the schema and fills defaults; InvalidArgument naming the
  // param and why for unknown or ill-typed params.
  virtual StatusOr<nlohmann::json> ValidateParams(const nlohmann::json& params,
                                                  const ModelConfig& config) const = 0;

  // Turns one decoded image into the model's input tensors (batch dimension 1).
  virtual StatusOr<std::vector<Tensor>> Preprocess(const Image& image,
                                                   const ModelConfig& config) const = 0;

  // Turns the model's outputs for one image (batch dimension 1) into a JSON result.
  // `params` has passed ValidateParams.
  virtual StatusOr<nlohmann::json> Postprocess(const std::vector<Tensor>& outputs,
                                               const ModelConfig& config,
                                               const nlohmann::json& params) const = 0;
};

}  // namespace infera
