#include "store/postgres_open.h"

#include "common/strings.h"
#include "store/postgres_migrations.h"

namespace infera {

StatusOr<std::unique_ptr<PgPool>> OpenMigratedPgPool(const PostgresStoreOptions& options,
                                                     int64_t now_ms) {
  if (options.url.empty()) return absl::InvalidArgumentError("PostgreSQL url is empty");
  // Connection errors name the url already.
  ASSIGN_OR_RETURN(std::unique_ptr<PgPool> pool,
                   PgPool::Open(options.url, options.max_connections));
  Status status;
  {
    StatusOr<PgPool::Lease> conn = pool->Acquire();
    status = conn.ok() ? MigratePostgresSchema(**conn, now_ms) : conn.status();
  }
  if (!status.ok()) {
    return absl::Status(
        status.code(), StrCat("opening ", RedactPgUrl(options.url), ": ", ToStd(status.message())));
  }
  return pool;
}

}  // namespace infera
