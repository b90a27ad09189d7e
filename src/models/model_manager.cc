#include "models/model_manager.h"

#include "common/logging.h"
#include "common/strings.h"
#include "models/model.h"
#include "models/model_metrics.h"

namespace infera {

namespace fs = std::filesystem;

ModelManager::ModelManager(const ServerConfig& config, ModelRegistry* registry,
                           MetricsRegistry* metrics)
    : mode_(config.model_control_explicit ? ModelControlMode::kExplicit : ModelControlMode::kNone),
      repository_(config.model_repository),
      registry_(registry),
      metrics_(metrics),
      config_(config) {
  // A configured model whose artifact is REPO/NAME/VERSION/model.pt came from the
  // repository scan and reloads from its folder; every other one is a list-form model
  // and reloads from its config entry.
  for (const ModelConfig& m : config.models) {
    if (!repository_ || m.artifact.parent_path().parent_path().parent_path() != *repository_) {
      list_models_[m.name] = m;
    }
  }
}

Status ModelManager::LoadAll() {
  std::lock_guard<std::mutex> lock(load_mu_);
  for (const ModelConfig& mc : config_.models) {
    SetState(mc.name, {mc.name, mc.version, "LOADING", ""});
    StatusOr<std::shared_ptr<Model>> model = Model::Load(mc, metrics_);
    if (!model.ok()) {
      SetState(mc.name,
               {mc.name, mc.version, "UNAVAILABLE", std::string(ToStd(model.status().message()))});
      return model.status();
    }
    registry_->Put(std::move(*model));
    SetState(mc.name, {mc.name, mc.version, "READY", ""});
  }
  return absl::OkStatus();
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

Status ModelManager::Load(const std::string& name) {
  if (mode_ == ModelControlMode::kNone) {
    return absl::FailedPreconditionError(
        "model control mode is 'none': models cannot be loaded or unloaded at run time "
        "(set model_control: {mode: explicit})");
  }
  std::lock_guard<std::mutex> lock(load_mu_);
  StatusOr<ModelConfig> config = FindConfig(name);
  if (!config.ok()) return config.status();
  std::shared_ptr<Model> old = registry_->Get(name);
  SetState(name, {name, config->version, "LOADING", ""});
  StatusOr<std::shared_ptr<Model>> model = Model::Load(*config, metrics_);
  if (!model.ok()) {
    const std::string reason(ToStd(model.status().message()));
    Log(LogLevel::kWarning, "model_load_failed", {{"model", name}, {"reason", reason}});
    if (old) {
      SetState(name, {name, old->config().version, "READY", reason});
    } else {
      SetState(name, {name, config->version, "UNAVAILABLE", reason});
    }
    return model.status();
  }
  // The new version serves from here on; other versions of the name go.
  const int64_t version = (*model)->config().version;
  registry_->Put(std::move(*model));
  for (const auto& m : registry_->List()) {
    if (m->config().name == name && m->config().version != version) {
      registry_->RemoveVersion(name, m->config().version);
      if (metrics_) ModelMetrics::RemoveSeries(*metrics_, name, m->config().version);
    }
  }
  SetState(name, {name, version, "READY", ""});
  return absl::OkStatus();
}

Status ModelManager::Unload(const std::string& name) {
  if (mode_ == ModelControlMode::kNone) {
    return absl::FailedPreconditionError(
        "model control mode is 'none': models cannot be loaded or unloaded at run time "
        "(set model_control: {mode: explicit})");
  }
  std::lock_guard<std::mutex> lock(load_mu_);
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

void ModelManager::SetState(const std::string& name, ModelState state) {
  std::lock_guard<std::mutex> lock(state_mu_);
  states_[name] = std::move(state);
}

std::vector<ModelState> ModelManager::Index(bool ready_only) const {
  std::map<std::string, ModelState> rows;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
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
