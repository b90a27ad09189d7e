#include "store/sqlite_migrations.h"

#include <iterator>

#include "common/strings.h"

namespace infera {
namespace {

// Version 1: datasets, files (source images and job outputs), inference jobs and their
// per-image results. Ids are INTEGER PRIMARY KEY (the rowid); times are INTEGER ms
// since the epoch, 0 for "not yet"; optional references are NULL (0 in the records).
// Deleting a dataset cascades to its source files and its jobs; deleting a job cascades
// to its output files and results; deleting a file clears the result columns naming it.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE datasets (
  id          INTEGER PRIMARY KEY,
  owner_id    INTEGER NOT NULL DEFAULT 0,
  name        TEXT    NOT NULL CHECK (name <> ''),
  description TEXT    NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX datasets_by_created ON datasets (created_at, id);
CREATE INDEX datasets_by_owner ON datasets (owner_id, created_at, id);

CREATE TABLE inferences (
  id               INTEGER PRIMARY KEY,
  owner_id         INTEGER NOT NULL DEFAULT 0,
  dataset_id       INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
  model_name       TEXT    NOT NULL CHECK (model_name <> ''),
  model_version    INTEGER NOT NULL DEFAULT 0,
  runner_name      TEXT    NOT NULL DEFAULT '',
  params_json      TEXT    NOT NULL DEFAULT '{}',
  status           TEXT    NOT NULL
                   CHECK (status IN ('queued', 'running', 'completed', 'failed', 'canceled')),
  note             TEXT    NOT NULL DEFAULT '',
  total            INTEGER NOT NULL DEFAULT 0 CHECK (total >= 0),
  done             INTEGER NOT NULL DEFAULT 0 CHECK (done >= 0),
  failed_images    INTEGER NOT NULL DEFAULT 0 CHECK (failed_images >= 0),
  cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
  created_at       INTEGER NOT NULL,
  started_at       INTEGER NOT NULL DEFAULT 0,
  finished_at      INTEGER NOT NULL DEFAULT 0,
  lease_owner      TEXT    NOT NULL DEFAULT '',
  lease_expires_at INTEGER NOT NULL DEFAULT 0,
  attempts         INTEGER NOT NULL DEFAULT 0,
  timings_json     TEXT    NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX inferences_by_created ON inferences (created_at, id);
CREATE INDEX inferences_by_dataset ON inferences (dataset_id, created_at, id);
CREATE INDEX inferences_by_owner ON inferences (owner_id, created_at, id);
CREATE INDEX inferences_by_status ON inferences (status, created_at, id);
-- The claim query's: only live jobs, oldest first.
CREATE INDEX inferences_claimable ON inferences (created_at, id)
  WHERE status IN ('queued', 'running');

CREATE TABLE files (
  id           INTEGER PRIMARY KEY,
  owner_id     INTEGER NOT NULL DEFAULT 0,
  dataset_id   INTEGER REFERENCES datasets (id) ON DELETE CASCADE,
  inference_id INTEGER REFERENCES inferences (id) ON DELETE CASCADE,
  role         TEXT    NOT NULL CHECK (role IN ('source', 'class_mask', 'instance_mask',
                                                 'preview', 'probability')),
  filename     TEXT    NOT NULL CHECK (filename <> ''),
  content_type TEXT    NOT NULL DEFAULT '',
  sha256       TEXT    NOT NULL CHECK (length(sha256) = 64),
  size         INTEGER NOT NULL CHECK (size >= 0),
  width        INTEGER NOT NULL DEFAULT 0,
  height       INTEGER NOT NULL DEFAULT 0,
  channels     INTEGER NOT NULL DEFAULT 0,
  bit_depth    INTEGER NOT NULL DEFAULT 0,
  pages        INTEGER NOT NULL DEFAULT 0,
  sample_type  TEXT    NOT NULL DEFAULT '',
  created_at   INTEGER NOT NULL,
  -- A source file belongs to a dataset, an output file to a job; never both.
  CHECK ((role = 'source') = (dataset_id IS NOT NULL)),
  CHECK ((dataset_id IS NULL) <> (inference_id IS NULL)),
  -- Source filenames are unique within their dataset (NULLs, i.e. outputs, never clash).
  UNIQUE (dataset_id, filename)
) STRICT;
CREATE INDEX files_by_inference ON files (inference_id);
CREATE INDEX files_by_sha256 ON files (sha256);

CREATE TABLE inference_results (
  id               INTEGER PRIMARY KEY,
  inference_id     INTEGER NOT NULL REFERENCES inferences (id) ON DELETE CASCADE,
  source_file_id   INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
  source_filename  TEXT    NOT NULL DEFAULT '',
  class_mask_id    INTEGER REFERENCES files (id) ON DELETE SET NULL,
  instance_mask_id INTEGER REFERENCES files (id) ON DELETE SET NULL,
  preview_id       INTEGER REFERENCES files (id) ON DELETE SET NULL,
  probability_id   INTEGER REFERENCES files (id) ON DELETE SET NULL,
  summary_json     TEXT    NOT NULL DEFAULT '{}',
  error            TEXT    NOT NULL DEFAULT '',
  elapsed_ms       REAL    NOT NULL DEFAULT 0,
  created_at       INTEGER NOT NULL,
  UNIQUE (inference_id, source_file_id)
) STRICT;
-- Child-key indexes, so deleting a file finds the results naming it without a scan.
CREATE INDEX inference_results_by_source ON inference_results (source_file_id);
CREATE INDEX inference_results_by_class_mask ON inference_results (class_mask_id);
CREATE INDEX inference_results_by_instance_mask ON inference_results (instance_mask_id);
CREATE INDEX inference_results_by_preview ON inference_results (preview_id);
CREATE INDEX inference_results_by_probability ON inference_results (probability_id);
)sql";

// Version 2: users and what authenticates them. Secrets are stored hashed only.
// Deleting a user would cascade to its tokens and keys (users are disabled, not deleted).
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE users (
  id                  INTEGER PRIMARY KEY,
  username            TEXT    NOT NULL COLLATE NOCASE UNIQUE CHECK (username <> ''),
  password_hash       TEXT    NOT NULL CHECK (password_hash <> ''),
  role                TEXT    NOT NULL CHECK (role IN ('admin', 'user')),
  created_at          INTEGER NOT NULL,
  disabled_at         INTEGER NOT NULL DEFAULT 0,
  password_changed_at INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE refresh_tokens (
  id         INTEGER PRIMARY KEY,
  user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash TEXT    NOT NULL UNIQUE CHECK (length(token_hash) = 64),
  family     TEXT    NOT NULL CHECK (family <> ''),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at    INTEGER NOT NULL DEFAULT 0,
  revoked_at INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);

CREATE TABLE api_keys (
  id           INTEGER PRIMARY KEY,
  user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name         TEXT    NOT NULL DEFAULT '',
  prefix       TEXT    NOT NULL DEFAULT '',
  key_hash     TEXT    NOT NULL UNIQUE CHECK (length(key_hash) = 64),
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL DEFAULT 0,
  revoked_at   INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX api_keys_by_user ON api_keys (user_id);

CREATE TABLE revoked_tokens (
  jti        TEXT    PRIMARY KEY,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens (expires_at);
)sql";

// Version 3: blob lifetime owned by the store. `blobs` registers every blob a file ever
// referenced (existing ones carried over); `blob_pins` are short leases a writer takes
// between writing a blob and committing the record that references it. A sweep removes,
// in one write transaction, the registered blobs no file references and no live pin holds.
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE blobs (
  sha256     TEXT    PRIMARY KEY CHECK (length(sha256) = 64),
  size       INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),
  created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE blob_pins (
  id         INTEGER PRIMARY KEY,
  sha256     TEXT    NOT NULL CHECK (length(sha256) = 64),
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX blob_pins_by_sha256 ON blob_pins (sha256, expires_at);
CREATE INDEX blob_pins_by_expiry ON blob_pins (expires_at);
INSERT INTO blobs (sha256, size, created_at)
  SELECT sha256, MAX(size), MIN(created_at) FROM files GROUP BY sha256;
)sql";

// Version 4: jobs of any kind and result files as rows. `inferences` becomes `jobs`
// (kind 'inference'; model, version, runner and params move into spec_json; ids kept, so
// /api/inferences/{id} still finds its job); `inference_results` becomes `job_results`
// without the four artifact columns: an output file names its result (files.result_id)
// and its kind is its role, which is no longer a fixed list. The foreign keys between the
// new tables are checked at commit (defer_foreign_keys); the old tables are dropped
// children first, so no cascade of theirs touches a row.
constexpr const char* kSchemaV4 = R"sql(
PRAGMA defer_foreign_keys = ON;

CREATE TABLE jobs (
  id               INTEGER PRIMARY KEY,
  kind             TEXT    NOT NULL CHECK (kind <> ''),
  owner_id         INTEGER NOT NULL DEFAULT 0,
  dataset_id       INTEGER REFERENCES datasets (id) ON DELETE CASCADE,
  spec_json        TEXT    NOT NULL DEFAULT '{}',
  status           TEXT    NOT NULL
                   CHECK (status IN ('queued', 'running', 'completed', 'failed', 'canceled')),
  note             TEXT    NOT NULL DEFAULT '',
  total            INTEGER NOT NULL DEFAULT 0 CHECK (total >= 0),
  done             INTEGER NOT NULL DEFAULT 0 CHECK (done >= 0),
  failed_items     INTEGER NOT NULL DEFAULT 0 CHECK (failed_items >= 0),
  cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
  created_at       INTEGER NOT NULL,
  started_at       INTEGER NOT NULL DEFAULT 0,
  finished_at      INTEGER NOT NULL DEFAULT 0,
  lease_owner      TEXT    NOT NULL DEFAULT '',
  lease_expires_at INTEGER NOT NULL DEFAULT 0,
  attempts         INTEGER NOT NULL DEFAULT 0,
  report_json      TEXT    NOT NULL DEFAULT '{}'
) STRICT;
INSERT INTO jobs (id, kind, owner_id, dataset_id, spec_json, status, note, total, done,
                  failed_items, cancel_requested, created_at, started_at, finished_at,
                  lease_owner, lease_expires_at, attempts, report_json)
  SELECT id, 'inference', owner_id, dataset_id,
         json_object('model', model_name, 'version', model_version, 'runner', runner_name,
                     'params', json(CASE WHEN json_valid(params_json) THEN params_json
                                         ELSE '{}' END)),
         status, note, total, done, failed_images, cancel_requested, created_at, started_at,
         finished_at, lease_owner, lease_expires_at, attempts, timings_json
  FROM inferences;
CREATE INDEX jobs_by_created ON jobs (created_at, id);
CREATE INDEX jobs_by_kind ON jobs (kind, created_at, id);
CREATE INDEX jobs_by_dataset ON jobs (dataset_id, created_at, id);
CREATE INDEX jobs_by_owner ON jobs (owner_id, created_at, id);
CREATE INDEX jobs_by_status ON jobs (status, created_at, id);
-- The claim query's: only live jobs, oldest first.
CREATE INDEX jobs_claimable ON jobs (created_at, id) WHERE status IN ('queued', 'running');

CREATE TABLE job_results (
  id              INTEGER PRIMARY KEY,
  job_id          INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  source_file_id  INTEGER NOT NULL REFERENCES files_v4 (id) ON DELETE CASCADE,
  source_filename TEXT    NOT NULL DEFAULT '',
  summary_json    TEXT    NOT NULL DEFAULT '{}',
  error           TEXT    NOT NULL DEFAULT '',
  elapsed_ms      REAL    NOT NULL DEFAULT 0,
  created_at      INTEGER NOT NULL,
  UNIQUE (job_id, source_file_id)
) STRICT;
CREATE TABLE files_v4 (
  id           INTEGER PRIMARY KEY,
  owner_id     INTEGER NOT NULL DEFAULT 0,
  dataset_id   INTEGER REFERENCES datasets (id) ON DELETE CASCADE,
  job_id       INTEGER REFERENCES jobs (id) ON DELETE CASCADE,
  result_id    INTEGER REFERENCES job_results (id) ON DELETE CASCADE,
  role         TEXT    NOT NULL CHECK (role <> ''),
  filename     TEXT    NOT NULL CHECK (filename <> ''),
  content_type TEXT    NOT NULL DEFAULT '',
  sha256       TEXT    NOT NULL CHECK (length(sha256) = 64),
  size         INTEGER NOT NULL CHECK (size >= 0),
  width        INTEGER NOT NULL DEFAULT 0,
  height       INTEGER NOT NULL DEFAULT 0,
  channels     INTEGER NOT NULL DEFAULT 0,
  bit_depth    INTEGER NOT NULL DEFAULT 0,
  pages        INTEGER NOT NULL DEFAULT 0,
  sample_type  TEXT    NOT NULL DEFAULT '',
  created_at   INTEGER NOT NULL,
  -- A source file belongs to a dataset, an output file to a job; never both.
  CHECK ((role = 'source') = (dataset_id IS NOT NULL)),
  CHECK ((dataset_id IS NULL) <> (job_id IS NULL)),
  CHECK (result_id IS NULL OR job_id IS NOT NULL),
  -- Source filenames are unique within their dataset (NULLs, i.e. outputs, never clash).
  UNIQUE (dataset_id, filename),
  -- One file per kind and result.
  UNIQUE (result_id, role)
) STRICT;
INSERT INTO job_results (id, job_id, source_file_id, source_filename, summary_json, error,
                         elapsed_ms, created_at)
  SELECT id, inference_id, source_file_id, source_filename, summary_json, error, elapsed_ms,
         created_at
  FROM inference_results;

INSERT INTO files_v4 (id, owner_id, dataset_id, job_id, result_id, role, filename,
                      content_type, sha256, size, width, height, channels, bit_depth, pages,
                      sample_type, created_at)
  SELECT f.id, f.owner_id, f.dataset_id, f.inference_id,
         (SELECT r.id FROM inference_results r
          WHERE r.class_mask_id = f.id OR r.instance_mask_id = f.id OR r.preview_id = f.id
                OR r.probability_id = f.id
          LIMIT 1),
         f.role, f.filename, f.content_type, f.sha256, f.size, f.width, f.height, f.channels,
         f.bit_depth, f.pages, f.sample_type, f.created_at
  FROM files f;

DROP TABLE inference_results;
DROP TABLE files;
DROP TABLE inferences;
ALTER TABLE files_v4 RENAME TO files;
CREATE INDEX files_by_job ON files (job_id);
CREATE INDEX files_by_sha256 ON files (sha256);
CREATE INDEX job_results_by_source ON job_results (source_file_id);
)sql";

// Version 5: annotation sets (store/annotation_store.h). A set belongs to a dataset
// (deleting the dataset cascades to its sets, and a set to its revisions); a revision is
// one numbered mask of one source file, naming its blob as a file does (so blob sweeps
// count revisions as references: files_by_sha256's twin below). Deleting a source file
// cascades to its revisions.
constexpr const char* kSchemaV5 = R"sql(
CREATE TABLE annotation_sets (
  id          INTEGER PRIMARY KEY,
  dataset_id  INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
  owner_id    INTEGER NOT NULL DEFAULT 0,
  name        TEXT    NOT NULL CHECK (name <> ''),
  kind        TEXT    NOT NULL CHECK (kind IN ('semantic', 'instances')),
  labels_json TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(labels_json)
                                                   AND json_type(labels_json) = 'array'),
  created_at  INTEGER NOT NULL,
  UNIQUE (dataset_id, name)
) STRICT;
CREATE INDEX annotation_sets_by_dataset ON annotation_sets (dataset_id, created_at, id);

CREATE TABLE annotation_revisions (
  id             INTEGER PRIMARY KEY,
  set_id         INTEGER NOT NULL REFERENCES annotation_sets (id) ON DELETE CASCADE,
  source_file_id INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
  revision       INTEGER NOT NULL CHECK (revision > 0),
  sha256         TEXT    NOT NULL CHECK (length(sha256) = 64),
  size           INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),
  width          INTEGER NOT NULL CHECK (width > 0),
  height         INTEGER NOT NULL CHECK (height > 0),
  bit_depth      INTEGER NOT NULL CHECK (bit_depth IN (8, 16)),
  author_id      INTEGER NOT NULL DEFAULT 0,
  origin         TEXT    NOT NULL CHECK (origin <> ''),
  classes_json   TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(classes_json)
                                                      AND json_type(classes_json) = 'object'),
  created_at     INTEGER NOT NULL,
  UNIQUE (set_id, source_file_id, revision)
) STRICT;
CREATE INDEX annotation_revisions_by_sha256 ON annotation_revisions (sha256);
CREATE INDEX annotation_revisions_by_source ON annotation_revisions (source_file_id);
)sql";

