#include "runners/classify.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/strings.h"
#include "imaging/preprocess.h"
#include "runners/model_description.h"

namespace infera {

std::vector<float> Softmax(const float* logits, size_t n) {
  std::vector<float> out(n);
  if (n == 0) return out;
  const float max = *std::max_element(logits, logits + n);
  double sum = 0;
  std::vector<double> e(n);
  for (size_t i = 0; i < n; ++i) {
    e[i] = std::exp(static_cast<double>(logits[i]) - max);
    sum += e[i];
  }
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(e[i] / sum);
  return out;
}

nlohmann::json ClassifyRunner::params_schema() const {
  return {
      {"type", "object"},
      {"additionalProperties", false},
      {"properties",
       {{"top_k",
         {{"type", "integer"},
          {"minimum", 1},
          {"maximum", 1000},
          {"default", 5},
          {"description", "how many classes to return, best first"}}},
        {"apply_softmax",
         {{"type", "boolean"},
          {"default", true},
          {"description", "false when the model already outputs probabilities"}}}}},
  };
}

StatusOr<nlohmann::json> ClassifyRunner::ValidateParams(const nlohmann::json& params,
                                                        const ModelDescription& /*model*/) const {
  nlohmann::json out = {{"top_k", 5}, {"apply_softmax", true}};
  if (params.is_null()) return out;
  if (!params.is_object()) return absl::InvalidArgumentError("params must be a JSON object");
  for (const auto& [key, value] : params.items()) {
    if (key == "top_k") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 1000) {
        return absl::InvalidArgumentError("top_k must be an integer between 1 and 1000");
      }
      out["top_k"] = value.get<int64_t>();
    } else if (key == "apply_softmax") {
      if (!value.is_boolean()) return absl::InvalidArgumentError("apply_softmax must be a boolean");
      out["apply_softmax"] = value.get<bool>();
    } else {
      return absl::InvalidArgumentError(
          StrCat("unknown param '", key, "' for runner classify (known: top_k, apply_softmax)"));
    }
  }
  return out;
}

StatusOr<RunnerInput> ClassifyRunner::Preprocess(const Image& image, const ModelDescription& model,
                                                 const nlohmann::json& /*params*/) const {
  ASSIGN_OR_RETURN(Tensor tensor, ImageToTensor(image, model.input));
  RunnerInput input;
  input.items.emplace_back();
  input.items[0].push_back(std::move(tensor));
  return input;
}

StatusOr<RunnerOutput> ClassifyRunner::Postprocess(const Image& /*source*/,
                                                   const RunnerInput& /*input*/,
                                                   const std::vector<std::vector<Tensor>>& items,
                                                   const ModelDescription& model,
                                                   const nlohmann::json& params) const {
  if (items.size() != 1 || items[0].empty()) {
    return absl::InternalError(StrCat("model '", model.name, "' returned no output"));
  }
  const Tensor& logits = items[0][0];
  if (logits.dtype() != DType::kFP32 || logits.shape().size() != 2 || logits.shape()[0] != 1) {
    return absl::InternalError(StrCat("classify expects a [1, classes] FP32 output; model '",
                                      model.name, "' returned ", DTypeName(logits.dtype()), " ",
                                      ShapeToString(logits.shape())));
  }
  const size_t k = static_cast<size_t>(logits.shape()[1]);
  std::vector<float> probs;
  if (params.value("apply_softmax", true)) {
    probs = Softmax(logits.data_as<float>(), k);
  } else {
    probs.assign(logits.data_as<float>(), logits.data_as<float>() + k);
  }
  std::vector<size_t> order(k);
  std::iota(order.begin(), order.end(), 0);
  const size_t top = std::min<size_t>(k, params.value("top_k", 5));
  std::partial_sort(
      order.begin(), order.begin() + static_cast<long>(top), order.end(),
      [&](size_t a, size_t b) { return probs[a] > probs[b] || (probs[a] == probs[b] && a < b); });
  nlohmann::json predictions = nlohmann::json::array();
  for (size_t i = 0; i < top; ++i) {
    const size_t c = order[i];
    predictions.push_back(
        {{"class_id", c},
         {"label", c < model.labels.size() ? model.labels[c] : StrCat("class_", c)},
         {"confidence", probs[c]}});
  }
  RunnerOutput out;
  out.summary = {{"predictions", std::move(predictions)}};
  return out;
}

StatusOr<RunnerProbabilities> ClassifyRunner::Probabilities(
    const Image& /*source*/, const RunnerInput& /*input*/,
    const std::vector<std::vector<Tensor>>& items, const ModelDescription& model,
    const nlohmann::json& params) const {
  if (items.size() != 1 || items[0].empty()) {
    return absl::InternalError(StrCat("model '", model.name, "' returned no output"));
  }
  const Tensor& logits = items[0][0];
  if (logits.dtype() != DType::kFP32 || logits.shape().size() != 2 || logits.shape()[0] != 1 ||
      logits.shape()[1] < 1 || logits.shape()[1] > INT32_MAX) {
    return absl::InternalError(StrCat("classify expects a [1, classes] FP32 output; model '",
                                      model.name, "' returned ", DTypeName(logits.dtype()), " ",
                                      ShapeToString(logits.shape())));
  }
  const size_t k = static_cast<size_t>(logits.shape()[1]);
  std::vector<float> probs;
  if (params.value("apply_softmax", true)) {
    probs = Softmax(logits.data_as<float>(), k);
  } else {
    probs.assign(logits.data_as<float>(), logits.data_as<float>() + k);
  }
  RunnerProbabilities out;
  out.probabilities = MakeImage(1, 1, static_cast<int>(k), PixelType::kFloat32);
  std::copy(probs.begin(), probs.end(), out.probabilities.pixels<float>());
  out.kind = ProbabilityKind::kCategorical;
  return out;
}

}  // namespace infera
