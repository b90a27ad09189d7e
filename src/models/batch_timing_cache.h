// BatchTimingCache: batch-size timings (models/batch_size_timing.h) kept on disk, so that
// a reload or a restart on the same machine does not time the same model again.
//
// Where: one JSON file per model version, DIR/<model>/<version>.json. The server's DIR is
// `<storage>/batch_timings` (the storage folder is the server's own writable state; the
// model repository may be read-only and shared between machines); the offline commands
// use DefaultBatchTimingCacheDir(). Deleting the folder only costs a timing per model.
//
// Each file holds the key the timings were taken under — the artifact's SHA-256, the
// device, the instance count and threads setting, the machine's core count and CPU
// model, the input (dtype and row shape), max_batch_size and the timing budget — and
// Find returns the timings only when the key is the same: a new artifact, another
// device or thread setting, or another machine's copy of the folder times again (and
// Store replaces the file).
//
// Thread-safety: Find and Store may run on any thread; two Stores of one model version
// at once race (the last one wins, the file is never torn).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "batching/preferred_batch_sizes.h"
#include "common/status.h"
#include "models/model_config.h"
#include "tensor/tensor.h"

namespace infera {

// $INFERA_CACHE_DIR/batch_timings, else $XDG_CACHE_HOME/infera/batch_timings, else
// $HOME/.cache/infera/batch_timings; empty when none is set.
std::filesystem::path DefaultBatchTimingCacheDir();

// The key of `config`'s timings on this machine (see above). Reads the artifact to hash
// it: NotFound / Internal when it cannot.
StatusOr<nlohmann::json> BatchTimingKey(const ModelConfig& config, const Shape& row_shape);

class BatchTimingCache {
 public:
  explicit BatchTimingCache(std::filesystem::path dir) : dir_(std::move(dir)) {}

  // The timings stored for `model`/`version` under `key`; nullopt when there is no file,
  // it is unreadable or malformed, or its key differs.
  std::optional<std::vector<BatchSizeTiming>> Find(const std::string& model, int64_t version,
                                                   const nlohmann::json& key) const;

  // Writes (replaces) the file of `model`/`version`, creating folders as needed.
  Status Store(const std::string& model, int64_t version, const nlohmann::json& key,
               const std::vector<BatchSizeTiming>& timings) const;

  std::filesystem::path FileOf(const std::string& model, int64_t version) const;

 private:
  std::filesystem::path dir_;
};

}  // namespace infera