// Version 6: annotation sets of kind image_labels (one class per image) and their labels'
// revisions. SQLite cannot widen a CHECK in place: annotation_sets is rebuilt with the
// third kind, and annotation_revisions (whose foreign key names it) with it — the new
// tables filled from the old, the old dropped children first (so no cascade of theirs
// touches a row), the new renamed into place (a rename rewrites the references to it).
// A label revision is (set, source file, number, label id — 0: cleared —, author,
// origin), cascading from its set and its source file.
constexpr const char* kSchemaV6 = R"sql(
PRAGMA defer_foreign_keys = ON;

CREATE TABLE annotation_sets_v6 (
  id          INTEGER PRIMARY KEY,
  dataset_id  INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
  owner_id    INTEGER NOT NULL DEFAULT 0,
  name        TEXT    NOT NULL CHECK (name <> ''),
  kind        TEXT    NOT NULL CHECK (kind IN ('semantic', 'instances', 'image_labels')),
  labels_json TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(labels_json)
                                                   AND json_type(labels_json) = 'array'),
  created_at  INTEGER NOT NULL,
  UNIQUE (dataset_id, name)
) STRICT;
INSERT INTO annotation_sets_v6 (id, dataset_id, owner_id, name, kind, labels_json, created_at)
  SELECT id, dataset_id, owner_id, name, kind, labels_json, created_at FROM annotation_sets;

