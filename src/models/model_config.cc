#include "models/model_config.h"

#include <algorithm>
#include <charconv>
#include <fstream>

#include "backends/backend_registry.h"
#include "common/strings.h"
#include "dicom/windowing.h"
#include "models/yaml_reader.h"
#include "runners/runner_registry.h"

namespace infera {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kMaxSide = 1 << 16;

// Applies `input:`.
Status ApplyInput(const YamlReader& in, ModelConfig* config) {
  RETURN_IF_ERROR(in.CheckMapping({"name", "color", "size", "resize", "interpolation", "scale",
                                   "mean", "std", "layout", "dtype", "window"}));
  InputSpec& spec = config->input;
  if (in.Has("name")) {
    ASSIGN_OR_RETURN(config->input_name, in.String("name"));
  }
  if (in.Has("color")) {
    ASSIGN_OR_RETURN(std::string s, in.String("color"));
    auto parsed = ParseColorMode(s);
    if (!parsed.ok()) return in.Error("color", "must be gray, rgb or bgr (got '" + s + "')");
    spec.color = *parsed;
  }
  if (in.Has("size")) {
    const YAML::Node n = in.node()["size"];
    if (n.IsScalar() && n.Scalar() == "keep") {
      spec.size.reset();
    } else {
      auto list = in.IntList("size");
      if (!list.ok() || list->size() != 2) {
        return in.Error("size", "must be [height, width] or 'keep'");
      }
      for (int64_t side : *list) {
        if (side < 1 || side > kMaxSide) {
          return in.Error("size", StrCat("sides must be between 1 and ", kMaxSide));
        }
      }
      spec.size = std::pair<int, int>{static_cast<int>((*list)[0]), static_cast<int>((*list)[1])};
    }
  }
  if (in.Has("resize")) {
    ASSIGN_OR_RETURN(std::string s, in.String("resize"));
    auto parsed = ParseResizeMode(s);
    if (!parsed.ok()) return in.Error("resize", "must be stretch or letterbox (got '" + s + "')");
    spec.resize = *parsed;
  }
  if (in.Has("interpolation")) {
    ASSIGN_OR_RETURN(std::string s, in.String("interpolation"));
    auto parsed = ParseInterpolation(s);
    if (!parsed.ok()) {
      return in.Error("interpolation", "must be bilinear or nearest (got '" + s + "')");
    }
    spec.interpolation = *parsed;
  }
  if (in.Has("scale")) {
    const YAML::Node n = in.node()["scale"];
    if (n.IsScalar() && n.Scalar() == "auto") {
      spec.scale.reset();
    } else {
      ASSIGN_OR_RETURN(double scale, in.Double("scale"));
      if (scale <= 0) return in.Error("scale", "must be positive or 'auto'");
      spec.scale = scale;
    }
  }
  auto floats = [](const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); };
  if (in.Has("mean")) {
    ASSIGN_OR_RETURN(std::vector<double> mean, in.DoubleList("mean"));
    spec.mean = floats(mean);
  }
  if (in.Has("std")) {
    ASSIGN_OR_RETURN(std::vector<double> std, in.DoubleList("std"));
    spec.std = floats(std);
  }
  if (in.Has("layout")) {
    ASSIGN_OR_RETURN(std::string s, in.String("layout"));
    auto parsed = ParseLayout(s);
    if (!parsed.ok()) return in.Error("layout", "must be NCHW or NHWC (got '" + s + "')");
    spec.layout = *parsed;
  }
  if (in.Has("window")) {
    // DICOM inputs: "file", a preset, or [centre, width] (dicom/windowing.h).
    const YAML::Node n = in.node()["window"];
    nlohmann::json window;
    if (n.IsScalar()) {
      window = n.Scalar();
    } else if (n.IsSequence() && n.size() == 2) {
      StatusOr<std::vector<double>> pair = in.DoubleList("window");
      if (pair.ok()) window = *pair;
    }
    StatusOr<WindowSpec> spec = ParseWindowSpec(window);
    if (!spec.ok()) return in.Error("window", ToStd(spec.status().message()));
    config->window = WindowSpecJson(*spec);
  }
  if (in.Has("dtype")) {
    ASSIGN_OR_RETURN(std::string s, in.String("dtype"));
    auto parsed = ParseDType(s);
    if (!parsed.ok() || (*parsed != DType::kFP32 && *parsed != DType::kUInt8)) {
      return in.Error("dtype", "must be float32 or uint8 (got '" + s + "')");
    }
    spec.dtype = *parsed;
  }
  // The ImageNet defaults are 3-channel: a gray model that names no mean/std gets none.
  if (spec.color == ColorMode::kGray) {
    if (!in.Has("mean")) spec.mean.clear();
    if (!in.Has("std")) spec.std.clear();
  }
  Status valid = ValidateInputSpec(spec);
  if (!valid.ok()) return in.Error("", ToStd(valid.message()));
  return absl::OkStatus();
}

