#include "models/model_manager.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <set>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/strings.h"
#include "models/model.h"
#include "models/model_metrics.h"
#include "models/model_versions.h"

namespace infera {

namespace fs = std::filesystem;

ModelManager::ModelManager(const ModelSources& sources, ModelRegistry* registry,
                           MetricsRegistry* metrics)
    : mode_(sources.control),
      repository_(sources.repository),
      registry_(registry),
      metrics_(metrics),
      sources_(sources) {
  // A configured model whose artifact is REPO/NAME/VERSION/model.pt came from the
  // repository scan and reloads from its folder; every other one is a list-form model
  // and reloads from its config entry.
  for (const ModelConfig& m : sources.models) {
    if (!repository_ || m.artifact.parent_path().parent_path().parent_path() != *repository_) {
      list_models_[m.name] = m;
    }
  }
}

ModelLoadOptions ModelManager::LoadOptions() const {
  ModelLoadOptions options;
  options.metrics = metrics_;
  options.batch_timing_cache = sources_.batch_timing_cache;
  return options;
}

Status ModelManager::LoadAll() {
  MutexLock lock(&load_mu_);
  for (const ModelConfig& mc : sources_.models) {
    SetState(mc.name, {mc.name, mc.version, "LOADING", ""});
    StatusOr<std::shared_ptr<Model>> model = Model::Load(mc, LoadOptions());
    if (!model.ok()) {
      SetState(mc.name,
               {mc.name, mc.version, "UNAVAILABLE", std::string(ToStd(model.status().message()))});
      return model.status();
    }
    registry_->Put(std::move(*model));
    SetState(mc.name, {mc.name, mc.version, "READY", ""});
    if (!list_models_.count(mc.name)) RecordFingerprint(mc.name);
  }
  return absl::OkStatus();
}

StatusOr<std::vector<ModelConfig>> ModelManager::FindConfigs(const std::string& name) const {
  RETURN_IF_ERROR(ValidateModelName(name));
  if (auto it = list_models_.find(name); it != list_models_.end()) {
    return std::vector<ModelConfig>{it->second};
  }
  std::error_code ec;
  if (repository_ && fs::is_regular_file(*repository_ / name / "model.yaml", ec)) {
    return LoadModelFolderVersions(*repository_ / name);
  }
  ASSIGN_OR_RETURN(ModelConfig one, FindConfig(name));  // the NotFound message
  return std::vector<ModelConfig>{std::move(one)};
}

StatusOr<ModelConfig> ModelManager::FindConfig(const std::string& name) const {
  RETURN_IF_ERROR(ValidateModelName(name));
  if (auto it = list_models_.find(name); it != list_models_.end()) return it->second;
  std::error_code ec;
  if (repository_ && fs::is_regular_file(*repository_ / name / "model.yaml", ec)) {
    return LoadModelFolder(*repository_ / name);
  }
  return absl::NotFoundError(StrCat("no model '", name, "' in the repository",
                                    repository_ ? StrCat(" ", repository_->string()) : "",
                                    " or the config"));
}

namespace {

Status RefuseControl(ModelControlMode mode) {
  if (mode == ModelControlMode::kNone) {
    return absl::FailedPreconditionError(
        "model control mode is 'none': models cannot be loaded or unloaded at run time "
        "(set model_control: {mode: explicit})");
  }
  if (mode == ModelControlMode::kPoll) {
    return absl::FailedPreconditionError(
        "model control mode is 'poll': the repository is rescanned, change its files "
        "instead (or set model_control: {mode: explicit})");
  }
  return absl::OkStatus();
}

// The files of a model folder as "relative path size mtime" lines, sorted: any edit,
// addition or removal changes it. Hidden files (editors', partial uploads) are left out.
std::string FolderFingerprint(const fs::path& dir) {
  std::vector<std::string> lines;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const fs::path rel = fs::relative(it->path(), dir, ec);
    if (ec || rel.empty() || rel.filename().string().front() == '.') continue;
    if (!it->is_regular_file(ec)) continue;
    const auto size = it->file_size(ec);
    const auto mtime = it->last_write_time(ec).time_since_epoch().count();
    lines.push_back(StrCat(rel.generic_string(), " ", size, " ", mtime));
  }
  std::sort(lines.begin(), lines.end());
  return StrJoin(lines, "\n");
}

}  // namespace

