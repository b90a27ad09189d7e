#include "models/batch_size_timing.h"

#include <algorithm>

#include "common/logging.h"
#include "common/strings.h"
#include "models/batch_timing_cache.h"

namespace infera {

namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds Millis(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

}  // namespace

BatchTimingResult TimeBatchSizes(Backend& backend, DType dtype, const Shape& row_shape,
                                 const BatchTimingOptions& options) {
  const int64_t n = std::max<int64_t>(1, options.max_batch_size);
  BatchTimingResult result;
  std::vector<std::vector<double>> samples(static_cast<size_t>(n + 1));
  std::vector<Tensor> inputs(static_cast<size_t>(n + 1));  // one zero batch per size
  auto batch_of = [&](int64_t b) {
    Tensor& t = inputs[static_cast<size_t>(b)];
    if (t.shape().empty()) {
      Shape shape = row_shape;
      shape.insert(shape.begin(), b);
      t = Tensor(dtype, std::move(shape));
    }
    return std::vector<Tensor>{t};
  };
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + options.budget;
  bool done = false;
  for (int round = 0; round < kMaxTimingSamples && !done; ++round) {
    for (int64_t b = 1; b <= n; ++b) {
      if (Clock::now() >= end) {
        done = true;
        break;
      }
      const bool warm = std::find(options.warm_sizes.begin(), options.warm_sizes.end(), b) !=
                        options.warm_sizes.end();
      if (round == 0 && !warm) {
        std::vector<Tensor> first = batch_of(b);
        Status ran = backend.Execute(first).status();
        if (!ran.ok()) {
          result.stopped = StrCat("a batch of ", b, " failed: ", ran.message());
          done = true;
          break;
        }
        if (Clock::now() >= end) {
          done = true;
          break;
        }
      }
      std::vector<Tensor> batch = batch_of(b);
      const Clock::time_point t0 = Clock::now();
      Status ran = backend.Execute(batch).status();
      const Clock::time_point t1 = Clock::now();
      if (!ran.ok()) {
        result.stopped = StrCat("a batch of ", b, " failed: ", ran.message());
        done = true;
        break;
      }
      samples[static_cast<size_t>(b)].push_back(std::chrono::duration<double>(t1 - t0).count());
    }
  }
  result.spent = Millis(Clock::now() - start);
  for (int64_t b = 1; b <= n; ++b) {
    std::vector<double>& s = samples[static_cast<size_t>(b)];
    BatchSizeTiming timing;
    timing.batch_size = b;
    timing.samples = static_cast<int>(s.size());
    if (!s.empty()) {
      std::sort(s.begin(), s.end());
      timing.seconds = s[(s.size() - 1) / 2];  // the lower median
    }
    result.timings.push_back(timing);
  }
  return result;
}

BatchSizeChoice ChooseBatchSizes(const ModelConfig& config, const Shape& row_shape,
                                 Backend& backend, const std::filesystem::path& cache_dir) {
  const BatchingConfig& batching = config.batching;
  BatchSizeChoice choice;
  choice.mode = batching.preferred_mode;
  switch (batching.preferred_mode) {
    case PreferredBatchSizesMode::kNone:
      return choice;
    case PreferredBatchSizesMode::kList:
      for (int64_t b : batching.preferred_batch_sizes) {
        if (b <= batching.max_batch_size) choice.preferred.push_back(b);
      }
      return choice;
    case PreferredBatchSizesMode::kAuto:
      break;
  }
  choice.budget = std::chrono::milliseconds(batching.batch_timing_budget_ms);
  if (batching.max_batch_size <= 1) {
    choice.preferred = {1};
    choice.note = "not timed: max_batch_size is 1";
    return choice;
  }
  if (!config.warmup.enabled) {
    choice.note = "not timed: warm-up is disabled (any batch size is cut)";
    return choice;
  }
  std::optional<nlohmann::json> key;
  std::optional<BatchTimingCache> cache;
  if (!cache_dir.empty()) {
    StatusOr<nlohmann::json> k = BatchTimingKey(config, row_shape);
    if (k.ok()) {
      key = std::move(*k);
      cache.emplace(cache_dir);
      if (auto found = cache->Find(config.name, config.version, *key); found) {
        choice.source = "cache";
        choice.timings = std::move(*found);
      }
    } else {
      Log(LogLevel::kWarning, "batch_timing_cache",
          {{"model", config.name}, {"reason", std::string(k.status().message())}});
    }
  }
  if (choice.source.empty()) {
    BatchTimingOptions options;
    options.max_batch_size = batching.max_batch_size;
    options.budget = choice.budget;
    options.warm_sizes = config.warmup.batch_sizes;
    if (options.warm_sizes.empty()) options.warm_sizes = {1, batching.max_batch_size};
    BatchTimingResult timed = TimeBatchSizes(backend, config.input.dtype, row_shape, options);
    choice.source = "measured";
    choice.timings = std::move(timed.timings);
    choice.spent = timed.spent;
    choice.note = timed.stopped;
    // A failed forward is not a property of the machine: such timings are not kept.
    if (cache && timed.stopped.empty()) {
      Status stored = cache->Store(config.name, config.version, *key, choice.timings);
      if (!stored.ok()) {
        Log(LogLevel::kWarning, "batch_timing_cache",
            {{"model", config.name}, {"reason", std::string(stored.message())}});
      }
    }
  }
  choice.preferred = ChoosePreferredBatchSizes(choice.timings, batching.max_batch_size);
  std::vector<std::string> sizes;
  for (int64_t b : choice.preferred) sizes.push_back(std::to_string(b));
  Log(LogLevel::kInfo, "batch_sizes_chosen",
      {{"model", config.name},
       {"version", std::to_string(config.version)},
       {"source", choice.source},
       {"preferred", StrJoin(sizes, ",")},
       {"timing_ms", std::to_string(choice.spent.count())}});
  return choice;
}

}  // namespace infera