Status ApplyBatching(const YamlReader& b, BatchingConfig* batching) {
  RETURN_IF_ERROR(
      b.CheckMapping({"max_batch_size", "max_queue_delay_ms", "max_queue_size",
                      "default_timeout_ms", "preferred_batch_sizes", "batch_timing_budget_ms"}));
  if (b.Has("max_batch_size")) {
    ASSIGN_OR_RETURN(batching->max_batch_size, b.Int("max_batch_size", 1, 4096));
  }
  if (b.Has("max_queue_delay_ms")) {
    ASSIGN_OR_RETURN(batching->max_queue_delay_ms, b.Double("max_queue_delay_ms"));
    if (batching->max_queue_delay_ms < 0 || batching->max_queue_delay_ms > 60000) {
      return b.Error("max_queue_delay_ms", "must be between 0 and 60000");
    }
  }
  if (b.Has("max_queue_size")) {
    ASSIGN_OR_RETURN(batching->max_queue_size, b.Int("max_queue_size", 1, 1 << 20));
  }
  if (b.Has("default_timeout_ms")) {
    ASSIGN_OR_RETURN(batching->default_timeout_ms, b.Int("default_timeout_ms", 0, 86'400'000));
  }
  if (b.Has("preferred_batch_sizes")) {
    const YAML::Node n = b.node()["preferred_batch_sizes"];
    const std::string why = "must be auto, none or a list of batch sizes such as [1, 4]";
    if (n.IsScalar() && n.Scalar() == "auto") {
      batching->preferred_mode = PreferredBatchSizesMode::kAuto;
    } else if (n.IsScalar() && n.Scalar() == "none") {
      batching->preferred_mode = PreferredBatchSizesMode::kNone;
    } else if (n.IsSequence()) {
      auto sizes = b.IntList("preferred_batch_sizes");
      if (!sizes.ok() || sizes->empty()) return b.Error("preferred_batch_sizes", why);
      for (int64_t size : *sizes) {
        if (size < 1 || size > batching->max_batch_size) {
          return b.Error("preferred_batch_sizes",
                         StrCat("sizes must be between 1 and max_batch_size (",
                                batching->max_batch_size, "); got ", size));
        }
      }
      std::sort(sizes->begin(), sizes->end());
      sizes->erase(std::unique(sizes->begin(), sizes->end()), sizes->end());
      batching->preferred_mode = PreferredBatchSizesMode::kList;
      batching->preferred_batch_sizes = std::move(*sizes);
    } else {
      return b.Error("preferred_batch_sizes", why);
    }
  }
  if (b.Has("batch_timing_budget_ms")) {
    ASSIGN_OR_RETURN(batching->batch_timing_budget_ms, b.Int("batch_timing_budget_ms", 0, 600'000));
  }
  return absl::OkStatus();
}

Status ApplyInstances(const YamlReader& in, InstancesConfig* instances) {
  RETURN_IF_ERROR(in.CheckMapping({"count", "device", "threads"}));
  if (in.Has("count")) {
    ASSIGN_OR_RETURN(instances->count, in.Int("count", 1, 64));
  }
  if (in.Has("device")) {
    ASSIGN_OR_RETURN(instances->device, in.String("device"));
    const std::string& d = instances->device;
    bool ok = d == "cpu";
    if (d.rfind("cuda:", 0) == 0 && d.size() > 5) {
      ok = std::all_of(d.begin() + 5, d.end(), [](char c) { return c >= '0' && c <= '9'; });
    }
    if (!ok) return in.Error("device", "must be cpu or cuda:N (got '" + d + "')");
  }
  if (in.Has("threads")) {
    ASSIGN_OR_RETURN(instances->threads, in.Int("threads", 0, 256));
  }
  return absl::OkStatus();
}

Status ApplyWarmup(const YamlReader& parent, WarmupConfig* warmup) {
  const YAML::Node n = parent.node()["warmup"];
  if (n.IsScalar()) {
    ASSIGN_OR_RETURN(warmup->enabled, parent.Bool("warmup"));
    return absl::OkStatus();
  }
  YamlReader w = parent.Child("warmup");
  RETURN_IF_ERROR(w.CheckMapping({"enabled", "batch_sizes"}));
  if (w.Has("enabled")) {
    ASSIGN_OR_RETURN(warmup->enabled, w.Bool("enabled"));
  }
  if (w.Has("batch_sizes")) {
    ASSIGN_OR_RETURN(warmup->batch_sizes, w.IntList("batch_sizes"));
    for (int64_t b : warmup->batch_sizes) {
      if (b < 1) return w.Error("batch_sizes", "must be positive");
    }
  }
  return absl::OkStatus();
}

// A YAML scalar as JSON: true/false, an integer, a number, else a string (quoted
// scalars stay strings).
nlohmann::json ScalarToJson(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() != "!") {
    if (text == "true" || text == "True") return true;
    if (text == "false" || text == "False") return false;
    int64_t i = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
    if (ec == std::errc() && p == text.data() + text.size()) return i;
    double d = 0;
    auto [q, ec2] = std::from_chars(text.data(), text.data() + text.size(), d);
    if (ec2 == std::errc() && q == text.data() + text.size()) return d;
  }
  return text;
}

// model.yaml `params:`: a mapping of names to scalars or lists of scalars.
StatusOr<nlohmann::json> ParamsToJson(const YamlReader& r) {
  if (!r.node().IsMap()) return r.Error("", "must be a mapping of param names to values");
  nlohmann::json out = nlohmann::json::object();
  for (const auto& kv : r.node()) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    if (v.IsScalar()) {
      out[key] = ScalarToJson(v);
      continue;
    }
    if (!v.IsSequence()) return r.Error(key, "must be a value or a list of values");
    nlohmann::json list = nlohmann::json::array();
    for (const auto& item : v) {
      if (!item.IsScalar()) return r.Error(key, "must be a value or a list of values");
      list.push_back(ScalarToJson(item));
    }
    out[key] = std::move(list);
  }
  return out;
}

