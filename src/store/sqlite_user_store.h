// The UserStore on the SQLite database file the Store uses (its own connection; the
// tables come from the shared numbered migrations). Thread-safety: as UserStore — one
// connection behind a mutex, one transaction per call.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>

#include "common/status.h"
#include "store/user_store.h"

namespace infera {

struct SqliteUserStoreOptions {
  std::function<int64_t()> now_ms;  // empty: the system clock (tests inject one)
  int busy_timeout_ms = 5000;
};

// Opens (creating and migrating) the database at `db_file`. Errors as OpenSqliteStore.
StatusOr<std::unique_ptr<UserStore>> OpenSqliteUserStore(
    const std::filesystem::path& db_file, const SqliteUserStoreOptions& options = {});

}  // namespace infera
