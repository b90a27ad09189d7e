// ModelSources: where a server's models come from and how that set may change — the
// models the config names (its list form and its repository's folders), the repository
// folder, and the model-control mode. Given to ModelManager (model_manager.h); filled by
// the server config (server/server_config.h) or by a command that serves one model.
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include "common/status.h"
#include "models/model_config.h"

namespace infera {

// How the set of served models may change at run time (see model_manager.h).
enum class ModelControlMode { kNone, kExplicit, kPoll };

struct ModelSources {
  // List-form and repository models, in config order; names unique per version.
  std::vector<ModelConfig> models;
  // The repository folder (canonical), when there is one: uploads go there, and mode
  // poll rescans it.
  std::optional<std::filesystem::path> repository;
  // model_control: explicit allows load/unload at run time; poll rescans the
  // repository every poll_s seconds.
  ModelControlMode control = ModelControlMode::kNone;
  double poll_s = 10.0;
  // Where batch-size timings are cached (models/batch_timing_cache.h); empty: not cached.
  std::filesystem::path batch_timing_cache;
};

// Every model folder (a directory with a model.yaml) of a repository, sorted by name,
// each with the versions its version_policy serves. Errors: NotFound when `dir` is not
// a folder; a model folder's own error otherwise.
StatusOr<std::vector<ModelConfig>> ScanModelRepository(const std::filesystem::path& dir);

}  // namespace infera
