#include "store/sqlite_open.h"

#include <chrono>
#include <system_error>
#include <thread>

#include "common/private_files.h"
#include "common/strings.h"
#include "store/sqlite_migrations.h"

namespace infera {

namespace {

Status UseWal(SqliteDb& db, int busy_timeout_ms) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms);
  while (true) {
    StatusOr<std::string> mode = [&]() -> StatusOr<std::string> {
      ASSIGN_OR_RETURN(auto st, db.Prepare("PRAGMA journal_mode = WAL"));
      ASSIGN_OR_RETURN(bool row, st.Step());
      return row ? st.Text(0) : "";
    }();
    if (mode.ok() && *mode == "wal") return absl::OkStatus();
    if (mode.ok()) {
      return absl::FailedPreconditionError(
          StrCat("the database cannot use WAL journaling (journal_mode is '", *mode, "')"));
    }
    if (!absl::IsUnavailable(mode.status()) || std::chrono::steady_clock::now() >= deadline) {
      return mode.status();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Sets the connection's pragmas (see sqlite_store.h for why each).
Status Configure(SqliteDb& db, int busy_timeout_ms) {
  // First, so that waiting for another opener's lock applies to the statements below.
  sqlite3_busy_timeout(db.raw(), busy_timeout_ms);
  RETURN_IF_ERROR(UseWal(db, busy_timeout_ms));
  RETURN_IF_ERROR(db.Exec("PRAGMA foreign_keys = ON"));
  RETURN_IF_ERROR(db.Exec("PRAGMA synchronous = FULL"));
  return absl::OkStatus();
}

}  // namespace

StatusOr<std::unique_ptr<SqliteDb>> OpenSqliteDatabase(const std::filesystem::path& db_file,
                                                       int busy_timeout_ms, int64_t now_ms) {
  if (db_file.empty()) return absl::InvalidArgumentError("SQLite database path is empty");
  // Private by default: SQLite gives the -wal and -shm files the database file's mode.
  if (db_file.has_parent_path()) RETURN_IF_ERROR(CreatePrivateDirectories(db_file.parent_path()));
  RETURN_IF_ERROR(CreatePrivateFile(db_file));
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(db_file));
  Status status = Configure(*db, busy_timeout_ms);
  if (status.ok()) status = MigrateSqliteSchema(*db, now_ms);
  if (!status.ok()) {
    return absl::Status(status.code(),
                        StrCat("opening ", db_file.string(), ": ", ToStd(status.message())));
  }
  return db;
}

}  // namespace infera