Status ModelManager::Load(const std::string& name) {
  RETURN_IF_ERROR(RefuseControl(mode_));
  MutexLock lock(&load_mu_);
  return LoadLocked(name);
}

Status ModelManager::LoadLocked(const std::string& name) {
  StatusOr<std::vector<ModelConfig>> configs = FindConfigs(name);
  if (!configs.ok()) return configs.status();
  std::shared_ptr<Model> old = registry_->Get(name);
  const int64_t newest = configs->back().version;
  SetState(name, {name, newest, "LOADING", ""});
  // Every version the policy selects is built and warmed before any of them serves.
  std::vector<std::shared_ptr<Model>> loaded;
  for (const ModelConfig& config : *configs) {
    StatusOr<std::shared_ptr<Model>> model = Model::Load(config, LoadOptions());
    if (!model.ok()) {
      const std::string reason(ToStd(model.status().message()));
      Log(LogLevel::kWarning, "model_load_failed", {{"model", name}, {"reason", reason}});
      if (old) {
        SetState(name, {name, old->config().version, "READY", reason});
      } else {
        SetState(name, {name, newest, "UNAVAILABLE", reason});
      }
      return model.status();
    }
    loaded.push_back(std::move(*model));
  }
  // The new versions serve from here on; other versions of the name go.
  std::set<int64_t> keep;
  for (auto& model : loaded) {
    keep.insert(model->config().version);
    registry_->Put(std::move(model));
  }
  for (const auto& m : registry_->List()) {
    if (m->config().name == name && !keep.count(m->config().version)) {
      registry_->RemoveVersion(name, m->config().version);
      if (metrics_) ModelMetrics::RemoveSeries(*metrics_, name, m->config().version);
    }
  }
  SetState(name, {name, newest, "READY", ""});
  return absl::OkStatus();
}

Status ModelManager::Unload(const std::string& name) {
  RETURN_IF_ERROR(RefuseControl(mode_));
  MutexLock lock(&load_mu_);
  return UnloadLocked(name);
}

void ModelManager::RecordFingerprint(const std::string& name) {
  if (mode_ != ModelControlMode::kPoll || !repository_) return;
  fingerprints_[name] = FolderFingerprint(*repository_ / name);
}

StatusOr<int> ModelManager::Poll() {
  if (mode_ != ModelControlMode::kPoll || !repository_) {
    return absl::FailedPreconditionError("Poll needs model_control mode poll and a repository");
  }
  MutexLock lock(&load_mu_);
  std::map<std::string, std::string> seen;  // folder -> fingerprint
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(*repository_, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory(ec) || !fs::is_regular_file(entry.path() / "model.yaml", ec) ||
        !ValidateModelName(name).ok() || list_models_.count(name)) {
      continue;
    }
    seen[name] = FolderFingerprint(entry.path());
  }
  if (ec) {
    return absl::InternalError(
        StrCat("cannot scan the repository ", repository_->string(), ": ", ec.message()));
  }
  int changed = 0;
  for (const auto& [name, fingerprint] : seen) {
    auto known = fingerprints_.find(name);
    if (known != fingerprints_.end() && known->second == fingerprint) continue;
    fingerprints_[name] = fingerprint;  // a failed load is retried when the files change
    Log(LogLevel::kInfo, "repository_changed",
        {{"model", name}, {"change", known == fingerprints_.end() ? "new" : "modified"}});
    (void)LoadLocked(name);  // errors are in the index (state, reason) and the log
    ++changed;
  }
  for (auto it = fingerprints_.begin(); it != fingerprints_.end();) {
    if (seen.count(it->first)) {
      ++it;
      continue;
    }
    Log(LogLevel::kInfo, "repository_changed", {{"model", it->first}, {"change", "removed"}});
    if (registry_->Get(it->first) != nullptr) {
      (void)UnloadLocked(it->first);
      ++changed;
    }
    it = fingerprints_.erase(it);
  }
  return changed;
}

