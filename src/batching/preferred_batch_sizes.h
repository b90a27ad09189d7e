// Preferred batch sizes: which batch sizes an engine runs best, chosen from the times it
// took for each size. Pure (no threads, no clocks): the timings come from the model's
// load (models/batch_size_timing.h), the choice feeds the batch policy's
// `preferred_batch_sizes` (batch_policy.h). Unit-tested in
// tests/batching/preferred_batch_sizes_test.cc.
//
// The rule: a size b is preferred unless its rows run faster as smaller batches, i.e.
// unless some split of b into smaller timed sizes (b = s1 + s2 + ..., each run as its
// own batch) takes less time in all than one batch of b — by more than
// kPreferredSplitMargin, so that noise does not split batches that run as fast whole
// (one batch of b also answers every row at once). Size 1 cannot be split and is always
// preferred. A size without a timing (the timing budget ran out before it) is neither
// beaten nor used to beat others: it stays preferred, as it would be without timings.
//
// Example (LibTorch, MobileNetV2, 2 cores): 1: 5 ms, 2: 15 ms, 4: 16 ms, 8: 92 ms →
// {1, 4}: 2 is beaten by 1 + 1 (10 ms), 8 by 4 + 4 (32 ms).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace infera {

// How much faster (as a fraction of the whole batch's time) a split must be to beat it.
inline constexpr double kPreferredSplitMargin = 0.05;

// BatchSizeTiming: the time one batch of `batch_size` rows took on the engine.
struct BatchSizeTiming {
  int64_t batch_size = 0;
  // Median of the timed runs, seconds; nullopt when the size was not timed.
  std::optional<double> seconds;
  int samples = 0;  // timed runs behind `seconds`
};

// The preferred sizes among 1..max_batch_size, ascending, from `timings` (any order; sizes
// outside 1..max_batch_size are ignored, missing sizes count as untimed). Always holds 1.
std::vector<int64_t> ChoosePreferredBatchSizes(const std::vector<BatchSizeTiming>& timings,
                                               int64_t max_batch_size);

}  // namespace infera
