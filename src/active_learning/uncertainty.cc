#include "active_learning/uncertainty.h"

#include <algorithm>
#include <cmath>

namespace infera {

namespace {

// -p ln p, 0 at p = 0.
double PLogP(double p) { return p > 0.0 ? -p * std::log(p) : 0.0; }

double Clamp01(float v) {
  if (std::isnan(v)) return 0.0;
  return std::clamp(static_cast<double>(v), 0.0, 1.0);
}

}  // namespace

double BernoulliEntropy(double p) {
  if (std::isnan(p)) return 0.0;
  p = std::clamp(p, 0.0, 1.0);
  return PLogP(p) + PLogP(1.0 - p);
}

StatusOr<double> MeanEntropy(const Image& probabilities, ProbabilityKind kind) {
  if (probabilities.type != PixelType::kFloat32) {
    return absl::InvalidArgumentError("probabilities must be a float32 image");
  }
  const size_t pixels = static_cast<size_t>(probabilities.width) * probabilities.height;
  const size_t channels = static_cast<size_t>(std::max(0, probabilities.channels));
  if (pixels == 0 || channels == 0 || probabilities.width <= 0 || probabilities.height <= 0) {
    return absl::InvalidArgumentError("probabilities must have pixels and channels");
  }
  if (probabilities.data.size() < pixels * channels * sizeof(float)) {
    return absl::InvalidArgumentError("the probability image holds fewer samples than its size");
  }
  const float* p = probabilities.pixels<float>();
  double total = 0.0;
  for (size_t i = 0; i < pixels; ++i) {
    const float* px = p + i * channels;
    double h = 0.0;
    for (size_t c = 0; c < channels; ++c) {
      h += kind == ProbabilityKind::kBernoulli ? BernoulliEntropy(Clamp01(px[c]))
                                               : PLogP(Clamp01(px[c]));
    }
    total += h;
  }
  const double per_pixel = total / static_cast<double>(pixels);
  return kind == ProbabilityKind::kBernoulli ? per_pixel / static_cast<double>(channels)
                                             : per_pixel;
}

nlohmann::json UncertaintyScore::ToJson() const {
  nlohmann::json j = {{"entropy", entropy}};
  if (flow_error.has_value()) {
    j["flow_error"] = *flow_error;
    j["masks"] = masks;
  }
  return j;
}

StatusOr<UncertaintyScore> ScoreUncertainty(const RunnerProbabilities& probabilities) {
  UncertaintyScore s;
  ASSIGN_OR_RETURN(s.entropy, MeanEntropy(probabilities.probabilities, probabilities.kind));
  s.score = s.entropy;
  if (probabilities.flow_error.has_value()) {
    s.flow_error = *probabilities.flow_error;
    s.masks = probabilities.masks;
    if (std::isfinite(*s.flow_error)) s.score += *s.flow_error;
  }
  return s;
}

}  // namespace infera
