#include "training/split.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace infera {

SampleSplit SplitSamples(int count, double validation_fraction, uint64_t seed) {
  SampleSplit split;
  if (count <= 0) return split;
  if (count == 1) {
    split.train = {0};
    split.validation = {0};
    return split;
  }
  int val = static_cast<int>(std::lround(count * validation_fraction));
  val = std::clamp(val, 1, count - 1);
  std::vector<int> order(static_cast<size_t>(count));
  std::iota(order.begin(), order.end(), 0);
  // Fisher-Yates with our own index draws: std::shuffle's use of the engine is not
  // specified, so its order could differ between standard libraries.
  std::mt19937_64 rng(seed ^ 0x5eed5eed5eedull);
  for (int i = count - 1; i > 0; --i) {
    const int j = static_cast<int>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  split.validation.assign(order.begin(), order.begin() + val);
  split.train.assign(order.begin() + val, order.end());
  std::sort(split.validation.begin(), split.validation.end());
  std::sort(split.train.begin(), split.train.end());
  return split;
}

}  // namespace infera
