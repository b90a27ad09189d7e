// The store registry: the one explicit list of storage drivers infera can keep its
// records, users and blobs in (store_registry.cc), chosen by `storage: {driver}` in the
// server's config — as backends are chosen by name: "sqlite" (one machine) and
// "postgres" (several nodes on one database; `storage: {url: ...}` selects it). A
// driver is its files in store/ plus one entry there; the server and the CLI open
// stores only through here.
//
// Thread-safety: the functions are reentrant; what they return has its own contract.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/annotation_store.h"
#include "store/blob_store.h"
#include "store/job_changes.h"
#include "store/store.h"
#include "store/user_store.h"

namespace infera {

// StorageOptions: where records, users and blobs are kept (the config's `storage:`).
struct StorageOptions {
  std::string driver = "sqlite";  // "sqlite" or "postgres"
  // sqlite: the folder holding infera.db (records and users) and blobs/.
  std::filesystem::path path;
  // postgres: the database, "postgresql://user[:password]@host[:port]/db" (a libpq URI);
  // records, users and blobs all live in it.
  std::string url;
  // Injected clock for the records and users (tests); empty: the system clock.
  std::function<int64_t()> now_ms;
  // When set (`blobs: {path: DIR}`), blobs are files in this folder (the filesystem blob
  // store, as sqlite's blobs/) whatever the driver: for a cluster, a folder every node
  // mounts, so the database holds only records. Empty: the driver's own place.
  std::filesystem::path blobs_path = {};
};

// Each opens its part of the storage `options` names. InvalidArgument for an unknown
// driver (naming the known ones) or options the driver cannot use; otherwise the
// driver's own errors, prefixed with the storage's location.
StatusOr<std::unique_ptr<Store>> OpenRecordStore(const StorageOptions& options);
StatusOr<std::unique_ptr<UserStore>> OpenUserStore(const StorageOptions& options);
StatusOr<std::unique_ptr<BlobStore>> OpenBlobStore(const StorageOptions& options);
// The annotation sets, on the records' database (annotation_store.h). Unimplemented for a
// driver that does not have them yet.
StatusOr<std::unique_ptr<AnnotationStore>> OpenAnnotationStore(const StorageOptions& options);

// A secret shared by every node of the storage (`name`, e.g. the JWT signing secret):
// for a driver with a shared database (postgres) the stored one, made by `generate` the
// first time; nullopt for a driver whose nodes share nothing (sqlite: the caller keeps
// it in a file beside the data).
StatusOr<std::optional<std::string>> LoadOrCreateSharedSecret(
    const StorageOptions& options, const std::string& name,
    const std::function<StatusOr<std::string>()>& generate);

// A listener that calls `on_change` when another node on the storage changes a job
// (job_changes.h); nullptr for a driver whose nodes share nothing (sqlite). Errors as
// OpenRecordStore's for the options.
StatusOr<std::unique_ptr<JobChangeListener>> ListenForJobChanges(const StorageOptions& options,
                                                                 std::function<void()> on_change);

// The registered drivers, in registry order.
std::vector<std::string> StoreDriverNames();

}  // namespace infera
