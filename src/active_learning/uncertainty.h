// Uncertainty of a model's prediction for one image, from its probabilities
// (runners/runner.h: RunnerProbabilities), for active learning's `uncertainty` strategy.
//
// Entropy is in nats (natural logarithm): a certain pixel is 0, a pixel at 0.5 / 0.5 is
// ln 2 ≈ 0.693 (= 1 bit); K equally likely classes give ln K.
//   kCategorical: per pixel H = -Σ_k p_k ln p_k over the channels (a distribution);
//   kBernoulli:   per pixel and channel H = -p ln p - (1 - p) ln(1 - p);
// the image's entropy is the mean over its pixels (and, for kBernoulli, channels).
// Probabilities are clamped to [0, 1]; a NaN counts as certain (0).
//
// Cellpose (flow_error set): score = mean cell-probability entropy + flow error, the
// flow error being Cellpose's QC (mean squared difference between the flows recomputed
// from the predicted masks and the network's flows / 5, averaged over the masks' pixels;
// Cellpose drops a mask above 0.4). Both are 0 for a perfect prediction and grow with
// doubt; the entropy is at most ln 2, and a flow error near Cellpose's threshold weighs
// about as much as an image of pixels at 0.5.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/status.h"
#include "imaging/image.h"
#include "runners/runner.h"

namespace infera {

// The entropy of a Bernoulli probability p, in nats.
double BernoulliEntropy(double p);

// Mean pixel entropy in nats of a float32 probability image read as `kind`.
// InvalidArgument for an image that is not float32 or has no pixels or channels.
StatusOr<double> MeanEntropy(const Image& probabilities, ProbabilityKind kind);

// UncertaintyScore: an image's uncertainty and what it is made of.
struct UncertaintyScore {
  double score = 0;    // higher: more to learn from annotating it
  double entropy = 0;  // mean pixel entropy, nats
  // Cellpose: the flow-error QC and the masks it is taken over.
  std::optional<double> flow_error;
  int64_t masks = 0;

  // {"entropy": ..., "flow_error": ..., "masks": ...} (the last two for cellpose).
  nlohmann::json ToJson() const;
};

// The score of `probabilities` as the header says. Errors as MeanEntropy.
StatusOr<UncertaintyScore> ScoreUncertainty(const RunnerProbabilities& probabilities);

}  // namespace infera
