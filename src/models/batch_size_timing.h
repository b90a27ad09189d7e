// Batch-size timing: at load, how long the model's own engine instance takes for each
// batch size 1..max_batch_size, and the preferred batch sizes the batcher then cuts
// (batching/preferred_batch_sizes.h for the choice, batching/batch_policy.h rule 5 for
// the cutting). model.yaml `batching.preferred_batch_sizes` says where the sizes come
// from: auto (timed here, or read from the timing cache), a list, or none.
//
// Timing (TimeBatchSizes): zero inputs of the warm-up's shape, on the instance as served
// (its device, its threads, its engine lane). Sizes in ascending order, one timed forward
// each per round, up to kMaxTimingSamples rounds; a size the warm-up did not run gets one
// untimed forward first (an engine's first run at a new shape may prepare it). It stops
// when the budget is spent (checked before each forward, so one forward may overrun it);
// sizes never reached stay untimed. Each size's time is the lower median of its samples,
// which drops the slow outliers another process on the machine adds.
//
// Thread-safety: the functions are reentrant; the backend is used by the calling thread
// only (the caller must not run batches on it at the same time).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "batching/preferred_batch_sizes.h"
#include "common/status.h"
#include "models/model_config.h"
#include "tensor/tensor.h"

namespace infera {

inline constexpr int kMaxTimingSamples = 5;

struct BatchTimingOptions {
  int64_t max_batch_size = 1;
  std::chrono::milliseconds budget{500};
  // Sizes the backend has already run (the warm-up's): no untimed first forward.
  std::vector<int64_t> warm_sizes;
};

struct BatchTimingResult {
  std::vector<BatchSizeTiming> timings;  // one per size 1..max_batch_size, ascending
  std::chrono::milliseconds spent{0};
  // Empty, or why timing stopped before the budget (a forward failed).
  std::string stopped;
};

// Times batches of zeros of (size, row_shape...) and `dtype` on `backend`. A failing
// forward stops the timing (`stopped` says why; the sizes it did not time stay untimed):
// it is the load's warm-up that decides whether a model is servable, not this.
BatchTimingResult TimeBatchSizes(Backend& backend, DType dtype, const Shape& row_shape,
                                 const BatchTimingOptions& options);

// BatchSizeChoice: where a loaded version's preferred batch sizes came from, and them.
struct BatchSizeChoice {
  PreferredBatchSizesMode mode = PreferredBatchSizesMode::kAuto;
  // The sizes the batcher prefers, ascending; empty: any size up to max_batch_size.
  std::vector<int64_t> preferred;
  // kAuto only: "measured" (timed at this load), "cache" (read from the timing cache),
  // or "" (not timed: `note` says why).
  std::string source;
  std::vector<BatchSizeTiming> timings;  // kAuto: one per size 1..max_batch_size
  std::chrono::milliseconds budget{0};   // kAuto: the budget it was timed with
  std::chrono::milliseconds spent{0};    // time this load spent timing (0 from the cache)
  std::string note;                      // why not timed, or why timing stopped early
};

// The preferred batch sizes of `config`, for a model whose instance `backend` has been
// warmed up. kList: the listed sizes up to max_batch_size; kNone: none; kAuto: the
// timings from `cache_dir` (models/batch_timing_cache.h) when it holds them for this
// artifact, device, thread count and input, else timed now and stored there (an empty
// `cache_dir` neither reads nor stores; a cache that cannot be written is logged and
// does not fail the load). Not timed when max_batch_size is 1 or warm-up is disabled.
BatchSizeChoice ChooseBatchSizes(const ModelConfig& config, const Shape& row_shape,
                                 Backend& backend, const std::filesystem::path& cache_dir);

}  // namespace infera
