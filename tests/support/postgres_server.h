// PostgresServer: a real PostgreSQL server for the tests of the PostgreSQL stores,
// started once per test binary on first use and stopped (its folder removed) when the
// binary exits. Each test takes a fresh, empty database from it (CreateDatabase), so
// tests never see one another's rows.
//
// Debian's server binaries (postgresql-15: /usr/lib/postgresql/<version>/bin, or the
// folder in $INFERA_PG_BIN): initdb into a temp folder, pg_ctl start listening only on
// a unix socket in that folder (no port to collide with anything), durability off
// (fsync, synchronous_commit, full_page_writes: a test database need not survive a
// power cut). initdb refuses to run as root, so as root the server runs as the
// `postgres` system user (runuser), which owns the folder.
//
// When the binaries are missing, Shared() returns FailedPrecondition saying what to
// install; tests ASSERT on it, so they fail with that message rather than skip.
//
// Thread-safety: Shared() and CreateDatabase() may be called from any thread.
#pragma once

#include <filesystem>
#include <string>

#include "common/mutex.h"
#include "common/status.h"

namespace infera::testing {

class PostgresServer {
 public:
  // The binary's server, started on the first call (a few seconds); later calls return
  // it, or the first call's error.
  static StatusOr<PostgresServer*> Shared();

  ~PostgresServer();  // pg_ctl stop -m immediate, then removes the folder
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Creates an empty database and returns its url (postgresql:///NAME?host=...).
  StatusOr<std::string> CreateDatabase();
  // The url of database `name` on this server.
  std::string Url(const std::string& name) const;

 private:
  PostgresServer() = default;
  Status Start();

  std::filesystem::path dir_;  // owned by the server's user: data/, log, the socket
  std::filesystem::path bin_;
  bool as_postgres_user_ = false;
  bool started_ = false;
  Mutex mu_;
  int databases_ GUARDED_BY(mu_) = 0;
};

// The url of a fresh database on the shared server (the common case in tests).
StatusOr<std::string> FreshPostgresDatabase();

}  // namespace infera::testing
