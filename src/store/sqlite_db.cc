#include "store/sqlite_db.h"

#include <utility>

#include "common/out_of_space.h"
#include "common/strings.h"

namespace infera {

Status SqliteStatus(sqlite3* db, int rc, std::string_view what) {
  const char* detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string message = StrCat(what, ": ", detail, " (sqlite ", rc, ")");
  // SQLITE_FULL, or an I/O error whose cause was ENOSPC: the disk is full.
  if ((rc & 0xff) == SQLITE_FULL || (db != nullptr && (rc & 0xff) == SQLITE_IOERR &&
                                     IsOutOfSpaceErrno(sqlite3_system_errno(db)))) {
    return OutOfSpaceError(message);
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return absl::AlreadyExistsError(message);
      }
      return absl::InvalidArgumentError(message);
    default:
      return absl::InternalError(message);
  }
}

// --- SqliteStatement ---

SqliteStatement::SqliteStatement(sqlite3* db, sqlite3_stmt* stmt, bool* in_use)
    : db_(db), stmt_(stmt), in_use_(in_use) {}

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      in_use_(std::exchange(other.in_use_, nullptr)),
      bind_rc_(other.bind_rc_),
      bind_index_(other.bind_index_) {}

SqliteStatement::~SqliteStatement() {
  if (stmt_ == nullptr) return;
  if (in_use_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    *in_use_ = false;
  } else {
    sqlite3_finalize(stmt_);
  }
}

void SqliteStatement::Check(int rc, int index) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) {
    bind_rc_ = rc;
    bind_index_ = index;
  }
}

void SqliteStatement::BindOne(int index, int64_t v) {
  Check(sqlite3_bind_int64(stmt_, index, v), index);
}

void SqliteStatement::BindOne(int index, double v) {
  Check(sqlite3_bind_double(stmt_, index, v), index);
}

void SqliteStatement::BindOne(int index, std::string_view v) {
  Check(sqlite3_bind_text64(stmt_, index, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
        index);
}

void SqliteStatement::BindOne(int index, NullIfZero v) {
  if (v.value == 0) {
    Check(sqlite3_bind_null(stmt_, index), index);
  } else {
    BindOne(index, v.value);
  }
}

void SqliteStatement::BindOne(int index, std::nullopt_t) {
  Check(sqlite3_bind_null(stmt_, index), index);
}

StatusOr<bool> SqliteStatement::Step() {
  if (bind_rc_ != SQLITE_OK) {
    return SqliteStatus(db_, bind_rc_,
                        StrCat("binding parameter ", bind_index_, " of ", sqlite3_sql(stmt_)));
  }
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteStatus(db_, rc, StrCat("running ", sqlite3_sql(stmt_)));
}

Status SqliteStatement::Run() {
  while (true) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return absl::OkStatus();
  }
}

std::string SqliteStatement::Text(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_, col);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

// --- SqliteDb ---

StatusOr<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::filesystem::path& file) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status status = SqliteStatus(db, rc, StrCat("opening ", file.string()));
    sqlite3_close_v2(db);  // a handle is returned even on failure
    return status;
  }
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<SqliteDb>(new SqliteDb(db));
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.stmt);
  sqlite3_close_v2(db_);
}

Status SqliteDb::Exec(const char* sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
  sqlite3_free(error);  // sqlite3_errmsg has the same text
  if (rc != SQLITE_OK) return SqliteStatus(db_, rc, StrCat("running ", sql));
  return absl::OkStatus();
}

StatusOr<SqliteStatement> SqliteDb::Prepare(const char* sql) {
  CachedStatement& cached = cache_[sql];
  if (cached.in_use || cached.stmt == nullptr) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql, -1, cached.in_use ? 0 : SQLITE_PREPARE_PERSISTENT,
                                      &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return SqliteStatus(db_, rc, StrCat("preparing ", sql));
    }
    if (cached.in_use) return SqliteStatement(db_, stmt, nullptr);
    cached.stmt = stmt;
  }
  cached.in_use = true;
  return SqliteStatement(db_, cached.stmt, &cached.in_use);
}

// --- SqliteTransaction ---

StatusOr<SqliteTransaction> SqliteTransaction::Begin(SqliteDb& db, Mode mode) {
  RETURN_IF_ERROR(db.Exec(mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN"));
  return SqliteTransaction(&db);
}

SqliteTransaction::SqliteTransaction(SqliteTransaction&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)) {}

SqliteTransaction::~SqliteTransaction() {
  // A failed statement may already have rolled the transaction back; ROLLBACK then
  // fails harmlessly ("no transaction is active").
  if (db_ != nullptr && !sqlite3_get_autocommit(db_->raw())) db_->Exec("ROLLBACK").IgnoreError();
}

Status SqliteTransaction::Commit() {
  SqliteDb* db = std::exchange(db_, nullptr);
  Status status = db->Exec("COMMIT");
  if (!status.ok() && !sqlite3_get_autocommit(db->raw())) db->Exec("ROLLBACK").IgnoreError();
  return status;
}

}  // namespace infera
