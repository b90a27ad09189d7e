#include "store/store_registry.h"

#include <string_view>

#include "common/strings.h"
#include "store/postgres_db.h"
#include "store/postgres_store.h"
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

StatusOr<PostgresStoreOptions> PostgresOptions(const StorageOptions& o) {
  if (o.url.empty()) {
    return absl::InvalidArgumentError(
        "storage driver postgres needs a url (postgresql://user@host:port/db)");
  }
  return PostgresStoreOptions{.url = o.url, .now_ms = o.now_ms};
}

StatusOr<std::unique_ptr<Store>> PostgresRecords(const StorageOptions& o) {
  ASSIGN_OR_RETURN(PostgresStoreOptions options, PostgresOptions(o));
  return OpenPostgresStore(options);
}

StatusOr<std::unique_ptr<UserStore>> PostgresUsers(const StorageOptions& o) {
  ASSIGN_OR_RETURN(PostgresStoreOptions options, PostgresOptions(o));
  return OpenPostgresUserStore(options);
}

StatusOr<std::unique_ptr<BlobStore>> PostgresBlobs(const StorageOptions& o) {
  ASSIGN_OR_RETURN(PostgresStoreOptions options, PostgresOptions(o));
  return OpenPostgresBlobStore(options);
}

StatusOr<std::unique_ptr<AnnotationStore>> PostgresAnnotations(const StorageOptions& o) {
  ASSIGN_OR_RETURN(PostgresStoreOptions options, PostgresOptions(o));
  return OpenPostgresAnnotationStore(options);
}

// The drivers. One line per storage driver.
constexpr StoreDriver kDrivers[] = {
    {"sqlite", SqliteRecords, SqliteUsers, FsBlobs, SqliteAnnotations},
    {"postgres", PostgresRecords, PostgresUsers, PostgresBlobs, PostgresAnnotations},
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
  const std::string where =
      options.driver == "postgres" ? RedactPgUrl(options.url) : options.path.string();
  return absl::Status(opened.status().code(),
                      StrCat("storage ", where, ": ", opened.status().message()));
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
  if (!options.blobs_path.empty()) {
    StatusOr<std::unique_ptr<BlobStore>> opened = OpenFsBlobStore(options.blobs_path);
    if (opened.ok()) return opened;
    return absl::Status(opened.status().code(), StrCat("blobs ", options.blobs_path.string(), ": ",
                                                       opened.status().message()));
  }
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

StatusOr<std::optional<std::string>> LoadOrCreateSharedSecret(
    const StorageOptions& options, const std::string& name,
    const std::function<StatusOr<std::string>()>& generate) {
  ASSIGN_OR_RETURN(const StoreDriver* driver, FindDriver(options));
  if (driver->name != "postgres") return std::optional<std::string>();
  ASSIGN_OR_RETURN(PostgresStoreOptions pg, PostgresOptions(options));
  ASSIGN_OR_RETURN(std::string secret,
                   Located(options, LoadOrCreatePostgresSecret(pg, name, generate)));
  return std::optional<std::string>(std::move(secret));
}

StatusOr<std::unique_ptr<JobChangeListener>> ListenForJobChanges(const StorageOptions& options,
                                                                 std::function<void()> on_change) {
  ASSIGN_OR_RETURN(const StoreDriver* driver, FindDriver(options));
  if (driver->name != "postgres") return std::unique_ptr<JobChangeListener>();
  ASSIGN_OR_RETURN(PostgresStoreOptions pg, PostgresOptions(options));
  return ListenForPostgresJobChanges(pg.url, std::move(on_change));
}

std::vector<std::string> StoreDriverNames() {
  std::vector<std::string> names;
  for (const StoreDriver& d : kDrivers) names.emplace_back(d.name);
  return names;
}

}  // namespace infera