CREATE TABLE annotation_revisions_v6 (
  id             INTEGER PRIMARY KEY,
  set_id         INTEGER NOT NULL REFERENCES annotation_sets_v6 (id) ON DELETE CASCADE,
  source_file_id INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
  revision       INTEGER NOT NULL CHECK (revision > 0),
  sha256         TEXT    NOT NULL CHECK (length(sha256) = 64),
  size           INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),
  width          INTEGER NOT NULL CHECK (width > 0),
  height         INTEGER NOT NULL CHECK (height > 0),
  bit_depth      INTEGER NOT NULL CHECK (bit_depth IN (8, 16)),
  author_id      INTEGER NOT NULL DEFAULT 0,
  origin         TEXT    NOT NULL CHECK (origin <> ''),
  classes_json   TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(classes_json)
                                                      AND json_type(classes_json) = 'object'),
  created_at     INTEGER NOT NULL,
  UNIQUE (set_id, source_file_id, revision)
) STRICT;
INSERT INTO annotation_revisions_v6 (id, set_id, source_file_id, revision, sha256, size, width,
                                     height, bit_depth, author_id, origin, classes_json,
                                     created_at)
  SELECT id, set_id, source_file_id, revision, sha256, size, width, height, bit_depth,
         author_id, origin, classes_json, created_at
  FROM annotation_revisions;

