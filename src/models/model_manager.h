// ModelManager: model control — what is loaded, loading and reloading from the model
// repository, unloading, and the index of every model with its state.
//
// Modes (model_control.mode in the server config, as Triton's):
//   none      every configured model is loaded at start; Load/Unload are refused
//             (FailedPrecondition).
//   explicit  every configured model is loaded at start too, and Load/Unload change
//             the set at run time (POST /v2/repository/models/{m}/load|unload).
//   poll      every configured model is loaded at start; Poll() (a RepositoryPoller
//             calls it every poll_s) rescans the repository: a new model folder is
//             loaded, a folder whose files changed (model.yaml, labels, versions) is
//             reloaded, a folder that is gone is unloaded. Load/Unload are refused
//             (FailedPrecondition): change the files instead.
// A (re)load builds and warms the new version completely before it replaces the old
// one in the ModelRegistry, so requests never see a half-loaded model and requests in
// flight finish on the old one; a broken new version leaves the old one serving, and
// its error shows in Index() (`reason`). Unload removes the model from the registry:
// new requests get 404 at once, requests holding it finish, and it is freed when the
// last one does.
// Thread-safety: all methods are safe from any thread; loads and unloads run one at a
// time (they are serialised), Index never waits for a load.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "metrics/metrics.h"
#include "models/model.h"
#include "models/model_registry.h"
#include "models/model_sources.h"
#include "models/model_upload.h"

namespace infera {

// One row of the repository index.
struct ModelState {
  std::string name;
  std::optional<int64_t> version;  // the loaded (or last attempted) version
  std::string state;               // READY, UNAVAILABLE, LOADING, UNLOADING
  std::string reason;              // why the last load/unload failed, or ""
};

class ModelManager {
 public:
  // `registry` and `metrics` (may be null) must outlive the manager.
  ModelManager(const ModelSources& sources, ModelRegistry* registry, MetricsRegistry* metrics);

  // Loads every configured model; the first failure is returned (start-up stops).
  Status LoadAll() EXCLUDES(load_mu_);

  // Loads or reloads `name`: a model folder of the repository, or a model of the
  // config's list. Errors: FailedPrecondition in mode none; InvalidArgument for a bad
  // name; NotFound for an unknown model; the loader's error otherwise (the previous
  // version, if any, keeps serving).
  Status Load(const std::string& name) EXCLUDES(load_mu_);

  // Unloads every version of `name`. FailedPrecondition in mode none; NotFound when
  // it is not loaded.
  Status Unload(const std::string& name) EXCLUDES(load_mu_);

  // Mode poll: one rescan of the repository (see the file comment). A folder whose
  // load fails keeps its previous version serving (or none) and is retried only once
  // its files change again. Returns how many models it loaded, reloaded or unloaded.
  // FailedPrecondition in the other modes or without a repository.
  StatusOr<int> Poll() EXCLUDES(load_mu_);

  // Adds `upload` to the repository as a new version folder and loads it, in any
  // model control mode (uploads are the /api's own control). model.yaml (and
  // labels.txt) are replaced and VERSION/<artifact> is written in place; the version is
  // built and warmed before it replaces the serving one. When it cannot load, every
  // file is put back as it was and the old version (if any) keeps serving. Returns the
  // config now served. Errors: FailedPrecondition without a repository or for a model of
  // the config's list; AlreadyExists when the version folder exists; InvalidArgument
  // for a bad upload or a model that does not load (with the loader's reason);
  // Internal when the repository cannot be written.
  StatusOr<ModelConfig> Install(const ModelUpload& upload) EXCLUDES(load_mu_);

  // Every model known (configured, in the repository, or loaded), by name.
  // ready_only: only READY rows.
  std::vector<ModelState> Index(bool ready_only) const EXCLUDES(state_mu_);

  // Server readiness (GET /v2/health/ready), as Triton's strict readiness: every model
  // asked for is serving. Not ready while a model with no serving version is loading or
  // unloading, or when a model's last load failed and nothing of it serves (*why: the
  // first such model and its reason). Intentionally unloaded models do not count.
  // Thread-safe.
  bool Ready(std::string* why) const EXCLUDES(state_mu_);

  ModelControlMode mode() const { return mode_; }

  // The config `name` would load with (the list form's, or the repository folder's as
  // it is on disk now). NotFound when unknown. Thread-safe.
  StatusOr<ModelConfig> FindConfig(const std::string& name) const;
  // Every version `name` would load with (its folder's version_policy), ascending.
  StatusOr<std::vector<ModelConfig>> FindConfigs(const std::string& name) const;

 private:
  Status LoadLocked(const std::string& name) REQUIRES(load_mu_);
  Status UnloadLocked(const std::string& name) REQUIRES(load_mu_);
  // Remembers the repository folder's files as loaded (mode poll).
  void RecordFingerprint(const std::string& name) REQUIRES(load_mu_);
  void SetState(const std::string& name, ModelState state) EXCLUDES(state_mu_);
  // What every load passes to Model::Load: the metrics registry, and the batch-size
  // timing cache in the storage folder (<storage>/batch_timings).
  ModelLoadOptions LoadOptions() const;

  const ModelControlMode mode_;
  const std::optional<std::filesystem::path> repository_;
  std::map<std::string, ModelConfig> list_models_;  // the config's list form, by name
  ModelRegistry* const registry_;
  MetricsRegistry* const metrics_;
  const ModelSources sources_;

  Mutex load_mu_;  // serialises Load/Unload
  mutable Mutex state_mu_;
  std::map<std::string, ModelState> states_ GUARDED_BY(state_mu_);
  // Mode poll: each repository folder's files (path, size, mtime) when last loaded.
  std::map<std::string, std::string> fingerprints_ GUARDED_BY(load_mu_);
};

}  // namespace infera
