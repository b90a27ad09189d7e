// The Store, the UserStore and the BlobStore on a PostgreSQL database (libpq): one
// database shared by any number of infera processes (nodes), where SQLite serves one
// machine. Same interfaces, same conformance suites (tests/store/).
//
// Connections: each store keeps a pool (postgres_db.h); every call takes a connection
// and runs as one transaction (READ COMMITTED), so calls from many threads and nodes run
// side by side. Concurrency is the database's: rows a call changes are locked with
// SELECT ... FOR UPDATE; job claims take the oldest claimable job with FOR UPDATE SKIP
// LOCKED (two claimers never wait for or get the same job); one result per (job, image)
// is a unique constraint, not luck. Blob pins take a shared advisory transaction lock
// and a sweep the exclusive one, so no pin interleaves with a sweep (store.h's blob
// lifetime contract) while pins never wait for each other.
//
// The schema is brought up to date at open (postgres_migrations.h, under an advisory
// lock: nodes starting together migrate once).
//
// Thread-safety: as the interfaces — every method is safe from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "store/annotation_store.h"
#include "store/blob_store.h"
#include "store/store.h"
#include "store/user_store.h"

namespace infera {

struct PostgresStoreOptions {
  // The database: a libpq URI, "postgresql://user[:password]@host[:port]/db[?...]".
  std::string url;
  // The clock for every time the stores record and for lease expiry (ms since the
  // epoch); empty means the system clock. Tests inject a fake one.
  std::function<int64_t()> now_ms;
  // Connections a store keeps at most.
  int max_connections = 8;
};

// Each opens its store on the database (migrating it first). Unavailable when the
// database cannot be reached; FailedPrecondition when it has a newer schema than this
// binary knows; InvalidArgument for an empty url.
StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const PostgresStoreOptions& options);
StatusOr<std::unique_ptr<UserStore>> OpenPostgresUserStore(const PostgresStoreOptions& options);
// Blobs as rows of the database, in chunks of 1 MiB: written and read one chunk at a
// time (an upload or a download never holds a whole blob in memory); a read runs in one
// REPEATABLE READ transaction, so a blob removed meanwhile is still read whole. Not
// file-based: LocalPath is NotFound.
StatusOr<std::unique_ptr<BlobStore>> OpenPostgresBlobStore(const PostgresStoreOptions& options);
// Annotation sets on the same database (postgres_annotation_store.cc); the Store counts
// their revisions' blobs as referenced and a dataset's deletion cascades to its sets.
StatusOr<std::unique_ptr<AnnotationStore>> OpenPostgresAnnotationStore(
    const PostgresStoreOptions& options);

// The secret `name` every node on the database shares (cluster_secrets): the stored one,
// or — the first time — `generate`'s, stored so that nodes racing to make it all get
// the first one committed. The value is stored as given (plain text: whoever can read
// the database can read it). InvalidArgument for an empty name or generated value.
StatusOr<std::string> LoadOrCreatePostgresSecret(
    const PostgresStoreOptions& options, const std::string& name,
    const std::function<StatusOr<std::string>()>& generate);

}  // namespace infera
