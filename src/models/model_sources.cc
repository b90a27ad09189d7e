#include "models/model_sources.h"

#include <algorithm>

#include "common/strings.h"

namespace infera {

namespace fs = std::filesystem;

StatusOr<std::vector<ModelConfig>> ScanModelRepository(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(StrCat("model repository ", dir.string(), " is not a folder"));
  }
  std::vector<fs::path> folders;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_directory(ec) && fs::is_regular_file(entry.path() / "model.yaml", ec)) {
      folders.push_back(entry.path());
    }
  }
  std::sort(folders.begin(), folders.end());
  std::vector<ModelConfig> models;
  for (const fs::path& folder : folders) {
    ASSIGN_OR_RETURN(std::vector<ModelConfig> versions, LoadModelFolderVersions(folder));
    for (ModelConfig& config : versions) models.push_back(std::move(config));
  }
  return models;
}

}  // namespace infera
