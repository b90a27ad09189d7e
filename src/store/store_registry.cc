#include "store/store_registry.h"

#include <string_view>

#include "common/strings.h"
#include "store/sqlite_annotation_store.h"
#include "store/sqlite_store.h"
#include "store/sqlite_user_store.h"

namespace infera {

namespace {

namespace fs = std::filesystem;

struct StoreDriver {
  std::string_view name;
  StatusOr<std::unique_ptr<Store>> (*records)(const StorageOptions&);
  StatusOr<std::unique_ptr<UserStore>> (*users)(const StorageOptions&);
  StatusOr<std::unique_ptr<BlobStore>> (*blobs)(const StorageOptions&);
  // Null for a driver without annotation sets yet (OpenAnnotationStore: Unimplemented).
  StatusOr<std::unique_ptr<AnnotationStore>> (*annotations)(const StorageOptions&) = nullptr;
};

Status NeedsPath(const StorageOptions& o) {
  if (o.path.empty()) return absl::InvalidArgumentError("storage driver sqlite needs a path");
  return absl::OkStatus();
}

StatusOr<std::unique_ptr<Store>> SqliteRecords(const StorageOptions& o) {
  RETURN_IF_ERROR(NeedsPath(o));
  SqliteStoreOptions options;
  options.now_ms = o.now_ms;
  return OpenSqliteStore(o.path / "infera.db", options);
}

StatusOr<std::unique_ptr<UserStore>> SqliteUsers(const StorageOptions& o) {
  RETURN_IF_ERROR(NeedsPath(o));
  SqliteUserStoreOptions options;
  options.now_ms = o.now_ms;
  return OpenSqliteUserStore(o.path / "infera.db", options);
}

StatusOr<std::unique_ptr<AnnotationStore>> SqliteAnnotations(const StorageOptions& o) {
  RETURN_IF_ERROR(NeedsPath(o));
  SqliteAnnotationStoreOptions options;
  options.now_ms = o.now_ms;
  return OpenSqliteAnnotationStore(o.path / "infera.db", options);
}

StatusOr<std::unique_ptr<BlobStore>> FsBlobs(const StorageOptions& o) {
  RETURN_IF_ERROR(NeedsPath(o));
  return OpenFsBlobStore(o.path / "blobs");
}

// The drivers. One line per storage driver.
constexpr StoreDriver kDrivers[] = {
    {"sqlite", SqliteRecords, SqliteUsers, FsBlobs, SqliteAnnotations},
};

StatusOr<const StoreDriver*> FindDriver(const StorageOptions& options) {
  for (const StoreDriver& d : kDrivers) {
    if (d.name == options.driver) return &d;
  }
  return absl::InvalidArgumentError(StrCat("unknown storage driver '", options.driver,
                                           "' (known: ", StrJoin(StoreDriverNames(), ", "), ")"));
}

// The driver's error, saying which storage it was about.
template <typename T>
StatusOr<T> Located(const StorageOptions& options, StatusOr<T> opened) {
  if (opened.ok()) return opened;
  return absl::Status(opened.status().code(),
                      StrCat("storage ", options.path.string(), ": ", opened.status().message()));
}

}  // namespace

StatusOr<std::unique_ptr<Store>> OpenRecordStore(const StorageOptions& options) {
  ASSIGN_OR_RETURN(const StoreDriver* driver, FindDriver(options));
  return Located(options, driver->records(options));
}

StatusOr<std::unique_ptr<UserStore>> OpenUserStore(const StorageOptions& options) {
  ASSIGN_OR_RETURN(const StoreDriver* driver, FindDriver(options));
  return Located(options, driver->users(options));
}

StatusOr<std::unique_ptr<BlobStore>> OpenBlobStore(const StorageOptions& options) {
  ASSIGN_OR_RETURN(const StoreDriver* driver, FindDriver(options));
  return Located(options, driver->blobs(options));
}

StatusOr<std::unique_ptr<AnnotationStore>> OpenAnnotationStore(const StorageOptions& options) {
  ASSIGN_OR_RETURN(const StoreDriver* driver, FindDriver(options));
  if (driver->annotations == nullptr) {
    return absl::UnimplementedError(
        StrCat("storage driver '", options.driver, "' has no annotation sets yet"));
  }
  return Located(options, driver->annotations(options));
}

std::vector<std::string> StoreDriverNames() {
  std::vector<std::string> names;
  for (const StoreDriver& d : kDrivers) names.emplace_back(d.name);
  return names;
}

}  // namespace infera