DROP TABLE annotation_revisions;
DROP TABLE annotation_sets;
ALTER TABLE annotation_sets_v6 RENAME TO annotation_sets;
ALTER TABLE annotation_revisions_v6 RENAME TO annotation_revisions;
CREATE INDEX annotation_sets_by_dataset ON annotation_sets (dataset_id, created_at, id);
CREATE INDEX annotation_revisions_by_sha256 ON annotation_revisions (sha256);
CREATE INDEX annotation_revisions_by_source ON annotation_revisions (source_file_id);

CREATE TABLE annotation_image_labels (
  id             INTEGER PRIMARY KEY,
  set_id         INTEGER NOT NULL REFERENCES annotation_sets (id) ON DELETE CASCADE,
  source_file_id INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
  revision       INTEGER NOT NULL CHECK (revision > 0),
  label_id       INTEGER NOT NULL CHECK (label_id >= 0),
  author_id      INTEGER NOT NULL DEFAULT 0,
  origin         TEXT    NOT NULL CHECK (origin <> ''),
  created_at     INTEGER NOT NULL,
  UNIQUE (set_id, source_file_id, revision)
) STRICT;
CREATE INDEX annotation_image_labels_by_source ON annotation_image_labels (source_file_id);
)sql";

// Version 7: job-level files (Store::AddJobFile — a file of the whole job, no result: the
// DICOM SEG of a series): at most one per job, role and filename, so that a job resuming
// after a crash cannot record its SEG twice.
constexpr const char* kSchemaV7 = R"sql(
CREATE UNIQUE INDEX files_job_level ON files (job_id, role, filename)
  WHERE result_id IS NULL AND job_id IS NOT NULL;
)sql";

