#include "support/postgres_server.h"

#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <system_error>
#include <vector>

#include "common/strings.h"
#include "store/postgres_db.h"
#include "support/child_process.h"

namespace infera::testing {

namespace {

namespace fs = std::filesystem;

// The folder holding initdb, pg_ctl and postgres: $INFERA_PG_BIN, else the newest
// /usr/lib/postgresql/<version>/bin.
StatusOr<fs::path> FindServerBinaries() {
  if (const char* env = std::getenv("INFERA_PG_BIN"); env != nullptr && *env != '\0') {
    if (fs::exists(fs::path(env) / "initdb")) return fs::path(env);
    return absl::FailedPreconditionError(
        StrCat("INFERA_PG_BIN=", env, " has no initdb: PostgreSQL server binaries not found"));
  }
  std::vector<fs::path> found;
  std::error_code ec;
  for (fs::directory_iterator it("/usr/lib/postgresql", ec), end; !ec && it != end;
       it.increment(ec)) {
    if (fs::exists(it->path() / "bin" / "initdb") && fs::exists(it->path() / "bin" / "pg_ctl")) {
      found.push_back(it->path() / "bin");
    }
  }
  if (found.empty()) {
    return absl::FailedPreconditionError(
        "PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb, no "
        "INFERA_PG_BIN): the PostgreSQL store tests need a real server; install postgresql-15 "
        "(scripts/install-deps.sh)");
  }
  std::sort(found.begin(), found.end());
  return found.back();
}

std::string ReadLog(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  if (text.size() > 2000) text = text.substr(text.size() - 2000);
  return text;
}

std::unique_ptr<PostgresServer>* g_server = nullptr;

}  // namespace

StatusOr<PostgresServer*> PostgresServer::Shared() {
  static Mutex mu;
  static Status* failed = nullptr;
  MutexLock lock(&mu);
  if (g_server != nullptr) return g_server->get();
  if (failed != nullptr) return *failed;
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  Status started = server->Start();
  if (!started.ok()) {
    failed = new Status(started);
    return started;
  }
  // Destroyed at exit, after the tests: stops the server.
  static std::unique_ptr<PostgresServer> keeper = std::move(server);
  g_server = &keeper;
  return keeper.get();
}

Status PostgresServer::Start() {
  ASSIGN_OR_RETURN(bin_, FindServerBinaries());
  std::string tmpl = (fs::temp_directory_path() / "infera-pg-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  dir_ = tmpl;
  as_postgres_user_ = ::geteuid() == 0;
  if (as_postgres_user_) {
    const struct passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          "running as root, and there is no `postgres` system user to run initdb as (the "
          "postgresql-15 package creates it)");
    }
    if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return absl::InternalError(StrCat("chown ", dir_.string(), " to postgres failed"));
    }
  }
  auto as_server_user = [&](std::vector<std::string> args) {
    if (as_postgres_user_) args.insert(args.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
    return args;
  };
  RunResult init = RunToExit(
      as_server_user({(bin_ / "initdb").string(), "-D", (dir_ / "data").string(), "-U", "postgres",
                      "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"}),
      std::chrono::seconds(120));
  if (init.code != 0) {
    return absl::InternalError(
        StrCat("initdb failed (exit ", init.code, "): ", init.err, init.out));
  }
  const std::string options = StrCat(
      "-c listen_addresses= -c unix_socket_directories=", dir_.string(),
      " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300");
  // Through std::system with every output to a file (no pipe of ours for the server to
  // inherit and hold open for its whole life); pg_ctl -w -t 60 bounds the wait.
  std::string command;
  for (const std::string& arg :
       as_server_user({(bin_ / "pg_ctl").string(), "start", "-w", "-t", "60", "-D",
                       (dir_ / "data").string(), "-l", (dir_ / "log").string(), "-o", options})) {
    command += StrCat("'", arg, "' ");  // our paths and options hold no quote
  }
  const fs::path out = dir_ / "pg_ctl.out";
  command += StrCat("> '", out.string(), "' 2>&1 < /dev/null");
  const int code = std::system(command.c_str());
  if (code != 0) {
    return absl::InternalError(StrCat("pg_ctl start failed (status ", code, "): ", ReadLog(out),
                                      "\nserver log:\n", ReadLog(dir_ / "log")));
  }
  started_ = true;
  return absl::OkStatus();
}

PostgresServer::~PostgresServer() {
  if (started_) {
    std::vector<std::string> stop = {
        (bin_ / "pg_ctl").string(), "stop", "-m", "immediate", "-w", "-D",
        (dir_ / "data").string()};
    if (as_postgres_user_) stop.insert(stop.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
    RunToExit(stop, std::chrono::seconds(60));
  }
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string PostgresServer::Url(const std::string& name) const {
  return StrCat("postgresql://postgres@/", name, "?host=", dir_.string());
}

StatusOr<std::string> PostgresServer::CreateDatabase() {
  std::string name;
  {
    MutexLock lock(&mu_);
    name = StrCat("test_", ++databases_);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> admin, PgConnection::Connect(Url("postgres")));
  // Names are made here (letters, digits, '_'): safe to splice into the statement.
  const std::string sql = StrCat("CREATE DATABASE ", name);
  RETURN_IF_ERROR(admin->Exec(sql.c_str()).status());
  return Url(name);
}

StatusOr<std::string> FreshPostgresDatabase() {
  ASSIGN_OR_RETURN(PostgresServer * server, PostgresServer::Shared());
  return server->CreateDatabase();
}

}  // namespace infera::testing
