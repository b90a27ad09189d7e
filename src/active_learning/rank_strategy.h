// Active learning's strategies and the order of a ranking (POST /api/datasets/{id}/rank):
//   uncertainty  the model's mean pixel entropy (active_learning/uncertainty.h)
//   tta          disagreement of flipped predictions (active_learning/flip_agreement.h)
//   random       a seeded random key per image (RandomScore)
//   first        dataset order (score 0)
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace infera {

enum class RankStrategy { kUncertainty, kTta, kRandom, kFirst };

// "uncertainty", "tta", "random", "first" — in this order.
const std::vector<std::string>& RankStrategyNames();
std::string_view RankStrategyName(RankStrategy strategy);
// InvalidArgument naming the strategies for any other text.
StatusOr<RankStrategy> ParseRankStrategy(std::string_view text);
// Whether the strategy runs the model (uncertainty, tta).
bool StrategyNeedsModel(RankStrategy strategy);

// A key in [0, 1) that depends only on (seed, file id): the same seed gives the same
// order whatever the dataset's other images are (SplitMix64 of seed and id).
double RandomScore(uint64_t seed, int64_t file_id);

// ScoredImage: one image of a ranking.
struct ScoredImage {
  int64_t file_id = 0;
  std::string filename;
  // Its place in dataset order (ties keep it).
  int64_t position = 0;
  // Higher first.
  double score = 0;
  // What the score is made of.
  nlohmann::json details = nlohmann::json::object();
};

// Sorts best first: higher score, then dataset order.
void SortBestFirst(std::vector<ScoredImage>& images);

}  // namespace infera