// `outputs: [name, ...]` or `outputs: {name: position, ...}` (names unique).
Status ApplyOutputs(const YamlReader& r, ModelConfig* config) {
  config->outputs.clear();
  config->output_positions.clear();
  if (r.node()["outputs"].IsMap()) {
    const YamlReader map = r.Child("outputs");
    for (const auto& kv : map.node()) {
      if (!kv.first.IsScalar() || kv.first.Scalar().empty()) {
        return r.Error("outputs", "names must be non-empty strings");
      }
      const std::string name = kv.first.Scalar();
      ASSIGN_OR_RETURN(int64_t position, map.Int(name, 0, 1 << 20));
      config->outputs.push_back(name);
      config->output_positions.push_back(position);
    }
    if (config->outputs.empty()) return r.Error("outputs", "must name at least one output");
  } else {
    ASSIGN_OR_RETURN(config->outputs, r.StringList("outputs"));
  }
  for (size_t i = 0; i < config->outputs.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (config->outputs[i] == config->outputs[j]) {
        return r.Error("outputs", StrCat("'", config->outputs[i], "' is named twice"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

Status ValidateModelName(std::string_view name) {
  auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  };
  if (name.empty() || name.size() > 128 || !std::all_of(name.begin(), name.end(), ok_char) ||
      name[0] == '.' || name[0] == '_' || name[0] == '-') {
    return absl::InvalidArgumentError(
        StrCat("invalid model name '", name,
               "': use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit"));
  }
  return absl::OkStatus();
}

ModelConfig DefaultClassifierConfig() { return ModelConfig{}; }

Status ApplyModelYaml(const YAML::Node& node, const std::string& file, const fs::path& base_dir,
                      ModelConfig* config) {
  YamlReader r(node, file, "");
  if (node.IsNull()) return absl::OkStatus();  // an empty model.yaml takes every default
  RETURN_IF_ERROR(r.CheckMapping({"name", "version", "version_policy", "backend", "runner",
                                  "description", "artifact", "input", "outputs", "labels", "params",
                                  "batching", "instances", "warmup", "optimize"}));
  if (r.Has("name")) {
    ASSIGN_OR_RETURN(std::string name, r.String("name"));
    if (!config->name.empty() && name != config->name) {
      return r.Error("name",
                     StrCat("'", name, "' differs from the folder name '", config->name, "'"));
    }
    config->name = name;
  }
  if (r.Has("version")) {
    ASSIGN_OR_RETURN(config->version, r.Int("version", 1, INT64_MAX));
    config->version_policy.kind = VersionPolicy::Kind::kSpecific;
    config->version_policy.specific = {config->version};
  }
  if (r.Has("version_policy")) {
    if (r.Has("version")) {
      return r.Error("version_policy", "give either version or version_policy, not both");
    }
    const YAML::Node p = node["version_policy"];
    VersionPolicy& policy = config->version_policy;
    const std::string why = "must be latest, all, {latest: N} or {specific: [versions]}";
    if (p.IsScalar()) {
      const std::string kind = p.as<std::string>();
      if (kind == "latest") {
        policy = VersionPolicy{};
      } else if (kind == "all") {
        policy.kind = VersionPolicy::Kind::kAll;
      } else {
        return r.Error("version_policy", StrCat(why, " (got '", kind, "')"));
      }
    } else if (p.IsMap() && p.size() == 1 && p["latest"].IsDefined()) {
      YamlReader pr = r.Child("version_policy");
      policy.kind = VersionPolicy::Kind::kLatest;
      ASSIGN_OR_RETURN(policy.latest, pr.Int("latest", 1, 1000));
    } else if (p.IsMap() && p.size() == 1 && p["specific"].IsDefined()) {
      YamlReader pr = r.Child("version_policy");
      policy.kind = VersionPolicy::Kind::kSpecific;
      ASSIGN_OR_RETURN(policy.specific, pr.IntList("specific"));
      if (policy.specific.empty()) return pr.Error("specific", "must name at least one version");
      for (int64_t v : policy.specific) {
        if (v < 1) return pr.Error("specific", StrCat("versions are positive (got ", v, ")"));
      }
      std::sort(policy.specific.begin(), policy.specific.end());
      policy.specific.erase(std::unique(policy.specific.begin(), policy.specific.end()),
                            policy.specific.end());
    } else {
      return r.Error("version_policy", why);
    }
  }
  if (r.Has("backend")) {
    ASSIGN_OR_RETURN(config->backend, r.String("backend"));
    const auto names = BackendNames();
    if (std::find(names.begin(), names.end(), config->backend) == names.end()) {
      return r.Error("backend", StrCat("unknown backend '", config->backend,
                                       "' (available: ", StrJoin(names, ", "), ")"));
    }
  }
  if (r.Has("runner")) {
    ASSIGN_OR_RETURN(config->runner, r.String("runner"));
    if (FindRunner(config->runner) == nullptr) {
      return r.Error("runner", StrCat("unknown runner '", config->runner,
                                      "' (available: ", StrJoin(RunnerNames(), ", "), ")"));
    }
  }
  if (r.Has("description")) {
    ASSIGN_OR_RETURN(config->description, r.String("description"));
  }
  if (r.Has("artifact")) {
    ASSIGN_OR_RETURN(std::string artifact, r.String("artifact"));
    if (artifact.empty() || artifact.find('/') != std::string::npos || artifact == "." ||
        artifact == "..") {
      return r.Error("artifact", "must be a plain file name such as model.pt");
    }
    config->artifact = artifact;  // resolved against the version folder by the caller
  }
  if (r.Has("input")) RETURN_IF_ERROR(ApplyInput(r.Child("input"), config));
  if (r.Has("outputs")) RETURN_IF_ERROR(ApplyOutputs(r, config));
  if (r.Has("labels")) {
    ASSIGN_OR_RETURN(std::string labels, r.String("labels"));
    config->labels_file = base_dir / labels;
    Status s = LoadLabels(config);
    if (!s.ok()) return r.Error("labels", ToStd(s.message()));
  }
  const Runner* runner = FindRunner(config->runner);
  if (runner != nullptr) {
    Status input_ok = runner->CheckInputSpec(config->input);
    if (!input_ok.ok()) return r.Error("input", ToStd(input_ok.message()));
  }
  if (r.Has("params")) {
    ASSIGN_OR_RETURN(config->params, ParamsToJson(r.Child("params")));
    if (runner != nullptr) {
      StatusOr<nlohmann::json> valid = runner->ValidateParams(config->params, *config);
      if (!valid.ok()) return r.Error("params", ToStd(valid.status().message()));
    }
  }
  if (r.Has("batching")) RETURN_IF_ERROR(ApplyBatching(r.Child("batching"), &config->batching));
  if (r.Has("instances")) {
    RETURN_IF_ERROR(ApplyInstances(r.Child("instances"), &config->instances));
  }
  if (r.Has("warmup")) RETURN_IF_ERROR(ApplyWarmup(r, &config->warmup));
  if (r.Has("optimize")) {
    ASSIGN_OR_RETURN(config->optimize, r.Bool("optimize"));
  }
  return absl::OkStatus();
}

Status LoadLabels(ModelConfig* config) {
  std::ifstream in(config->labels_file);
  if (!in) {
    return absl::InvalidArgumentError(
        StrCat("cannot read labels file ", config->labels_file.string()));
  }
  config->labels.clear();
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.pop_back();
    }
    config->labels.push_back(line);
  }
  while (!config->labels.empty() && config->labels.back().empty()) config->labels.pop_back();
  return absl::OkStatus();
}

int64_t HighestVersionFolder(const fs::path& dir) {
  int64_t highest = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    int64_t v = 0;
    auto [ptr, err] = std::from_chars(name.data(), name.data() + name.size(), v);
    if (err == std::errc() && ptr == name.data() + name.size() && entry.is_directory(ec)) {
      highest = std::max(highest, v);
    }
  }
  return highest;
}

std::string DefaultArtifactName(std::string_view backend) {
  return backend == "onnx" ? "model.onnx" : "model.pt";
}

std::vector<int64_t> ListVersions(const fs::path& dir, const std::string& artifact_name) {
  std::vector<int64_t> versions;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_directory(ec)) continue;
    const std::string name = entry.path().filename().string();
    int64_t v = 0;
    auto [ptr, err] = std::from_chars(name.data(), name.data() + name.size(), v);
    if (err != std::errc() || ptr != name.data() + name.size() || v < 1) continue;
    if (fs::is_regular_file(entry.path() / artifact_name, ec)) versions.push_back(v);
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

StatusOr<ModelConfig> LoadModelFolder(const fs::path& dir) {
  ASSIGN_OR_RETURN(std::vector<ModelConfig> versions, LoadModelFolderVersions(dir));
  return std::move(versions.back());
}

namespace {

// A model folder's model.yaml applied to the defaults: the config every version shares
// (its `artifact` still the bare file name or empty), the artifact's file name, and
// whether model.yaml pins a version.
struct FolderYaml {
  ModelConfig config;
  std::string artifact_name;
  bool pinned = false;
};

StatusOr<FolderYaml> ReadFolderYaml(const fs::path& dir) {
  FolderYaml out;
  ModelConfig& config = out.config;
  config = DefaultClassifierConfig();
  config.name = dir.filename().string();
  const fs::path yaml = dir / "model.yaml";
  if (Status valid = ValidateModelName(config.name); !valid.ok()) {
    return absl::InvalidArgumentError(StrCat(dir.string(), ": ", ToStd(valid.message())));
  }
  config.source = yaml;
  ASSIGN_OR_RETURN(YAML::Node node, YamlReader::LoadFile(yaml.string()));
  config.artifact.clear();
  out.pinned = node.IsMap() && node["version"].IsDefined();
  RETURN_IF_ERROR(ApplyModelYaml(node, yaml.string(), dir, &config));
  out.artifact_name =
      config.artifact.empty() ? DefaultArtifactName(config.backend) : config.artifact.string();
  return out;
}

}  // namespace

StatusOr<ModelConfig> LoadModelFolderVersion(const fs::path& dir, int64_t version) {
  ASSIGN_OR_RETURN(FolderYaml folder, ReadFolderYaml(dir));
  ModelConfig config = std::move(folder.config);
  const fs::path artifact = dir / std::to_string(version) / folder.artifact_name;
  std::error_code ec;
  if (version < 1 || !fs::is_regular_file(artifact, ec)) {
    return absl::NotFoundError(StrCat("model '", config.name, "' has no version ", version,
                                      " (no version folder holding ", folder.artifact_name, ")"));
  }
  config.version = version;
  config.artifact = artifact;
  return config;
}

StatusOr<std::vector<int64_t>> ModelFolderVersions(const fs::path& dir) {
  ASSIGN_OR_RETURN(FolderYaml folder, ReadFolderYaml(dir));
  return ListVersions(dir, folder.artifact_name);
}

StatusOr<std::vector<ModelConfig>> LoadModelFolderVersions(const fs::path& dir) {
  ASSIGN_OR_RETURN(FolderYaml folder, ReadFolderYaml(dir));
  ModelConfig& config = folder.config;
  const fs::path yaml = config.source;
  const bool pinned = folder.pinned;
  const std::string& artifact_name = folder.artifact_name;
  const std::vector<int64_t> present = ListVersions(dir, artifact_name);
  std::vector<int64_t> chosen;
  const VersionPolicy& policy = config.version_policy;
  switch (policy.kind) {
    case VersionPolicy::Kind::kSpecific:
      for (int64_t v : policy.specific) {
        if (std::find(present.begin(), present.end(), v) == present.end()) {
          return absl::NotFoundError(StrCat(
              yaml.string(), pinned ? ": version: pinned version " : ": version_policy: version ",
              v, " has no ", (dir / std::to_string(v) / artifact_name).string()));
        }
      }
      chosen = policy.specific;
      break;
    case VersionPolicy::Kind::kAll:
      chosen = present;
      break;
    case VersionPolicy::Kind::kLatest: {
      const size_t n = std::min(present.size(), static_cast<size_t>(policy.latest));
      chosen.assign(present.end() - static_cast<long>(n), present.end());
      break;
    }
  }
  if (chosen.empty()) {
    return absl::NotFoundError(StrCat("model '", config.name, "' in ", dir.string(),
                                      ": no version folder (1/, 2/, ...) holds ", artifact_name));
  }
  std::vector<ModelConfig> out;
  for (int64_t v : chosen) {
    ModelConfig c = config;
    c.version = v;
    c.artifact = dir / std::to_string(v) / artifact_name;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace infera
