// Opening an SQLite database for the stores: the folder created, the connection
// configured (journal_mode=WAL, foreign_keys=ON, synchronous=FULL, busy_timeout — see
// sqlite_store.h for why each) and the schema migrated to the latest version.
// Errors: InvalidArgument for an empty path; FailedPrecondition when the file has a
// newer schema than this binary knows or cannot use WAL; Internal when it cannot be
// opened or is not a database. Thread-safe (each call opens its own connection).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include "common/clock.h"  // SystemNowMs
#include "common/status.h"
#include "store/sqlite_db.h"

namespace infera {

StatusOr<std::unique_ptr<SqliteDb>> OpenSqliteDatabase(const std::filesystem::path& db_file,
                                                       int busy_timeout_ms, int64_t now_ms);

}  // namespace infera
