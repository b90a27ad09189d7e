// The PostgreSQL stores' schema, as numbered migrations (its own list, numbered as the
// SQLite one is: 1, 2, ... without gaps, append-only), and the code that brings a
// database up to date when a store opens it.
//
// All missing migrations are applied in one transaction that first takes a
// transaction-scoped advisory lock (pg_advisory_xact_lock(kPgMigrationLockKey)): nodes
// starting at once on an empty database wait for one another, and each migration is
// applied exactly once (the next node finds it recorded in schema_migrations). DDL is
// transactional in PostgreSQL, so a failed migration leaves nothing half done.
//
// Thread-safety: MigratePostgresSchema uses `conn` only; the caller owns it.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/status.h"
#include "store/postgres_db.h"

namespace infera {

struct PgMigration {
  int version;  // 1, 2, ... without gaps
  std::string_view description;
  const char* sql;  // constant DDL, one or more statements
};

// The advisory lock key migrations hold ("infera" in ASCII).
inline constexpr int64_t kPgMigrationLockKey = 0x696e66657261;

std::span<const PgMigration> PgMigrations();
int LatestPgSchemaVersion();

// Applies the migrations the database lacks, recording each with `now_ms`.
// FailedPrecondition when the database records a newer version than this binary knows;
// the connection's errors otherwise (prefixed with the migration that failed).
Status MigratePostgresSchema(PgConnection& conn, int64_t now_ms);

}  // namespace infera