Status ModelManager::UnloadLocked(const std::string& name) {
  RETURN_IF_ERROR(ValidateModelName(name));
  std::vector<int64_t> versions;
  for (const auto& m : registry_->List()) {
    if (m->config().name == name) versions.push_back(m->config().version);
  }
  if (versions.empty()) return absl::NotFoundError(StrCat("model '", name, "' is not loaded"));
  SetState(name, {name, versions.back(), "UNLOADING", ""});
  registry_->Remove(name);
  if (metrics_) {
    for (int64_t v : versions) ModelMetrics::RemoveSeries(*metrics_, name, v);
  }
  SetState(name, {name, versions.back(), "UNAVAILABLE", "unloaded"});
  Log(LogLevel::kInfo, "model_unloaded", {{"model", name}});
  return absl::OkStatus();
}

namespace {

std::optional<std::string> ReadIfPresent(const fs::path& path) {
  StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return std::nullopt;
  return std::move(*text);
}

// Puts `path` back to `old` content (or removes it when it did not exist).
void Restore(const fs::path& path, const std::optional<std::string>& old) {
  std::error_code ec;
  if (!old) {
    fs::remove(path, ec);
  } else if (Status s = WriteFileDurably(path, *old); !s.ok()) {
    Log(LogLevel::kError, "model_upload_restore_failed",
        {{"file", path.string()}, {"error", std::string(ToStd(s.message()))}});
  }
}

}  // namespace

StatusOr<ModelConfig> ModelManager::Install(const ModelUpload& upload) {
  if (!repository_) {
    return absl::FailedPreconditionError(
        "this server has no model repository to add models to (set model_repository in the "
        "server config)");
  }
  RETURN_IF_ERROR(ValidateModelName(upload.name));
  if (list_models_.count(upload.name)) {
    return absl::FailedPreconditionError(
        StrCat("model '", upload.name,
               "' is defined in the server config's model list; upload under another name"));
  }
  ASSIGN_OR_RETURN(std::string yaml, BuildUploadYaml(upload));
  std::string artifact_name = "model.pt";
  if (YAML::Node node = YAML::Load(yaml); node["artifact"].IsDefined()) {
    artifact_name = node["artifact"].as<std::string>();
  } else if (node["backend"].IsDefined()) {
    artifact_name = DefaultArtifactName(node["backend"].as<std::string>());
  }
  std::error_code ec;
  if (upload.artifact.empty() || !fs::is_regular_file(upload.artifact, ec)) {
    return absl::InvalidArgumentError("the model file is missing (form field 'model')");
  }

  MutexLock lock(&load_mu_);
  const fs::path dir = *repository_ / upload.name;
  const bool new_dir = !fs::exists(dir, ec);
  const int64_t version = upload.version ? *upload.version : HighestVersionFolder(dir) + 1;
  if (version < 1) return absl::InvalidArgumentError("'version' must be a positive integer");
  const fs::path version_dir = dir / std::to_string(version);
  if (fs::exists(version_dir, ec)) {
    return absl::AlreadyExistsError(
        StrCat("model '", upload.name, "' already has a version ", version,
               " (versions are never overwritten; leave 'version' out to add the next one)"));
  }
  const std::optional<std::string> old_yaml = ReadIfPresent(dir / "model.yaml");
  const std::optional<std::string> old_labels = ReadIfPresent(dir / "labels.txt");
  auto rollback = [&] {
    std::error_code rm;
    if (new_dir) {
      fs::remove_all(dir, rm);
      return;
    }
    fs::remove_all(version_dir, rm);
    Restore(dir / "model.yaml", old_yaml);
    if (upload.labels) Restore(dir / "labels.txt", old_labels);
  };
  Status written = [&]() -> Status {
    std::error_code mk;
    fs::create_directories(version_dir, mk);
    if (mk)
      return absl::InternalError(
          StrCat("cannot create ", version_dir.string(), ": ", mk.message()));
    RETURN_IF_ERROR(CopyFileDurably(upload.artifact, version_dir / artifact_name));
    if (upload.labels) RETURN_IF_ERROR(CopyFileDurably(*upload.labels, dir / "labels.txt"));
    return WriteFileDurably(dir / "model.yaml", yaml);
  }();
  if (!written.ok()) {
    rollback();
    return absl::InternalError(
        StrCat("cannot write the model into the repository: ", written.message()));
  }
  // A higher version folder (one held back by the versions API) must not be served
  // by the `latest` policy instead of the upload: pin the upload.
  if (HighestVersionFolder(dir) > version) {
    if (Status pinned = WriteVersionPin(dir, version); !pinned.ok()) {
      rollback();
      return absl::InternalError(
          StrCat("cannot write the model into the repository: ", pinned.message()));
    }
  }
  Status loaded = LoadLocked(upload.name);
  if (!loaded.ok()) {
    rollback();
    if (new_dir) {
      MutexLock state_lock(&state_mu_);
      states_.erase(upload.name);
    }
    return absl::InvalidArgumentError(
        StrCat("the uploaded model did not load (nothing was changed): ", loaded.message()));
  }
  RecordFingerprint(upload.name);  // the poller need not load it again
  Log(LogLevel::kInfo, "model_uploaded",
      {{"model", upload.name}, {"version", std::to_string(version)}, {"runner", upload.runner}});
  std::shared_ptr<Model> model = registry_->Get(upload.name);
  if (model == nullptr) return absl::InternalError("the uploaded model was unloaded meanwhile");
  return model->config();
}

