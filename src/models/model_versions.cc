#include "models/model_versions.h"

#include <yaml-cpp/yaml.h>

#include <ctime>

#include "common/file_util.h"
#include "common/strings.h"
#include "models/yaml_reader.h"

namespace infera {

namespace fs = std::filesystem;

Status WriteVersionPin(const fs::path& dir, int64_t version) {
  const fs::path file = dir / "model.yaml";
  ASSIGN_OR_RETURN(YAML::Node node, YamlReader::LoadFile(file.string()));
  if (node.IsNull()) node = YAML::Node(YAML::NodeType::Map);
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(StrCat(file.string(), ": expected a mapping"));
  }
  node.remove("version_policy");
  node["version"] = version;
  YAML::Emitter out;
  out << node;
  if (!out.good()) {
    return absl::InternalError(StrCat("cannot write ", file.string(), ": ", out.GetLastError()));
  }
  return WriteFileDurably(
      file, StrCat("# version: the active version (POST /api/models/{id}/versions/{v}/activate);\n"
                   "# the other version folders are kept, not served.\n",
                   out.c_str(), "\n"));
}

StatusOr<nlohmann::json> ReadTrainingRecord(const fs::path& dir, int64_t version) {
  const fs::path file = dir / std::to_string(version) / "training.json";
  std::error_code ec;
  if (!fs::exists(file, ec)) return nlohmann::json();
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(file));
  nlohmann::json record = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!record.is_object()) {
    return absl::InvalidArgumentError(StrCat(file.string(), ": not a JSON object"));
  }
  return record;
}

std::optional<int64_t> ParentVersion(const nlohmann::json& record) {
  if (!record.is_object()) return std::nullopt;
  auto it = record.find("parent_version");
  if (it == record.end() || !it->is_number_integer() || it->get<int64_t>() < 1) {
    return std::nullopt;
  }
  return it->get<int64_t>();
}

nlohmann::json TrainingSummary(const nlohmann::json& record) {
  if (!record.is_object()) return nullptr;
  nlohmann::json summary = nlohmann::json::object();
  for (const char* key :
       {"created_at", "annotation_sets", "best_score", "parent_score", "held_back"}) {
    auto it = record.find(key);
    summary[key] = it == record.end() ? nlohmann::json() : *it;
  }
  return summary;
}

std::string UtcNowIso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace infera
