// Opening a PostgreSQL database for the stores: a connection pool on the options' url,
// the schema migrated to the latest version (postgres_migrations.h) on its first
// connection. Errors: InvalidArgument for an empty url; otherwise the connection's (naming
// the url, its password redacted) or the migration's (prefixed with the url). Thread-safe.
#pragma once

#include <cstdint>
#include <memory>

#include "common/status.h"
#include "store/postgres_db.h"
#include "store/postgres_store.h"

namespace infera {

StatusOr<std::unique_ptr<PgPool>> OpenMigratedPgPool(const PostgresStoreOptions& options,
                                                     int64_t now_ms);

}  // namespace infera
