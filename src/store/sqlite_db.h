// SqliteDb: one SQLite connection, with a cache of prepared statements, and the two
// helpers the SQLite store is written with: SqliteStatement (bind parameters, step,
// read columns) and SqliteTransaction (BEGIN ... COMMIT, rolled back unless committed).
//
// Values only ever reach SQL as bound parameters; the SQL text is always a constant.
//
// Thread-safety: none. A SqliteDb and the statements and transactions made from it are
// used by one thread at a time (SqliteStore serialises all use with its mutex). The
// connection is opened with SQLITE_OPEN_NOMUTEX for that reason.
// Ownership: statements and transactions borrow their SqliteDb and must not outlive it.
// Errors (SqliteStatus): SQLITE_BUSY / SQLITE_LOCKED -> Unavailable (another process
// held the write lock longer than the busy timeout); UNIQUE / PRIMARY KEY constraint ->
// AlreadyExists; other constraints -> InvalidArgument; anything else -> Internal.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace infera {

// The Status for SQLite result code `rc` on `db` (whose errmsg is included), `what`
// saying what was being done.
Status SqliteStatus(sqlite3* db, int rc, std::string_view what);

// A bound integer that is stored as NULL when zero (an optional foreign key: the store's
// records use 0 for "none").
struct NullIfZero {
  int64_t value;
};

class SqliteStatement {
 public:
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&&) = delete;
  // Resets the statement and returns it to the cache (or finalizes an uncached one).
  ~SqliteStatement();

  // Binds the arguments to parameters ?1, ?2, ... in order. Supported: integers, bool,
  // double, strings and string views (copied by SQLite), NullIfZero, std::nullopt and
  // std::optional of those (NULL when empty).
  // A binding error is reported by the next Step / Run.
  template <typename... Args>
  SqliteStatement& Bind(const Args&... args) {
    int index = 1;
    (BindOne(index++, args), ...);
    return *this;
  }

  // Steps once: true when a row is ready to read, false when the statement is done.
  StatusOr<bool> Step();
  // Steps to completion (for statements that return no rows).
  Status Run();

  // Columns of the current row, 0-based. NULL reads as 0 / "".
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string Text(int col) const;

 private:
  friend class SqliteDb;
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt, bool* in_use);

  void BindOne(int index, int64_t v);
  void BindOne(int index, int v) { BindOne(index, static_cast<int64_t>(v)); }
  void BindOne(int index, bool v) { BindOne(index, static_cast<int64_t>(v ? 1 : 0)); }
  void BindOne(int index, double v);
  void BindOne(int index, std::string_view v);
  void BindOne(int index, const std::string& v) { BindOne(index, std::string_view(v)); }
  void BindOne(int index, const char* v) { BindOne(index, std::string_view(v)); }
  void BindOne(int index, NullIfZero v);
  void BindOne(int index, std::nullopt_t);
  template <typename T>
  void BindOne(int index, const std::optional<T>& v) {
    if (v.has_value()) {
      BindOne(index, *v);
    } else {
      BindOne(index, std::nullopt);
    }
  }
  void Check(int rc, int index);

  sqlite3* db_;
  sqlite3_stmt* stmt_;  // owned when in_use_ is null, else the cache's
  bool* in_use_;        // the cache slot's flag, cleared on destruction
  int bind_rc_ = SQLITE_OK;
  int bind_index_ = 0;
};

class SqliteDb {
 public:
  // Opens (creating) the database file with extended result codes on. Sets no pragmas.
  static StatusOr<std::unique_ptr<SqliteDb>> Open(const std::filesystem::path& file);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs constant SQL (one or more statements, no parameters, rows ignored).
  Status Exec(const char* sql);
  // A statement for constant SQL `sql` (the pointer identifies the cache entry, so pass
  // string literals). When the cached statement is already in use (a nested use of the
  // same SQL), a fresh one is prepared.
  StatusOr<SqliteStatement> Prepare(const char* sql);
  // rowid of the last INSERT on this connection.
  int64_t LastInsertId() const { return sqlite3_last_insert_rowid(db_); }
  sqlite3* raw() const { return db_; }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}

  struct CachedStatement {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };

  sqlite3* db_;  // owned
  std::map<const char*, CachedStatement> cache_;
};

// A transaction on a SqliteDb: rolled back on destruction unless Commit succeeded.
class SqliteTransaction {
 public:
  enum class Mode {
    kDeferred,   // BEGIN: for reads (one consistent snapshot)
    kImmediate,  // BEGIN IMMEDIATE: for writes (takes the write lock up front, so a
                 // read-then-write never fails with SQLITE_BUSY half-way)
  };
  static StatusOr<SqliteTransaction> Begin(SqliteDb& db, Mode mode);
  SqliteTransaction(SqliteTransaction&& other) noexcept;
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  ~SqliteTransaction();

  Status Commit();

 private:
  explicit SqliteTransaction(SqliteDb* db) : db_(db) {}
  SqliteDb* db_;  // null once committed or rolled back
};

}  // namespace infera
