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
// Versions (AddVersion, ActivateVersion, Versions): a repository model's active version
// is the `version:` pin of its model.yaml (models/model_versions.h: why, and how it
// works with several nodes polling one repository); other version folders are kept and
// not served. They work in every model control mode, as uploads do.
// Thread-safety: all methods are safe from any thread; loads and unloads run one at a
// time (they are serialised), Index never waits for a load.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
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

// One version folder of a repository model (or the one version of a list-form model).
struct ModelVersionInfo {
  int64_t version = 0;
  bool active = false;            // the version served now (loaded in the registry)
  std::optional<int64_t> parent;  // from VERSION/training.json "parent_version"
  nlohmann::json training;        // VERSION/training.json, or null for uploaded versions
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

  // Adds a version to repository model `name`: VERSION (highest + 1) gets `artifact`
  // (copied as the folder's artifact file name) and `training_record` (a JSON object,
  // {"parent_version": N, ...}; created_at and held_back are added when absent) as
  // training.json. activate: it is built, warmed and swapped in live (zero failed
  // requests: requests in flight finish on the old version); a version that does not
  // load is removed again and the old one keeps serving (the loader's error is
  // returned). Otherwise it is written held back: the pin stays on the version served
  // now (written first when model.yaml had none), and it serves only after
  // ActivateVersion. Returns the new version number. FailedPrecondition for models of
  // the config's list or without a repository; NotFound for an unknown model;
  // InvalidArgument for a missing artifact, a record that is not an object or a version
  // that does not load (with the loader's reason); Internal when the repository cannot
  // be written.
  StatusOr<int64_t> AddVersion(const std::string& name, const std::filesystem::path& artifact,
                               const nlohmann::json& training_record, bool activate)
      EXCLUDES(load_mu_);
  // Serves `version` of `name` (roll back or forward) live, as AddVersion's activate:
  // built and warmed (or the loaded one kept), the pin moved, then swapped in; kept
  // across restarts. NotFound for an unknown model or version; FailedPrecondition as
  // AddVersion; InvalidArgument with the loader's reason when it does not load (nothing
  // changes then); Internal when model.yaml cannot be written.
  Status ActivateVersion(const std::string& name, int64_t version) EXCLUDES(load_mu_);
  // OK when versions can be added to `name` (AddVersion's checks before it writes):
  // FailedPrecondition without a repository or for a model of the config's list;
  // NotFound for a model not in the repository; InvalidArgument for a bad name.
  Status CheckCanAddVersion(const std::string& name) const;
  // Every version folder of `name` (holding its artifact), ascending, with lineage; a
  // model of the config's list has its one version. NotFound for an unknown model;
  // model.yaml's error when it does not parse.
  StatusOr<std::vector<ModelVersionInfo>> Versions(const std::string& name) const;

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
  // Checks that `name` is a model folder of the repository that the versions API may
  // change (not a list-form model); its folder.
  StatusOr<std::filesystem::path> VersionedFolder(const std::string& name) const;
  // Makes `model` the only served version of its name: put into the registry first
  // (so lookups never miss), then every other version removed; state READY.
  void ServeOnly(std::shared_ptr<Model> model) REQUIRES(load_mu_);
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