StatusOr<fs::path> ModelManager::VersionedFolder(const std::string& name) const {
  if (!repository_) {
    return absl::FailedPreconditionError(
        "this server has no model repository: model versions live there (set model_repository "
        "in the server config)");
  }
  RETURN_IF_ERROR(ValidateModelName(name));
  if (list_models_.count(name)) {
    return absl::FailedPreconditionError(
        StrCat("model '", name,
               "' is defined in the server config's model list, which has no versions to add or "
               "activate (serve it from the model repository instead)"));
  }
  const fs::path dir = *repository_ / name;
  std::error_code ec;
  if (!fs::is_regular_file(dir / "model.yaml", ec)) {
    return absl::NotFoundError(
        StrCat("no model '", name, "' in the repository ", repository_->string()));
  }
  return dir;
}

Status ModelManager::CheckCanAddVersion(const std::string& name) const {
  return VersionedFolder(name).status();
}

void ModelManager::ServeOnly(std::shared_ptr<Model> model) {
  const std::string name = model->config().name;
  const int64_t version = model->config().version;
  registry_->Put(std::move(model));
  for (const auto& m : registry_->List()) {
    if (m->config().name == name && m->config().version != version) {
      registry_->RemoveVersion(name, m->config().version);
      if (metrics_) ModelMetrics::RemoveSeries(*metrics_, name, m->config().version);
    }
  }
  SetState(name, {name, version, "READY", ""});
}

