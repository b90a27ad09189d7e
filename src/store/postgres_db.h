// PostgreSQL connections for the PostgreSQL stores, on libpq (Debian's libpq-dev). libpq
// stays private to store/ (cmake/layers.cmake): this header names its types only by
// forward declaration, so callers (the stores, the tests) never include <libpq-fe.h>.
//
//   ASSIGN_OR_RETURN(PgPool::Lease conn, pool.Acquire());
//   ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*conn));
//   ASSIGN_OR_RETURN(PgResult r, conn->Exec("SELECT id FROM jobs WHERE id = $1", id));
//   RETURN_IF_ERROR(txn.Commit());
//
// Parameters are sent as text ($1, $2, ...); a C++ value becomes its text (integers,
// doubles, bools as 't'/'f', strings verbatim), std::nullopt becomes NULL. Results are read
// as text and converted by PgResult.
//
// Errors map PostgreSQL's SQLSTATE to Status codes: unique_violation (23505) is
// AlreadyExists; other integrity violations (23xxx) and data exceptions (22xxx, e.g.
// invalid UTF-8) are InvalidArgument; serialization failures, deadlocks, lock timeouts,
// a lost connection or a server shutting down are Unavailable; anything else is Internal.
// Messages start with "postgres: " and end with the SQLSTATE.
//
// Thread-safety: a PgConnection is used by one thread at a time (the pool hands each
// out to one caller); PgPool is thread-safe; PgResult is immutable once made.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "common/strings.h"

struct pg_conn;
struct pg_result;

namespace infera {

// One query's rows (owns the PGresult).
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(pg_result* res);
  PgResult(PgResult&& other) noexcept;
  PgResult& operator=(PgResult&& other) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  ~PgResult();

  int rows() const;
  int64_t affected() const;  // rows an INSERT/UPDATE/DELETE touched
  bool IsNull(int row, int col) const;
  // The value's text ("" for NULL); Int/Double/Bool parse it (0 / false for NULL).
  std::string Text(int row, int col) const;
  int64_t Int(int row, int col) const;
  double Double(int row, int col) const;
  bool Bool(int row, int col) const;
  // The raw bytes of a bytea column read in binary format (ExecBinary).
  std::string_view Bytes(int row, int col) const;

 private:
  pg_result* res_ = nullptr;
};

// The parameters of a query, as text or NULL.
using PgParams = std::vector<std::optional<std::string>>;

// The text of one parameter.
inline std::optional<std::string> PgParam(std::nullopt_t) { return std::nullopt; }
inline std::optional<std::string> PgParam(std::string_view s) { return std::string(s); }
inline std::optional<std::string> PgParam(const std::string& s) { return s; }
inline std::optional<std::string> PgParam(const char* s) { return std::string(s); }
inline std::optional<std::string> PgParam(bool b) { return std::string(b ? "t" : "f"); }
std::optional<std::string> PgParam(double d);
template <typename T>
requires(std::is_integral_v<T> && !std::is_same_v<T, bool> &&
         !std::is_same_v<T, char>) std::optional<std::string> PgParam(T v) {
  return std::to_string(v);
}
template <typename T>
std::optional<std::string> PgParam(const std::optional<T>& v) {
  if (!v.has_value()) return std::nullopt;
  return PgParam(*v);
}
// An id that is 0 ("none" in the records) is NULL in the tables.
inline std::optional<std::string> PgIdOrNull(int64_t id) {
  if (id == 0) return std::nullopt;
  return std::to_string(id);
}

class PgConnection {
 public:
  // Connects to `url` (a libpq connection URI, "postgresql://user@host:port/db", or a
  // "key=value" connection string). Unavailable when the server cannot be reached or
  // refuses the login (the message says why, without the password).
  static StatusOr<std::unique_ptr<PgConnection>> Connect(const std::string& url);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one statement with text parameters ($1...). InvalidArgument for a parameter
  // holding a NUL byte (PostgreSQL text cannot).
  StatusOr<PgResult> ExecParams(const char* sql, const PgParams& params);
  template <typename... Args>
  StatusOr<PgResult> Exec(const char* sql, const Args&... args) {
    return ExecParams(sql, PgParams{PgParam(args)...});
  }
  // Runs one statement whose results come back in binary format (bytea as raw bytes);
  // `binary_param` (when set) is sent as the binary value of the last parameter.
  StatusOr<PgResult> ExecBinary(const char* sql, const PgParams& params,
                                std::optional<std::string_view> binary_param = std::nullopt);
  // Runs a script of several statements without parameters (migrations).
  Status ExecScript(const char* sql);

  // Whether the connection is usable and outside any transaction (the pool keeps only
  // such connections).
  bool Reusable() const;

  // Waits up to `timeout` for a notification on a channel this connection LISTENs on
  // and returns the channels of those that arrived (empty when none came in time).
  // Unavailable when the connection broke (the caller reconnects).
  StatusOr<std::vector<std::string>> WaitForNotifications(std::chrono::milliseconds timeout);

 private:
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  StatusOr<PgResult> Check(pg_result* res, std::string_view sql);

  pg_conn* conn_;
};

// A transaction on one connection: BEGIN at Begin, COMMIT at Commit, ROLLBACK when it
// goes out of scope uncommitted. The connection must outlive it.
class PgTransaction {
 public:
  // `begin` may name an isolation level ("BEGIN ISOLATION LEVEL REPEATABLE READ").
  static StatusOr<PgTransaction> Begin(PgConnection& conn, const char* begin = "BEGIN");
  PgTransaction(PgTransaction&& other) noexcept
      : conn_(other.conn_), done_(std::exchange(other.done_, true)) {}
  PgTransaction& operator=(PgTransaction&&) = delete;
  ~PgTransaction();
  Status Commit();

 private:
  explicit PgTransaction(PgConnection* conn) : conn_(conn) {}
  PgConnection* conn_;
  bool done_ = false;
};

// PgPool: up to `max_connections` connections to one database, opened on demand and
// reused. Acquire waits (up to `wait`) when all are in use; a connection that broke or
// was left inside a transaction is closed instead of returned.
class PgPool {
 public:
  // A connection lent by the pool until the Lease goes out of scope.
  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<PgConnection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    PgConnection* operator->() const { return conn_.get(); }
    PgConnection& operator*() const { return *conn_; }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  // Connects once to check `url` (its errors returned), then keeps that connection.
  static StatusOr<std::unique_ptr<PgPool>> Open(
      const std::string& url, int max_connections = 8,
      std::chrono::milliseconds wait = std::chrono::seconds(30));

  // Unavailable when no connection frees up within the pool's wait, or a new one
  // cannot be opened.
  StatusOr<Lease> Acquire();
  const std::string& url() const { return url_; }

 private:
  PgPool(std::string url, int max_connections, std::chrono::milliseconds wait)
      : url_(std::move(url)), max_(max_connections), wait_(wait) {}
  void Return(std::unique_ptr<PgConnection> conn);

  const std::string url_;
  const int max_;
  const std::chrono::milliseconds wait_;
  Mutex mu_;
  CondVar freed_;
  std::vector<std::unique_ptr<PgConnection>> idle_ GUARDED_BY(mu_);
  int open_ GUARDED_BY(mu_) = 0;  // idle + lent
};

// The URL with any password replaced by "***", for messages and logs.
std::string RedactPgUrl(std::string_view url);

}  // namespace infera
