// The AnnotationStore on the SQLite database file the Store uses (its own connection;
// the tables come from the shared numbered migrations, version 5). The SQLite Store on the
// same file counts the revisions' blobs as referenced and cascades a dataset's deletion to
// its sets. Thread-safety: as AnnotationStore — one connection behind a mutex, one
// transaction per call.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>

#include "common/status.h"
#include "store/annotation_store.h"

namespace infera {

struct SqliteAnnotationStoreOptions {
  std::function<int64_t()> now_ms;  // empty: the system clock (tests inject one)
  int busy_timeout_ms = 5000;
};

// Opens (creating and migrating) the database at `db_file`. Errors as OpenSqliteStore.
StatusOr<std::unique_ptr<AnnotationStore>> OpenSqliteAnnotationStore(
    const std::filesystem::path& db_file, const SqliteAnnotationStoreOptions& options = {});

}  // namespace infera
