#include "store/postgres_db.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cstdlib>
#include <utility>

#include "absl/strings/str_format.h"

namespace infera {

namespace {

// libpq's messages end with a newline; keep one line.
std::string Trimmed(const char* message) {
  std::string s = message != nullptr ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

absl::StatusCode CodeOfSqlState(std::string_view state) {
  if (state == "23505") return absl::StatusCode::kAlreadyExists;
  if (state.starts_with("23") || state.starts_with("22")) {
    return absl::StatusCode::kInvalidArgument;
  }
  // Serialization failure, deadlock, lock not available, connection errors, shutdown,
  // too many connections: worth retrying later.
  if (state == "40001" || state == "40P01" || state == "55P03" || state.starts_with("08") ||
      state.starts_with("57P") || state == "53300") {
    return absl::StatusCode::kUnavailable;
  }
  return absl::StatusCode::kInternal;
}

void IgnoreNotice(void*, const char*) {}

}  // namespace

// --- PgResult ---

PgResult::PgResult(pg_result* res) : res_(res) {}
PgResult::PgResult(PgResult&& other) noexcept : res_(std::exchange(other.res_, nullptr)) {}
PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    if (res_ != nullptr) PQclear(res_);
    res_ = std::exchange(other.res_, nullptr);
  }
  return *this;
}
PgResult::~PgResult() {
  if (res_ != nullptr) PQclear(res_);
}

int PgResult::rows() const { return res_ != nullptr ? PQntuples(res_) : 0; }

int64_t PgResult::affected() const {
  if (res_ == nullptr) return 0;
  const char* n = PQcmdTuples(res_);
  return (n != nullptr && *n != '\0') ? std::strtoll(n, nullptr, 10) : 0;
}

bool PgResult::IsNull(int row, int col) const { return PQgetisnull(res_, row, col) != 0; }

std::string PgResult::Text(int row, int col) const {
  if (IsNull(row, col)) return "";
  return std::string(PQgetvalue(res_, row, col), static_cast<size_t>(PQgetlength(res_, row, col)));
}

int64_t PgResult::Int(int row, int col) const {
  if (IsNull(row, col)) return 0;
  return std::strtoll(PQgetvalue(res_, row, col), nullptr, 10);
}

double PgResult::Double(int row, int col) const {
  if (IsNull(row, col)) return 0;
  return std::strtod(PQgetvalue(res_, row, col), nullptr);
}

bool PgResult::Bool(int row, int col) const {
  if (IsNull(row, col)) return false;
  return PQgetvalue(res_, row, col)[0] == 't';
}

std::string_view PgResult::Bytes(int row, int col) const {
  if (IsNull(row, col)) return {};
  return std::string_view(PQgetvalue(res_, row, col),
                          static_cast<size_t>(PQgetlength(res_, row, col)));
}

std::optional<std::string> PgParam(double d) { return absl::StrFormat("%.17g", d); }

// --- PgConnection ---

StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& url) {
  // Defaults first: the values the URL names (expanded from dbname) override them.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"10", "infera", url.c_str(), nullptr};
  pg_conn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return absl::ResourceExhaustedError("postgres: out of memory connecting");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = Trimmed(PQerrorMessage(conn));
    PQfinish(conn);
    return absl::UnavailableError(
        StrCat("postgres: cannot connect to ", RedactPgUrl(url), ": ", message));
  }
  PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

StatusOr<std::vector<std::string>> PgConnection::WaitForNotifications(
    std::chrono::milliseconds timeout) {
  std::vector<std::string> channels;
  auto drain = [&] {
    while (PGnotify* n = PQnotifies(conn_)) {
      channels.emplace_back(n->relname != nullptr ? n->relname : "");
      PQfreemem(n);
    }
  };
  drain();  // some may have come in with the last command's result
  if (!channels.empty()) return channels;
  const int fd = PQsocket(conn_);
  if (fd < 0 || PQstatus(conn_) != CONNECTION_OK) {
    return absl::UnavailableError("postgres: the listening connection is closed");
  }
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  const int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (ready < 0) return channels;  // EINTR: the caller waits again
  if (ready > 0) {
    if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) != CONNECTION_OK) {
      return absl::UnavailableError(
          StrCat("postgres: the listening connection broke: ", Trimmed(PQerrorMessage(conn_))));
    }
    drain();
  }
  return channels;
}

StatusOr<PgResult> PgConnection::Check(pg_result* res, std::string_view sql) {
  PgResult result(res);
  if (res == nullptr) {
    return absl::UnavailableError(StrCat("postgres: ", Trimmed(PQerrorMessage(conn_)),
                                         " (running: ", sql.substr(0, 60), ")"));
  }
  const ExecStatusType status = PQresultStatus(res);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  const std::string sqlstate = state != nullptr ? state : "";
  const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  std::string message = primary != nullptr ? primary : Trimmed(PQerrorMessage(conn_));
  absl::StatusCode code =
      sqlstate.empty() ? absl::StatusCode::kUnavailable : CodeOfSqlState(sqlstate);
  return absl::Status(code, StrCat("postgres: ", message, " (SQLSTATE ",
                                   sqlstate.empty() ? "none" : sqlstate, ")"));
}

