#include "cli/model_source.h"

#include <filesystem>

#include "common/strings.h"
#include "models/batch_timing_cache.h"
#include "server/server_config.h"

namespace infera {

namespace fs = std::filesystem;

StatusOr<ModelConfig> ResolveModel(const std::string& config_file, const std::string& repository,
                                   const std::string& model) {
  if (model.empty()) return absl::InvalidArgumentError("--model is required");
  if (!config_file.empty() && !repository.empty()) {
    return absl::InvalidArgumentError("give --config or --repository, not both");
  }
  std::error_code ec;
  if (!config_file.empty()) {
    ASSIGN_OR_RETURN(ServerConfig config, LoadServerConfig(config_file));
    for (const ModelConfig& m : config.model_sources.models) {
      if (m.name == model) return m;
    }
    return absl::NotFoundError(StrCat("no model '", model, "' in ", config_file));
  }
  if (!repository.empty()) {
    RETURN_IF_ERROR(ValidateModelName(model));
    const fs::path dir = fs::path(repository) / model;
    if (!fs::is_regular_file(dir / "model.yaml", ec)) {
      return absl::NotFoundError(StrCat("no model '", model, "' in ", repository, " (expected ",
                                        (dir / "model.yaml").string(), ")"));
    }
    return LoadModelFolder(dir);
  }
  if (fs::is_regular_file(fs::path(model) / "model.yaml", ec)) {
    fs::path dir = fs::absolute(fs::path(model)).lexically_normal();
    if (dir.filename().empty()) dir = dir.parent_path();  // "models/x/"
    return LoadModelFolder(dir);
  }
  return absl::InvalidArgumentError(
      StrCat("'", model,
             "' is not a model folder (no model.yaml); give --config FILE or --repository DIR "
             "to find a model by name"));
}

ModelLoadOptions OfflineLoadOptions() {
  ModelLoadOptions options;
  options.batch_timing_cache = DefaultBatchTimingCacheDir();
  return options;
}

}  // namespace infera