constexpr SqliteMigration kMigrations[] = {
    {1, "datasets, files, inferences, inference_results", kSchemaV1},
    {2, "users, refresh_tokens, api_keys, revoked_tokens", kSchemaV2},
    {3, "blobs, blob_pins", kSchemaV3},
    {4, "jobs of any kind, result files as rows", kSchemaV4},
    {5, "annotation_sets, annotation_revisions", kSchemaV5},
    {6, "annotation sets of kind image_labels, annotation_image_labels", kSchemaV6},
    {7, "files_job_level: one job-level file per job, role and filename", kSchemaV7},
};

StatusOr<int> CurrentVersion(SqliteDb& db) {
  ASSIGN_OR_RETURN(SqliteStatement st,
                   db.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return absl::InternalError("schema_migrations: MAX returned no row");
  return static_cast<int>(st.Int(0));
}

}  // namespace

std::span<const SqliteMigration> SqliteMigrations() { return kMigrations; }

int LatestSqliteSchemaVersion() { return static_cast<int>(std::size(kMigrations)); }

Status MigrateSqliteSchema(SqliteDb& db, int64_t now_ms) {
  const int latest = LatestSqliteSchemaVersion();
  while (true) {
    // Everything, the bookkeeping table included, under the write lock: two processes
    // opening a new file at once then apply each migration once.
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(db, SqliteTransaction::Mode::kImmediate));
    RETURN_IF_ERROR(
        db.Exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY,"
                " applied_at INTEGER NOT NULL) STRICT"));
    ASSIGN_OR_RETURN(int current, CurrentVersion(db));
    if (current > latest) {
      return absl::FailedPreconditionError(StrCat("the database has schema version ", current,
                                                  ", newer than the ", latest,
                                                  " this infera knows; run a newer infera"));
    }
    if (current == latest) return txn.Commit();
    const SqliteMigration& migration = kMigrations[current];  // version current + 1
    if (migration.version != current + 1) {
      return absl::InternalError(
          StrCat("migration list out of order at version ", migration.version));
    }
    Status applied = db.Exec(migration.sql);
    if (!applied.ok()) {
      return absl::Status(applied.code(),
                          StrCat("migration ", migration.version, " (", migration.description,
                                 "): ", ToStd(applied.message())));
    }
    {
      ASSIGN_OR_RETURN(
          SqliteStatement st,
          db.Prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)"));
      RETURN_IF_ERROR(st.Bind(migration.version, now_ms).Run());
    }
    RETURN_IF_ERROR(txn.Commit());
  }
}

}  // namespace infera
