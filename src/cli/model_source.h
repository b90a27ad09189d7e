// Where the offline commands (`infer`, `bench job`) find a model: the `--model` name in
// a server config (`--config`), in a model repository folder (`--repository`), or
// `--model` itself as a model folder (one holding model.yaml and version folders).
// Errors: InvalidArgument for conflicting or missing options, NotFound for an unknown
// model, the config loader's errors otherwise. Thread-safe (reads files only).
// OfflineLoadOptions: how the offline commands load it — no metrics, and the user's
// batch-size timing cache (DefaultBatchTimingCacheDir), so that a second run does not
// time the model again.
#pragma once

#include <string>

#include "common/status.h"
#include "models/model.h"
#include "models/model_config.h"

namespace infera {

StatusOr<ModelConfig> ResolveModel(const std::string& config_file, const std::string& repository,
                                   const std::string& model);

ModelLoadOptions OfflineLoadOptions();

}  // namespace infera
