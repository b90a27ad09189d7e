// The Store on an embedded SQLite database file: the single-node default.
//
// Connection settings: journal_mode=WAL (readers never block the writer),
// foreign_keys=ON (the cascades of store.h are the schema's ON DELETE CASCADE),
// synchronous=FULL (a write the store reported as done survives a power cut: an
// acknowledged upload or result is never lost; costs one WAL fsync per transaction),
// busy_timeout (see SqliteStoreOptions). The schema is brought up to date at open by
// numbered migrations (sqlite_migrations.h).
//
// Thread-safety: as Store — every method is safe from any thread. One connection,
// guarded by a mutex, serves all calls, so calls on one store run one at a time; each is
// one transaction (BEGIN IMMEDIATE for writes), which also makes it atomic against other
// processes or stores opened on the same file.
//
// Job leases follow store.h; a claim first cancels the jobs whose cancellation was
// requested and whose lease expired, then takes the oldest claimable one, in one
// transaction.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>

#include "common/status.h"
#include "store/store.h"

namespace infera {

struct SqliteStoreOptions {
  // The clock for every time the store records and for lease expiry, in milliseconds
  // since the Unix epoch; empty means the system clock. Tests inject a fake one to
  // expire leases without sleeping. Called with the store's mutex held: it must not
  // call back into the store.
  std::function<int64_t()> now_ms;
  // How long a call waits for another connection's write lock before failing with
  // Unavailable.
  int busy_timeout_ms = 5000;
};

// Opens (creating it and its parent folder when missing) the database at `db_file` and
// migrates it to the latest schema. FailedPrecondition when the file has a newer schema
// than this binary knows; Internal when it cannot be opened or is not a database.
StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::filesystem::path& db_file,
                                                 const SqliteStoreOptions& options = {});

}  // namespace infera