StatusOr<PgResult> PgConnection::ExecParams(const char* sql, const PgParams& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::optional<std::string>& p : params) {
    if (p.has_value() && p->find('\0') != std::string::npos) {
      return absl::InvalidArgumentError("text holds a NUL byte, which PostgreSQL cannot store");
    }
    values.push_back(p.has_value() ? p->c_str() : nullptr);
  }
  return Check(PQexecParams(conn_, sql, static_cast<int>(values.size()), nullptr, values.data(),
                            nullptr, nullptr, /*resultFormat=*/0),
               sql);
}

StatusOr<PgResult> PgConnection::ExecBinary(const char* sql, const PgParams& params,
                                            std::optional<std::string_view> binary_param) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  for (const std::optional<std::string>& p : params) {
    if (p.has_value() && p->find('\0') != std::string::npos) {
      return absl::InvalidArgumentError("text holds a NUL byte, which PostgreSQL cannot store");
    }
    values.push_back(p.has_value() ? p->c_str() : nullptr);
    lengths.push_back(0);
    formats.push_back(0);
  }
  if (binary_param.has_value()) {
    values.push_back(binary_param->data());
    lengths.push_back(static_cast<int>(binary_param->size()));
    formats.push_back(1);
  }
  return Check(PQexecParams(conn_, sql, static_cast<int>(values.size()), nullptr, values.data(),
                            lengths.data(), formats.data(), /*resultFormat=*/1),
               sql);
}

Status PgConnection::ExecScript(const char* sql) { return Check(PQexec(conn_, sql), sql).status(); }

bool PgConnection::Reusable() const {
  return PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

// --- PgTransaction ---

StatusOr<PgTransaction> PgTransaction::Begin(PgConnection& conn, const char* begin) {
  RETURN_IF_ERROR(conn.Exec(begin).status());
  return PgTransaction(&conn);
}

PgTransaction::~PgTransaction() {
  if (!done_) (void)conn_->Exec("ROLLBACK");
}

Status PgTransaction::Commit() {
  done_ = true;
  return conn_->Exec("COMMIT").status();
}

// --- PgPool ---

PgPool::Lease::~Lease() {
  if (pool_ != nullptr && conn_ != nullptr) pool_->Return(std::move(conn_));
}

StatusOr<std::unique_ptr<PgPool>> PgPool::Open(const std::string& url, int max_connections,
                                               std::chrono::milliseconds wait) {
  if (max_connections < 1) return absl::InvalidArgumentError("a pool needs a connection");
  ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> first, PgConnection::Connect(url));
  std::unique_ptr<PgPool> pool(new PgPool(url, max_connections, wait));
  MutexLock lock(&pool->mu_);
  pool->idle_.push_back(std::move(first));
  pool->open_ = 1;
  return pool;
}

StatusOr<PgPool::Lease> PgPool::Acquire() {
  const auto deadline = std::chrono::steady_clock::now() + wait_;
  {
    MutexLock lock(&mu_);
    while (idle_.empty() && open_ >= max_) {
      if (freed_.WaitUntil(&mu_, deadline) && idle_.empty() && open_ >= max_) {
        return absl::UnavailableError(
            StrCat("postgres: all ", max_, " connections busy for ", wait_.count(), " ms"));
      }
    }
    if (!idle_.empty()) {
      std::unique_ptr<PgConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn));
    }
    ++open_;  // a slot for the connection opened below, outside the lock
  }
  StatusOr<std::unique_ptr<PgConnection>> conn = PgConnection::Connect(url_);
  if (!conn.ok()) {
    MutexLock lock(&mu_);
    --open_;
    freed_.Signal();
    return conn.status();
  }
  return Lease(this, std::move(*conn));
}

void PgPool::Return(std::unique_ptr<PgConnection> conn) {
  const bool reusable = conn->Reusable();
  if (!reusable) conn.reset();  // closed outside the lock
  MutexLock lock(&mu_);
  if (reusable) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
  freed_.Signal();
}

std::string RedactPgUrl(std::string_view url) {
  // postgresql://user:password@host/... -> postgresql://user:***@host/...
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) {
    const size_t pw = url.find("password=");
    if (pw == std::string_view::npos) return std::string(url);
    size_t end = url.find(' ', pw);
    if (end == std::string_view::npos) end = url.size();
    return StrCat(url.substr(0, pw), "password=***", url.substr(end));
  }
  const size_t at = url.find('@', scheme + 3);
  const size_t slash = url.find('/', scheme + 3);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) {
    return std::string(url);
  }
  const size_t colon = url.find(':', scheme + 3);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return StrCat(url.substr(0, colon + 1), "***", url.substr(at));
}

}  // namespace infera
