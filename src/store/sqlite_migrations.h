// The SQLite store's schema, as numbered migrations, and the code that brings a
// database up to date at open.
//
// Each migration runs once, in version order, inside its own BEGIN IMMEDIATE
// transaction together with the row recording it in schema_migrations(version,
// applied_at); several processes opening the same new database at once apply each
// migration exactly once. Migrations are append-only: never edit one that has shipped,
// add the next version. (A migration that rebuilds a table must not rely on cascades
// firing: foreign_keys is ON for the connection and cannot be switched inside a
// transaction.)
//
// Thread-safety: MigrateSqliteSchema uses `db` only; callers serialise access to it.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/status.h"
#include "store/sqlite_db.h"

namespace infera {

struct SqliteMigration {
  int version;  // 1, 2, ... without gaps
  std::string_view description;
  const char* sql;  // constant DDL, one or more statements
};

// Every migration this binary knows, in version order.
std::span<const SqliteMigration> SqliteMigrations();

// The version a database has once every migration is applied.
int LatestSqliteSchemaVersion();

// Applies the migrations the database lacks, recording each with `now_ms`.
// FailedPrecondition when the database records a version newer than this binary knows
// (it was written by a newer infera); Unavailable / Internal for database errors.
Status MigrateSqliteSchema(SqliteDb& db, int64_t now_ms);

}  // namespace infera
