#include "models/model_upload.h"

#include <yaml-cpp/yaml.h>

#include "absl/strings/str_split.h"
#include "common/strings.h"
#include "models/model_config.h"
#include "runners/runner_registry.h"

namespace infera {

namespace {

StatusOr<YAML::Node> ParseYaml(const std::string& text, const std::string& what) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(StrCat(what, ": not valid YAML: ", e.what()));
  }
}

// Sets node[a][b]... = value for the dotted key "a.b...".
Status SetDotted(YAML::Node root, const std::string& key, const YAML::Node& value) {
  std::vector<std::string> parts = absl::StrSplit(key, '.');
  for (const std::string& p : parts) {
    if (p.empty()) return absl::InvalidArgumentError(StrCat("bad model.yaml field '", key, "'"));
  }
  // yaml-cpp nodes are handles: walk down by reassigning copies of child handles.
  std::vector<YAML::Node> path{root};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node child = path.back()[parts[i]];
    if (child.IsDefined() && !child.IsMap() && !child.IsNull()) {
      return absl::InvalidArgumentError(
          StrCat("model.yaml field '", key, "': '", parts[i], "' is not a mapping"));
    }
    if (!child.IsDefined() || child.IsNull())
      path.back()[parts[i]] = YAML::Node(YAML::NodeType::Map);
    path.push_back(path.back()[parts[i]]);
  }
  path.back()[parts.back()] = value;
  return absl::OkStatus();
}

}  // namespace

StatusOr<std::string> BuildUploadYaml(const ModelUpload& upload) {
  RETURN_IF_ERROR(ValidateModelName(upload.name));
  if (upload.runner.empty()) {
    return absl::InvalidArgumentError(StrCat(
        "'runner_name' is required (available runners: ", StrJoin(RunnerNames(), ", "), ")"));
  }
  if (FindRunner(upload.runner) == nullptr) {
    return absl::InvalidArgumentError(StrCat("unknown runner_name '", upload.runner,
                                             "'. Available runners: [",
                                             StrJoin(RunnerNames(), ", "), "]"));
  }
  YAML::Node root(YAML::NodeType::Map);
  if (!upload.yaml_text.empty()) {
    ASSIGN_OR_RETURN(root, ParseYaml(upload.yaml_text, "model.yaml"));
    if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
    if (!root.IsMap()) return absl::InvalidArgumentError("model.yaml: expected a mapping");
  }
  for (const auto& [key, text] : upload.fields) {
    ASSIGN_OR_RETURN(YAML::Node value, ParseYaml(text, StrCat("model.yaml field '", key, "'")));
    RETURN_IF_ERROR(SetDotted(root, key, value));
  }
  if (root["version"].IsDefined()) {
    return absl::InvalidArgumentError(
        "model.yaml: 'version' cannot be set in an upload (the upload's 'version' field names "
        "the version folder)");
  }
  if (root["labels"].IsDefined() && !upload.labels) {
    return absl::InvalidArgumentError(
        "model.yaml: 'labels' names a file, but no labels file was uploaded (send it in the "
        "form field 'labels')");
  }
  root.remove("labels");  // set below when a labels file came with the upload
  root["name"] = upload.name;
  root["runner"] = upload.runner;
  if (upload.description) root["description"] = *upload.description;
  // Validate as the loader will (labels are added after: the file is not in place yet).
  ModelConfig check = DefaultClassifierConfig();
  check.name = upload.name;
  RETURN_IF_ERROR(ApplyModelYaml(root, "model.yaml", std::filesystem::path(), &check));
  if (upload.labels) root["labels"] = "labels.txt";
  YAML::Emitter out;
  out << root;
  if (!out.good())
    return absl::InternalError(StrCat("cannot write model.yaml: ", out.GetLastError()));
  return StrCat("# Written by POST /api/models/upload\n", out.c_str(), "\n");
}

}  // namespace infera