StatusOr<int64_t> ModelManager::AddVersion(const std::string& name, const fs::path& artifact,
                                           const nlohmann::json& training_record, bool activate) {
  if (!training_record.is_null() && !training_record.is_object()) {
    return absl::InvalidArgumentError("a version's training record must be a JSON object");
  }
  std::error_code ec;
  if (artifact.empty() || !fs::is_regular_file(artifact, ec)) {
    return absl::InvalidArgumentError(
        StrCat("the new version's artifact ", artifact.string(), " is not a file"));
  }
  MutexLock lock(&load_mu_);
  ASSIGN_OR_RETURN(const fs::path dir, VersionedFolder(name));
  // The version served now is pinned before the new folder appears, so that no node
  // serves the new folder by a `latest` policy before it is activated.
  ASSIGN_OR_RETURN(std::vector<ModelConfig> selected, LoadModelFolderVersions(dir));
  const int64_t current = selected.back().version;
  const std::string artifact_name = selected.back().artifact.filename().string();
  const VersionPolicy& policy = selected.back().version_policy;
  if (policy.kind != VersionPolicy::Kind::kSpecific || policy.specific.size() != 1) {
    if (Status pinned = WriteVersionPin(dir, current); !pinned.ok()) {
      return absl::InternalError(StrCat("cannot pin version ", current, " of '", name,
                                        "' in the repository: ", pinned.message()));
    }
    if (std::shared_ptr<Model> served = registry_->Get(name, current)) ServeOnly(served);
    Log(LogLevel::kInfo, "model_version_pinned",
        {{"model", name}, {"version", std::to_string(current)}});
  }

  // A new folder: create_directory fails on an existing one (another node's), so two
  // writers never share a version number.
  int64_t version = HighestVersionFolder(dir) + 1;
  fs::path version_dir;
  for (int tries = 0;; ++tries, ++version) {
    version_dir = dir / std::to_string(version);
    if (fs::create_directory(version_dir, ec)) break;
    if (ec || tries >= 100) {
      return absl::InternalError(StrCat("cannot create a version folder in ", dir.string(), ": ",
                                        ec ? ec.message() : "every name is taken"));
    }
  }
  auto remove_folder = [&] {
    std::error_code rm;
    fs::remove_all(version_dir, rm);
  };
  Status written = [&]() -> Status {
    if (!training_record.is_null()) {
      nlohmann::json record = training_record;
      if (!record.contains("created_at")) record["created_at"] = UtcNowIso8601();
      if (!record.contains("held_back")) record["held_back"] = !activate;
      RETURN_IF_ERROR(WriteFileDurably(version_dir / "training.json", record.dump(2) + "\n"));
    }
    // Last: a folder holding the artifact is a complete version.
    return CopyFileDurably(artifact, version_dir / artifact_name);
  }();
  if (!written.ok()) {
    remove_folder();
    return absl::InternalError(
        StrCat("cannot write version ", version, " of '", name, "': ", written.message()));
  }
  if (activate) {
    StatusOr<std::shared_ptr<Model>> model = [&]() -> StatusOr<std::shared_ptr<Model>> {
      ASSIGN_OR_RETURN(ModelConfig config, LoadModelFolderVersion(dir, version));
      return Model::Load(std::move(config), LoadOptions());
    }();
    Status pinned = model.ok() ? WriteVersionPin(dir, version) : model.status();
    if (!pinned.ok()) {
      remove_folder();
      RecordFingerprint(name);
      const std::string reason(ToStd(pinned.message()));
      Log(LogLevel::kWarning, "model_version_failed",
          {{"model", name}, {"version", std::to_string(version)}, {"reason", reason}});
      return Status(model.ok() ? absl::StatusCode::kInternal : absl::StatusCode::kInvalidArgument,
                    StrCat("version ", version, " of '", name,
                           model.ok() ? "' could not be pinned in model.yaml" : "' did not load",
                           " and was removed (version ", current, " keeps serving): ", reason));
    }
    ServeOnly(std::move(*model));
  }
  RecordFingerprint(name);  // the poller need not load it again
  Log(LogLevel::kInfo, "model_version_added",
      {{"model", name},
       {"version", std::to_string(version)},
       {"active", activate ? "true" : "false"}});
  return version;
}

Status ModelManager::ActivateVersion(const std::string& name, int64_t version) {
  MutexLock lock(&load_mu_);
  ASSIGN_OR_RETURN(const fs::path dir, VersionedFolder(name));
  ASSIGN_OR_RETURN(ModelConfig config, LoadModelFolderVersion(dir, version));
  std::shared_ptr<Model> old = registry_->Get(name);
  std::shared_ptr<Model> model = registry_->Get(name, version);
  auto failed = [&](const Status& why) {
    const std::string reason(ToStd(why.message()));
    Log(LogLevel::kWarning, "model_activate_failed",
        {{"model", name}, {"version", std::to_string(version)}, {"reason", reason}});
    if (old) {
      SetState(name, {name, old->config().version, "READY", reason});
    } else {
      SetState(name, {name, version, "UNAVAILABLE", reason});
    }
    return why;
  };
  if (model == nullptr) {
    SetState(name, {name, version, "LOADING", ""});
    StatusOr<std::shared_ptr<Model>> loaded = Model::Load(std::move(config), LoadOptions());
    if (!loaded.ok()) {
      return failed(absl::InvalidArgumentError(StrCat(
          "version ", version, " of '", name, "' did not load (",
          old ? StrCat("version ", old->config().version, " keeps serving") : "nothing changed",
          "): ", loaded.status().message())));
    }
    model = std::move(*loaded);
  }
  // Already pinned (activating the active version again): model.yaml is left as it is,
  // so that polling nodes have nothing to reload.
  StatusOr<std::vector<ModelConfig>> selected = LoadModelFolderVersions(dir);
  const bool pinned_already =
      selected.ok() && selected->size() == 1 && selected->front().version == version &&
      selected->front().version_policy.kind == VersionPolicy::Kind::kSpecific;
  if (Status pinned = pinned_already ? absl::OkStatus() : WriteVersionPin(dir, version);
      !pinned.ok()) {
    return failed(absl::InternalError(StrCat("cannot pin version ", version, " of '", name,
                                             "' in the repository: ", pinned.message())));
  }
  ServeOnly(std::move(model));
  RecordFingerprint(name);
  Log(LogLevel::kInfo, "model_version_activated",
      {{"model", name}, {"version", std::to_string(version)}});
  return absl::OkStatus();
}

