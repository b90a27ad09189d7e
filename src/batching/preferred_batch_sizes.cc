#include "batching/preferred_batch_sizes.h"

#include <algorithm>
#include <limits>

namespace infera {

std::vector<int64_t> ChoosePreferredBatchSizes(const std::vector<BatchSizeTiming>& timings,
                                               int64_t max_batch_size) {
  const int64_t n = std::max<int64_t>(1, max_batch_size);
  const double kUnknown = std::numeric_limits<double>::infinity();
  // time[b]: the measured time of one batch of b rows (infinity: untimed).
  std::vector<double> time(static_cast<size_t>(n + 1), kUnknown);
  for (const BatchSizeTiming& t : timings) {
    if (t.batch_size >= 1 && t.batch_size <= n && t.seconds) {
      time[static_cast<size_t>(t.batch_size)] = *t.seconds;
    }
  }
  // best[b]: the least time in which b rows run as batches of timed sizes (one batch of
  // b, or the best split of b into two parts, each run at its own best).
  std::vector<double> best(static_cast<size_t>(n + 1), kUnknown);
  std::vector<int64_t> preferred;
  for (int64_t b = 1; b <= n; ++b) {
    double split = kUnknown;
    for (int64_t s = 1; s <= b / 2; ++s) {
      split = std::min(split, best[static_cast<size_t>(s)] + best[static_cast<size_t>(b - s)]);
    }
    const double whole = time[static_cast<size_t>(b)];
    best[static_cast<size_t>(b)] = std::min(whole, split);
    const bool untimed = whole == kUnknown;
    const bool beaten = !untimed && split < whole * (1.0 - kPreferredSplitMargin);
    if (b == 1 || !beaten) preferred.push_back(b);
  }
  return preferred;
}

}  // namespace infera
