#include "active_learning/rank_strategy.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/strings.h"

namespace infera {

const std::vector<std::string>& RankStrategyNames() {
  static const std::vector<std::string> names = {"uncertainty", "tta", "random", "first"};
  return names;
}

std::string_view RankStrategyName(RankStrategy strategy) {
  switch (strategy) {
    case RankStrategy::kUncertainty:
      return "uncertainty";
    case RankStrategy::kTta:
      return "tta";
    case RankStrategy::kRandom:
      return "random";
    case RankStrategy::kFirst:
      return "first";
  }
  return "first";
}

StatusOr<RankStrategy> ParseRankStrategy(std::string_view text) {
  for (RankStrategy s : {RankStrategy::kUncertainty, RankStrategy::kTta, RankStrategy::kRandom,
                         RankStrategy::kFirst}) {
    if (text == RankStrategyName(s)) return s;
  }
  return absl::InvalidArgumentError(StrCat("unknown strategy '", text.substr(0, 64), "' (expected ",
                                           StrJoin(RankStrategyNames(), ", "), ")"));
}

bool StrategyNeedsModel(RankStrategy strategy) {
  return strategy == RankStrategy::kUncertainty || strategy == RankStrategy::kTta;
}

double RandomScore(uint64_t seed, int64_t file_id) {
  // SplitMix64 (Steele, Lea, Flood 2014) over the seed and the id.
  uint64_t z =
      seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(file_id) + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;  // 53 bits: [0, 1)
}

void SortBestFirst(std::vector<ScoredImage>& images) {
  // NaN sorts last (as -infinity), so the order stays a strict weak order.
  auto key = [](double score) {
    return std::isnan(score) ? -std::numeric_limits<double>::infinity() : score;
  };
  std::stable_sort(images.begin(), images.end(), [&](const ScoredImage& a, const ScoredImage& b) {
    if (key(a.score) != key(b.score)) return key(a.score) > key(b.score);
    return a.position < b.position;
  });
}

}  // namespace infera