StatusOr<std::vector<ModelVersionInfo>> ModelManager::Versions(const std::string& name) const {
  RETURN_IF_ERROR(ValidateModelName(name));
  if (auto it = list_models_.find(name); it != list_models_.end()) {
    ModelVersionInfo info;
    info.version = it->second.version;
    info.active = registry_->Get(name, info.version) != nullptr;
    return std::vector<ModelVersionInfo>{info};
  }
  std::error_code ec;
  if (!repository_ || !fs::is_regular_file(*repository_ / name / "model.yaml", ec)) {
    return absl::NotFoundError(StrCat("no model '", name, "' in the repository",
                                      repository_ ? StrCat(" ", repository_->string()) : "",
                                      " or the config"));
  }
  const fs::path dir = *repository_ / name;
  ASSIGN_OR_RETURN(std::vector<int64_t> versions, ModelFolderVersions(dir));
  std::vector<ModelVersionInfo> out;
  for (int64_t v : versions) {
    ModelVersionInfo info;
    info.version = v;
    info.active = registry_->Get(name, v) != nullptr;
    StatusOr<nlohmann::json> record = ReadTrainingRecord(dir, v);
    if (record.ok()) {
      info.training = std::move(*record);
      info.parent = ParentVersion(info.training);
    } else {
      Log(LogLevel::kWarning, "training_record_unreadable",
          {{"model", name},
           {"version", std::to_string(v)},
           {"error", std::string(ToStd(record.status().message()))}});
    }
    out.push_back(std::move(info));
  }
  return out;
}

void ModelManager::SetState(const std::string& name, ModelState state) {
  MutexLock lock(&state_mu_);
  states_[name] = std::move(state);
}

bool ModelManager::Ready(std::string* why) const {
  std::map<std::string, ModelState> rows;
  {
    MutexLock lock(&state_mu_);
    rows = states_;
  }
  for (const auto& [name, row] : rows) {
    if (row.state == "READY" || registry_->Get(name) != nullptr) continue;
    if (row.state == "UNAVAILABLE" && row.reason == "unloaded") continue;
    if (why != nullptr) {
      *why =
          row.state == "UNAVAILABLE"
              ? StrCat("model '", name, "' is not available: ", row.reason)
              : StrCat("model '", name, "' is ", row.state == "LOADING" ? "loading" : "unloading");
    }
    return false;
  }
  return true;
}

std::vector<ModelState> ModelManager::Index(bool ready_only) const {
  std::map<std::string, ModelState> rows;
  {
    MutexLock lock(&state_mu_);
    rows = states_;
  }
  // Repository folders never loaded yet.
  std::error_code ec;
  if (repository_) {
    for (const auto& entry : fs::directory_iterator(*repository_, ec)) {
      const std::string name = entry.path().filename().string();
      if (entry.is_directory(ec) && fs::is_regular_file(entry.path() / "model.yaml", ec) &&
          !rows.count(name)) {
        rows[name] = {name, std::nullopt, "UNAVAILABLE", "not loaded"};
      }
    }
  }
  std::vector<ModelState> out;
  for (auto& [name, row] : rows) {
    if (!ready_only || row.state == "READY") out.push_back(std::move(row));
  }
  return out;
}

}  // namespace infera
