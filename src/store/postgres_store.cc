// The Store on PostgreSQL (see postgres_store.h). The behaviour follows sqlite_store.cc
// call for call; what differs is how concurrent calls are kept apart: row locks
// (FOR UPDATE), SKIP LOCKED claims, unique constraints and advisory locks, instead of
// SQLite's single writer.
#include "store/postgres_store.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <utility>

#include "common/clock.h"
#include "common/sha256.h"
#include "common/strings.h"
#include "store/postgres_db.h"
#include "store/postgres_migrations.h"
#include "store/postgres_open.h"
#include "store/store_rules.h"

namespace infera {
namespace {

// Column lists, in the order the Read*Row functions below expect them.
#define INFERA_DATASET_COLUMNS                                 \
  "d.id, d.owner_id, d.name, d.description, d.created_at,"     \
  " (SELECT COUNT(*) FROM files f WHERE f.dataset_id = d.id)," \
  " (SELECT COALESCE(SUM(f.size), 0) FROM files f WHERE f.dataset_id = d.id)"
#define INFERA_FILE_COLUMNS                                                            \
  "id, owner_id, dataset_id, job_id, result_id, role, filename, content_type, sha256," \
  " size, width, height, channels, bit_depth, pages, sample_type, created_at"
#define INFERA_JOB_COLUMNS                                                              \
  "id, kind, owner_id, dataset_id, spec_json, status, note, total, done, failed_items," \
  " cancel_requested, created_at, started_at, finished_at, lease_owner,"                \
  " lease_expires_at, attempts, report_json"
#define INFERA_RESULT_COLUMNS                                                     \
  "id, job_id, source_file_id, source_filename, summary_json, error, elapsed_ms," \
  " created_at"
// Pins hold the blob-lifetime lock shared, a sweep holds it exclusively (both until
// their transaction ends).
#define INFERA_BLOB_LOCK_SHARED "SELECT pg_advisory_xact_lock_shared(7234015614396264290)"
#define INFERA_BLOB_LOCK_EXCLUSIVE "SELECT pg_advisory_xact_lock(7234015614396264290)"

DatasetRecord ReadDatasetRow(const PgResult& r, int i) {
  DatasetRecord d;
  d.id = r.Int(i, 0);
  d.owner_id = r.Int(i, 1);
  d.name = r.Text(i, 2);
  d.description = r.Text(i, 3);
  d.created_at = r.Int(i, 4);
  d.file_count = r.Int(i, 5);
  d.total_bytes = r.Int(i, 6);
  return d;
}

FileRecord ReadFileRow(const PgResult& r, int i) {
  FileRecord f;
  f.id = r.Int(i, 0);
  f.owner_id = r.Int(i, 1);
  f.dataset_id = r.Int(i, 2);
  f.job_id = r.Int(i, 3);
  f.result_id = r.Int(i, 4);
  f.role = r.Text(i, 5);
  f.filename = r.Text(i, 6);
  f.content_type = r.Text(i, 7);
  f.sha256 = r.Text(i, 8);
  f.size = r.Int(i, 9);
  f.width = static_cast<int>(r.Int(i, 10));
  f.height = static_cast<int>(r.Int(i, 11));
  f.channels = static_cast<int>(r.Int(i, 12));
  f.bit_depth = static_cast<int>(r.Int(i, 13));
  f.pages = static_cast<int>(r.Int(i, 14));
  f.sample_type = r.Text(i, 15);
  f.created_at = r.Int(i, 16);
  return f;
}

StatusOr<JobRecord> ReadJobRow(const PgResult& r, int i) {
  JobRecord j;
  j.id = r.Int(i, 0);
  j.kind = r.Text(i, 1);
  j.owner_id = r.Int(i, 2);
  j.dataset_id = r.Int(i, 3);
  j.spec_json = r.Text(i, 4);
  StatusOr<JobStatus> status = ParseJobStatus(r.Text(i, 5));
  if (!status.ok()) {
    return absl::InternalError(
        StrCat("job ", j.id, " has a corrupt status: ", ToStd(status.status().message())));
  }
  j.status = *status;
  j.note = r.Text(i, 6);
  j.total = r.Int(i, 7);
  j.done = r.Int(i, 8);
  j.failed_items = r.Int(i, 9);
  j.cancel_requested = r.Bool(i, 10);
  j.created_at = r.Int(i, 11);
  j.started_at = r.Int(i, 12);
  j.finished_at = r.Int(i, 13);
  j.lease_owner = r.Text(i, 14);
  j.lease_expires_at = r.Int(i, 15);
  j.attempts = static_cast<int>(r.Int(i, 16));
  j.report_json = r.Text(i, 17);
  return j;
}

JobResultRecord ReadResultRow(const PgResult& r, int i) {
  JobResultRecord res;
  res.id = r.Int(i, 0);
  res.job_id = r.Int(i, 1);
  res.source_file_id = r.Int(i, 2);
  res.source_filename = r.Text(i, 3);
  res.summary_json = r.Text(i, 4);
  res.error = r.Text(i, 5);
  res.elapsed_ms = r.Double(i, 6);
  res.created_at = r.Int(i, 7);
  return res;
}

class PostgresStore final : public Store {
 public:
  PostgresStore(std::unique_ptr<PgPool> pool, std::function<int64_t()> now_ms)
      : pool_(std::move(pool)), now_ms_(std::move(now_ms)) {}

  // --- datasets ---

  StatusOr<DatasetRecord> CreateDataset(const DatasetRecord& dataset) override {
    if (dataset.name.empty()) return absl::InvalidArgumentError("dataset name is empty");
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    ASSIGN_OR_RETURN(PgResult r,
                     c->Exec("INSERT INTO datasets (owner_id, name, description,"
                             " created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                             dataset.owner_id, dataset.name, dataset.description, Now()));
    ASSIGN_OR_RETURN(DatasetRecord created, ReadDataset(*c, r.Int(0, 0)));
    RETURN_IF_ERROR(txn.Commit());
    return created;
  }

  StatusOr<DatasetRecord> GetDataset(int64_t id) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    return ReadDataset(*c, id);
  }

  StatusOr<std::vector<DatasetRecord>> ListDatasets(std::optional<int64_t> owner_id) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT " INFERA_DATASET_COLUMNS " FROM datasets d"
                                         " WHERE $1::bigint IS NULL OR d.owner_id = $1"
                                         " ORDER BY d.created_at DESC, d.id DESC",
                                         owner_id));
    std::vector<DatasetRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadDatasetRow(r, i));
    return out;
  }

  StatusOr<std::vector<std::string>> DeleteDataset(int64_t id) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    RETURN_IF_ERROR(LockDataset(*c, id));
    // Every blob the cascade below drops a reference to: the source files, the
    // outputs of the dataset's jobs and the masks of its annotation sets.
    ASSIGN_OR_RETURN(PgResult dropped, c->Exec("SELECT sha256 FROM files"
                                               " WHERE dataset_id = $1 OR job_id IN"
                                               " (SELECT id FROM jobs WHERE dataset_id = $1)"
                                               " UNION SELECT sha256 FROM annotation_revisions"
                                               " WHERE set_id IN (SELECT id FROM annotation_sets"
                                               " WHERE dataset_id = $1)"
                                               " ORDER BY sha256",
                                               id));
    RETURN_IF_ERROR(c->Exec("DELETE FROM datasets WHERE id = $1", id).status());
    std::vector<std::string> unreferenced;
    for (int i = 0; i < dropped.rows(); ++i) {
      std::string sha = dropped.Text(i, 0);
      ASSIGN_OR_RETURN(bool referenced, IsBlobReferenced(*c, sha));
      if (!referenced) unreferenced.push_back(std::move(sha));
    }
    RETURN_IF_ERROR(txn.Commit());
    return unreferenced;
  }

  // --- files ---

  StatusOr<FileRecord> AddFile(const FileRecord& file) override {
    RETURN_IF_ERROR(ValidateFile(file, /*output_of_result=*/false));
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    FileRecord record = file;
    if (file.role == "source") {
      // The dataset's row lock orders concurrent uploads to it, so the unique name
      // chosen below is still free at the insert.
      RETURN_IF_ERROR(LockDataset(*c, file.dataset_id));
      ASSIGN_OR_RETURN(record.filename, UniqueFilename(*c, file.dataset_id, file.filename));
    } else {
      ASSIGN_OR_RETURN(PgResult r,
                       c->Exec("SELECT 1 FROM jobs WHERE id = $1 FOR KEY SHARE", file.job_id));
      if (r.rows() == 0) return NotFoundError("job", file.job_id);
    }
    record.created_at = Now();
    ASSIGN_OR_RETURN(record.id, InsertFile(*c, record));
    RETURN_IF_ERROR(txn.Commit());
    return record;
  }

  StatusOr<AddedFile> AddSourceFileOnce(const FileRecord& file) override {
    if (file.role != "source") {
      return absl::InvalidArgumentError("AddSourceFileOnce takes a source file");
    }
    RETURN_IF_ERROR(ValidateFile(file, /*output_of_result=*/false));
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    // The dataset's row lock orders concurrent uploads to it: an upload and its retry
    // see each other's record.
    RETURN_IF_ERROR(LockDataset(*c, file.dataset_id));
    int64_t existing = 0;
    {
      // The same bytes under the same name, or under the name made unique from it.
      const auto [stem, ext] = SplitExtension(file.filename);
      ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT id, filename FROM files WHERE sha256 = $1"
                                           " AND dataset_id = $2 AND role = 'source'"
                                           " ORDER BY id",
                                           file.sha256, file.dataset_id));
      for (int i = 0; i < r.rows() && existing == 0; ++i) {
        const std::string name = r.Text(i, 1);
        if (name == file.filename || NumberedSuffix(name, stem, ext) > 0) existing = r.Int(i, 0);
      }
    }
    AddedFile out;
    if (existing != 0) {
      ASSIGN_OR_RETURN(out.file, ReadFile(*c, existing));
      out.added = false;
    } else {
      out.file = file;
      ASSIGN_OR_RETURN(out.file.filename, UniqueFilename(*c, file.dataset_id, file.filename));
      out.file.created_at = Now();
      ASSIGN_OR_RETURN(out.file.id, InsertFile(*c, out.file));
    }
    RETURN_IF_ERROR(txn.Commit());
    return out;
  }

  StatusOr<FileRecord> GetFile(int64_t id) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    return ReadFile(*c, id);
  }

  StatusOr<std::vector<FileRecord>> ListDatasetFiles(int64_t dataset_id) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn,
                     PgTransaction::Begin(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    RETURN_IF_ERROR(ReadDataset(*c, dataset_id).status());
    ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT " INFERA_FILE_COLUMNS " FROM files"
                                         " WHERE dataset_id = $1 ORDER BY id",
                                         dataset_id));
    std::vector<FileRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadFileRow(r, i));
    RETURN_IF_ERROR(txn.Commit());
    return out;
  }

  StatusOr<bool> BlobReferenced(const std::string& sha256) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    return IsBlobReferenced(*c, sha256);
  }

  // --- blob lifetime ---

  StatusOr<int64_t> PinBlob(const std::string& sha256, int64_t size, int64_t ttl_ms) override {
    if (!IsSha256Hex(sha256)) {
      return absl::InvalidArgumentError("a blob name must be 64 lower-case hex digits");
    }
    ASSIGN_OR_RETURN(int64_t expires_at, LeaseEnd(Now(), ttl_ms));
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    RETURN_IF_ERROR(c->Exec(INFERA_BLOB_LOCK_SHARED).status());
    RETURN_IF_ERROR(RegisterBlob(*c, sha256, std::max<int64_t>(size, 0)));
    ASSIGN_OR_RETURN(PgResult r, c->Exec("INSERT INTO blob_pins (sha256, expires_at)"
                                         " VALUES ($1, $2) RETURNING id",
                                         sha256, expires_at));
    RETURN_IF_ERROR(txn.Commit());
    return r.Int(0, 0);
  }

  Status UnpinBlob(int64_t pin_id) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    return c->Exec("DELETE FROM blob_pins WHERE id = $1", pin_id).status();
  }

  StatusOr<std::vector<std::string>> SweepBlobs(
      const std::optional<std::vector<std::string>>& only,
      const std::function<Status(const std::string&)>& remove) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    // Exclusive until commit: no pin (a writer about to reference a blob) and no new
    // file reference can slip in between the choice and the last removal.
    RETURN_IF_ERROR(c->Exec(INFERA_BLOB_LOCK_EXCLUSIVE).status());
    RETURN_IF_ERROR(c->Exec("DELETE FROM blob_pins WHERE expires_at <= $1", Now()).status());
#define INFERA_BLOB_UNUSED                                                           \
  " NOT EXISTS (SELECT 1 FROM files f WHERE f.sha256 = b.sha256)"                    \
  " AND NOT EXISTS (SELECT 1 FROM annotation_revisions r WHERE r.sha256 = b.sha256)" \
  " AND NOT EXISTS (SELECT 1 FROM blob_pins p WHERE p.sha256 = b.sha256)"
    std::vector<std::string> candidates;
    if (only) {
      const std::set<std::string> unique(only->begin(), only->end());
      for (const std::string& sha : unique) {
        ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT sha256 FROM blobs b"
                                             " WHERE b.sha256 = $1 AND" INFERA_BLOB_UNUSED,
                                             sha));
        if (r.rows() > 0) candidates.push_back(sha);
      }
    } else {
      ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT sha256 FROM blobs b WHERE" INFERA_BLOB_UNUSED
                                           " ORDER BY sha256"));
      for (int i = 0; i < r.rows(); ++i) candidates.push_back(r.Text(i, 0));
    }
#undef INFERA_BLOB_UNUSED
    std::vector<std::string> removed;
    Status failed;
    for (const std::string& sha : candidates) {
      failed = remove(sha);
      if (!failed.ok()) break;
      RETURN_IF_ERROR(c->Exec("DELETE FROM blobs WHERE sha256 = $1", sha).status());
      removed.push_back(sha);
    }
    RETURN_IF_ERROR(txn.Commit());
    if (!failed.ok()) return failed;
    return removed;
  }

  // --- jobs ---

  StatusOr<JobRecord> CreateJob(const JobRecord& job) override {
    if (job.kind.empty()) return absl::InvalidArgumentError("job has no kind");
    const std::string spec = job.spec_json.empty() ? "{}" : job.spec_json;
    const nlohmann::json parsed = nlohmann::json::parse(spec, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_object()) {
      return absl::InvalidArgumentError(StrCat("job spec is not a JSON object: ", spec));
    }
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    int64_t total = std::max<int64_t>(job.total, 0);
    if (job.dataset_id != 0) {
      ASSIGN_OR_RETURN(DatasetRecord dataset, ReadDataset(*c, job.dataset_id));
      if (total == 0) total = dataset.file_count;
    }
    ASSIGN_OR_RETURN(
        PgResult r,
        c->Exec("INSERT INTO jobs (kind, owner_id, dataset_id, spec_json, status,"
                " note, total, created_at) VALUES ($1, $2, $3, $4, 'queued', $5,"
                " $6, $7) RETURNING id",
                job.kind, job.owner_id, PgIdOrNull(job.dataset_id), spec, job.note, total, Now()));
    ASSIGN_OR_RETURN(JobRecord created, ReadJob(*c, r.Int(0, 0)));
    RETURN_IF_ERROR(NotifyJobChange(*c));
    RETURN_IF_ERROR(txn.Commit());
    return created;
  }

  StatusOr<JobRecord> GetJob(int64_t id) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    return ReadJob(*c, id);
  }

  StatusOr<std::vector<JobRecord>> ListJobs(const JobFilter& filter) override {
    if (filter.limit <= 0 || filter.offset < 0) {
      return absl::InvalidArgumentError(
          StrCat("job list needs limit > 0 and offset >= 0, got limit ", filter.limit, " offset ",
                 filter.offset));
    }
    std::optional<std::string_view> status;
    if (filter.status.has_value()) status = JobStatusName(*filter.status);
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT " INFERA_JOB_COLUMNS " FROM jobs"
                                         " WHERE ($1::bigint IS NULL OR dataset_id = $1)"
                                         " AND ($2::text IS NULL OR status = $2)"
                                         " AND ($3::bigint IS NULL OR owner_id = $3)"
                                         " AND ($6::text IS NULL OR kind = $6)"
                                         " ORDER BY created_at DESC, id DESC"
                                         " LIMIT $4 OFFSET $5",
                                         filter.dataset_id, status, filter.owner_id, filter.limit,
                                         filter.offset, filter.kind));
    std::vector<JobRecord> out;
    for (int i = 0; i < r.rows(); ++i) {
      ASSIGN_OR_RETURN(JobRecord job, ReadJobRow(r, i));
      out.push_back(std::move(job));
    }
    return out;
  }

  StatusOr<std::optional<JobRecord>> ClaimJob(const std::string& worker, int64_t lease_ms,
                                              const std::vector<std::string>& kinds) override {
    if (worker.empty()) return absl::InvalidArgumentError("worker name is empty");
    // The kinds as a JSON array, or NULL for every kind.
    std::optional<std::string> kinds_json;
    if (!kinds.empty()) kinds_json = nlohmann::json(kinds).dump();
    const int64_t now = Now();
    ASSIGN_OR_RETURN(int64_t expires_at, LeaseEnd(now, lease_ms));
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    // Jobs whose cancellation was requested and whose worker died: canceled for good
    // (rows another claimer holds are left to it).
    RETURN_IF_ERROR(c->Exec("UPDATE jobs SET status = 'canceled', finished_at = $1,"
                            " lease_owner = '', lease_expires_at = 0"
                            " WHERE id IN (SELECT id FROM jobs WHERE status = 'running'"
                            " AND cancel_requested AND lease_expires_at < $1"
                            " FOR UPDATE SKIP LOCKED)",
                            now)
                        .status());
    // The oldest claimable job no other claimer is taking right now.
    ASSIGN_OR_RETURN(
        PgResult pick,
        c->Exec("SELECT id FROM jobs"
                " WHERE status IN ('queued', 'running') AND NOT cancel_requested"
                " AND (status = 'queued' OR lease_expires_at < $1)"
                " AND ($2::jsonb IS NULL OR kind IN (SELECT jsonb_array_elements_text($2::jsonb)))"
                " ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
                now, kinds_json));
    if (pick.rows() == 0) {
      RETURN_IF_ERROR(txn.Commit());
      return std::optional<JobRecord>();
    }
    ASSIGN_OR_RETURN(PgResult r, c->Exec("UPDATE jobs SET status = 'running',"
                                         " lease_owner = $2, lease_expires_at = $3,"
                                         " attempts = attempts + 1,"
                                         " started_at = CASE WHEN started_at = 0"
                                         " THEN $4 ELSE started_at END"
                                         " WHERE id = $1 RETURNING " INFERA_JOB_COLUMNS,
                                         pick.Int(0, 0), worker, expires_at, now));
    ASSIGN_OR_RETURN(JobRecord claimed, ReadJobRow(r, 0));
    RETURN_IF_ERROR(txn.Commit());
    return std::optional<JobRecord>(std::move(claimed));
  }

  Status RenewJobLease(int64_t id, const std::string& worker, int64_t lease_ms) override {
    ASSIGN_OR_RETURN(int64_t expires_at, LeaseEnd(Now(), lease_ms));
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    RETURN_IF_ERROR(ReadHeldJob(*c, id, worker).status());
    RETURN_IF_ERROR(
        c->Exec("UPDATE jobs SET lease_expires_at = $2 WHERE id = $1", id, expires_at).status());
    return txn.Commit();
  }

  Status FinishJob(int64_t id, const std::string& worker, JobStatus status, const std::string& note,
                   const std::string& report_json) override {
    if (!IsTerminal(status)) {
      return absl::InvalidArgumentError(
          StrCat("FinishJob needs completed, failed or canceled, got ", JobStatusName(status)));
    }
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    RETURN_IF_ERROR(ReadHeldJob(*c, id, worker).status());
    RETURN_IF_ERROR(c->Exec("UPDATE jobs SET status = $2, note = $3, report_json = $4,"
                            " finished_at = $5, lease_owner = '', lease_expires_at = 0"
                            " WHERE id = $1",
                            id, JobStatusName(status), note,
                            report_json.empty() ? std::string("{}") : report_json, Now())
                        .status());
    return txn.Commit();
  }

  Status UpdateJobProgress(int64_t id, const std::string& worker, int64_t done, int64_t total,
                           const std::string& report_json) override {
    RETURN_IF_ERROR(ValidateJobProgress(done, total, report_json));
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    RETURN_IF_ERROR(ReadHeldJob(*c, id, worker).status());
    RETURN_IF_ERROR(c->Exec("UPDATE jobs SET done = $2, total = $3, report_json = $4"
                            " WHERE id = $1",
                            id, done, total, report_json)
                        .status());
    return txn.Commit();
  }

  Status ReleaseJob(int64_t id, const std::string& worker) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    ASSIGN_OR_RETURN(JobRecord job, ReadHeldJob(*c, id, worker));
    // A job whose cancellation was requested is not requeued (no claim would take it).
    RETURN_IF_ERROR(job.cancel_requested ? CancelNow(*c, id) : Requeue(*c, id));
    RETURN_IF_ERROR(NotifyJobChange(*c));
    return txn.Commit();
  }

  StatusOr<JobRecord> RetryJob(int64_t id) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    ASSIGN_OR_RETURN(JobRecord job, ReadJob(*c, id, /*for_update=*/true));
    if (job.status != JobStatus::kFailed) {
      return absl::FailedPreconditionError(
          StrCat("job ", id, " is ", JobStatusName(job.status), "; only a failed job is retried"));
    }
    RETURN_IF_ERROR(c->Exec("UPDATE jobs SET status = 'queued', note = '', report_json = '{}',"
                            " finished_at = 0, lease_owner = '', lease_expires_at = 0"
                            " WHERE id = $1",
                            id)
                        .status());
    ASSIGN_OR_RETURN(JobRecord after, ReadJob(*c, id));
    RETURN_IF_ERROR(NotifyJobChange(*c));
    RETURN_IF_ERROR(txn.Commit());
    return after;
  }

  StatusOr<JobRecord> CancelJob(int64_t id) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    ASSIGN_OR_RETURN(JobRecord job, ReadJob(*c, id, /*for_update=*/true));
    if (IsTerminal(job.status)) {
      return absl::FailedPreconditionError(
          StrCat("job ", id, " is already ", JobStatusName(job.status)));
    }
    const bool worker_gone = job.status == JobStatus::kRunning && job.lease_expires_at < Now();
    if (job.status == JobStatus::kQueued || worker_gone) {
      RETURN_IF_ERROR(CancelNow(*c, id));
    } else {
      RETURN_IF_ERROR(
          c->Exec("UPDATE jobs SET cancel_requested = TRUE WHERE id = $1", id).status());
    }
    ASSIGN_OR_RETURN(JobRecord after, ReadJob(*c, id));
    // The node running it hears at once (job_changes.h), not at its next record check.
    RETURN_IF_ERROR(NotifyJobChange(*c));
    RETURN_IF_ERROR(txn.Commit());
    return after;
  }

  // --- job results ---

  StatusOr<JobResultRecord> AddJobResult(const JobResultRecord& result,
                                         const std::vector<FileRecord>& outputs,
                                         const std::string& worker) override {
    JobResultRecord record = result;
    record.files.clear();
    std::set<std::string_view> kinds;
    for (const FileRecord& output : outputs) {
      RETURN_IF_ERROR(ValidateFile(output, /*output_of_result=*/true));
      if (output.job_id != 0 && output.job_id != result.job_id) {
        return absl::InvalidArgumentError(StrCat("output file '", output.filename, "' names job ",
                                                 output.job_id, ", not ", result.job_id));
      }
      if (!kinds.insert(output.role).second) {
        return absl::InvalidArgumentError(StrCat("two output files of kind '", output.role, "'"));
      }
    }

    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    // Locks in DeleteDataset's order — the dataset's row first, then (its cascade) the
    // job's and the files' — so a result written while its dataset is deleted waits for
    // the delete (then finds the job gone) or the delete waits for it; never a deadlock.
    {
      ASSIGN_OR_RETURN(PgResult r,
                       c->Exec("SELECT dataset_id FROM jobs WHERE id = $1", result.job_id));
      if (r.rows() == 0) return NotFoundError("job", result.job_id);
      if (!r.IsNull(0, 0)) {
        RETURN_IF_ERROR(
            c->Exec("SELECT 1 FROM datasets WHERE id = $1 FOR KEY SHARE", r.Int(0, 0)).status());
      }
    }
    // The job's row stays locked to the commit: the lease checked here still holds then.
    ASSIGN_OR_RETURN(JobRecord job, ReadHeldJob(*c, result.job_id, worker));
    ASSIGN_OR_RETURN(FileRecord source, ReadFile(*c, result.source_file_id));
    if (source.role != "source" || source.dataset_id != job.dataset_id) {
      return absl::InvalidArgumentError(StrCat("file ", source.id,
                                               " is not a source file of dataset ", job.dataset_id,
                                               " (job ", job.id, ")"));
    }
    {
      ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT 1 FROM job_results"
                                           " WHERE job_id = $1 AND source_file_id = $2",
                                           job.id, source.id));
      if (r.rows() > 0) {
        return absl::AlreadyExistsError(
            StrCat("job ", job.id, " already has a result for file ", source.id));
      }
    }
    const int64_t now = Now();
    if (record.source_filename.empty()) record.source_filename = source.filename;
    if (record.summary_json.empty()) record.summary_json = "{}";
    record.created_at = now;
    {
      // The unique (job_id, source_file_id) constraint is the last word: AlreadyExists.
      ASSIGN_OR_RETURN(
          PgResult r,
          c->Exec("INSERT INTO job_results (job_id, source_file_id,"
                  " source_filename, summary_json, error, elapsed_ms, created_at)"
                  " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                  record.job_id, record.source_file_id, record.source_filename, record.summary_json,
                  record.error, record.elapsed_ms, record.created_at));
      record.id = r.Int(0, 0);
    }
    for (const FileRecord& output : outputs) {
      FileRecord file = output;
      file.job_id = job.id;
      file.result_id = record.id;
      file.dataset_id = 0;
      if (file.owner_id == 0) file.owner_id = job.owner_id;
      file.created_at = now;
      ASSIGN_OR_RETURN(file.id, InsertFile(*c, file));
      record.files.push_back(std::move(file));
    }
    RETURN_IF_ERROR(c->Exec("UPDATE jobs SET done = done + 1,"
                            " failed_items = failed_items + $2 WHERE id = $1",
                            job.id, record.error.empty() ? 0 : 1)
                        .status());
    RETURN_IF_ERROR(txn.Commit());
    return record;
  }

  StatusOr<std::vector<JobResultRecord>> ListJobResults(int64_t job_id) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn,
                     PgTransaction::Begin(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    RETURN_IF_ERROR(ReadJob(*c, job_id).status());
    std::vector<JobResultRecord> out;
    std::map<int64_t, size_t> index;  // result id -> position in out
    {
      ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT " INFERA_RESULT_COLUMNS " FROM job_results"
                                           " WHERE job_id = $1 ORDER BY source_file_id",
                                           job_id));
      for (int i = 0; i < r.rows(); ++i) {
        out.push_back(ReadResultRow(r, i));
        index[out.back().id] = out.size() - 1;
      }
    }
    {
      ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT " INFERA_FILE_COLUMNS " FROM files"
                                           " WHERE job_id = $1 AND result_id IS NOT NULL"
                                           " ORDER BY id",
                                           job_id));
      for (int i = 0; i < r.rows(); ++i) {
        FileRecord file = ReadFileRow(r, i);
        auto it = index.find(file.result_id);
        if (it != index.end()) out[it->second].files.push_back(std::move(file));
      }
    }
    RETURN_IF_ERROR(txn.Commit());
    return out;
  }

  StatusOr<FileRecord> AddJobFile(const FileRecord& file, const std::string& worker) override {
    RETURN_IF_ERROR(ValidateJobFile(file));
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn, PgTransaction::Begin(*c));
    // Locks in DeleteDataset's order, as AddJobResult.
    {
      ASSIGN_OR_RETURN(PgResult r,
                       c->Exec("SELECT dataset_id FROM jobs WHERE id = $1", file.job_id));
      if (r.rows() == 0) return NotFoundError("job", file.job_id);
      if (!r.IsNull(0, 0)) {
        RETURN_IF_ERROR(
            c->Exec("SELECT 1 FROM datasets WHERE id = $1 FOR KEY SHARE", r.Int(0, 0)).status());
      }
    }
    ASSIGN_OR_RETURN(JobRecord job, ReadHeldJob(*c, file.job_id, worker));
    {
      ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT 1 FROM files WHERE job_id = $1 AND role = $2"
                                           " AND filename = $3 AND result_id IS NULL",
                                           job.id, file.role, file.filename));
      if (r.rows() > 0) return JobFileExistsError(file);
    }
    FileRecord record = file;
    record.result_id = 0;
    if (record.owner_id == 0) record.owner_id = job.owner_id;
    record.created_at = Now();
    // The partial unique index files_job_level (migration 6) is the last word.
    StatusOr<int64_t> id = InsertFile(*c, record);
    if (absl::IsAlreadyExists(id.status())) return JobFileExistsError(record);
    RETURN_IF_ERROR(id.status());
    record.id = *id;
    RETURN_IF_ERROR(txn.Commit());
    return record;
  }

  StatusOr<std::vector<FileRecord>> ListJobFiles(int64_t job_id, const std::string& role) override {
    ASSIGN_OR_RETURN(PgPool::Lease c, pool_->Acquire());
    ASSIGN_OR_RETURN(PgTransaction txn,
                     PgTransaction::Begin(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    RETURN_IF_ERROR(ReadJob(*c, job_id).status());
    std::vector<FileRecord> out;
    {
      ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT " INFERA_FILE_COLUMNS " FROM files"
                                           " WHERE job_id = $1 AND role = $2 ORDER BY id",
                                           job_id, role));
      for (int i = 0; i < r.rows(); ++i) out.push_back(ReadFileRow(r, i));
    }
    RETURN_IF_ERROR(txn.Commit());
    return out;
  }

 private:
  int64_t Now() const { return now_ms_(); }

  StatusOr<DatasetRecord> ReadDataset(PgConnection& c, int64_t id) {
    ASSIGN_OR_RETURN(
        PgResult r,
        c.Exec("SELECT " INFERA_DATASET_COLUMNS " FROM datasets d WHERE d.id = $1", id));
    if (r.rows() == 0) return NotFoundError("dataset", id);
    return ReadDatasetRow(r, 0);
  }

  // Locks the dataset's row to the end of the transaction; NotFound when it is gone.
  Status LockDataset(PgConnection& c, int64_t id) {
    ASSIGN_OR_RETURN(PgResult r, c.Exec("SELECT 1 FROM datasets WHERE id = $1 FOR UPDATE", id));
    if (r.rows() == 0) return NotFoundError("dataset", id);
    return absl::OkStatus();
  }

  StatusOr<FileRecord> ReadFile(PgConnection& c, int64_t id) {
    ASSIGN_OR_RETURN(PgResult r,
                     c.Exec("SELECT " INFERA_FILE_COLUMNS " FROM files WHERE id = $1", id));
    if (r.rows() == 0) return NotFoundError("file", id);
    return ReadFileRow(r, 0);
  }

  StatusOr<JobRecord> ReadJob(PgConnection& c, int64_t id, bool for_update = false) {
    ASSIGN_OR_RETURN(
        PgResult r,
        for_update ? c.Exec("SELECT " INFERA_JOB_COLUMNS " FROM jobs WHERE id = $1 FOR UPDATE", id)
                   : c.Exec("SELECT " INFERA_JOB_COLUMNS " FROM jobs WHERE id = $1", id));
    if (r.rows() == 0) return NotFoundError("job", id);
    return ReadJobRow(r, 0);
  }

  // The job, locked to the end of the transaction, when `worker` holds it (running,
  // lease_owner == worker); NotFound for an unknown id, FailedPrecondition otherwise.
  StatusOr<JobRecord> ReadHeldJob(PgConnection& c, int64_t id, const std::string& worker) {
    ASSIGN_OR_RETURN(JobRecord job, ReadJob(c, id, /*for_update=*/true));
    if (job.status == JobStatus::kRunning && job.lease_owner == worker && !worker.empty()) {
      return job;
    }
    if (job.status == JobStatus::kRunning) {
      return absl::FailedPreconditionError(
          StrCat("job ", id, " is held by worker '", job.lease_owner, "', not '", worker, "'"));
    }
    return absl::FailedPreconditionError(StrCat("job ", id, " is ", JobStatusName(job.status),
                                                ", not held by worker '", worker, "'"));
  }

  StatusOr<bool> IsBlobReferenced(PgConnection& c, const std::string& sha256) {
    ASSIGN_OR_RETURN(PgResult r,
                     c.Exec("SELECT EXISTS (SELECT 1 FROM files WHERE sha256 = $1)"
                            " OR EXISTS (SELECT 1 FROM annotation_revisions WHERE sha256 = $1)",
                            sha256));
    return r.Bool(0, 0);
  }

  // `name`, or the first free "<stem>_<n><ext>" (n = 1, 2, ...) when `name` is taken in
  // the dataset (whose row the caller has locked).
  StatusOr<std::string> UniqueFilename(PgConnection& c, int64_t dataset_id,
                                       const std::string& name) {
    {
      ASSIGN_OR_RETURN(PgResult r, c.Exec("SELECT 1 FROM files WHERE dataset_id = $1"
                                          " AND filename = $2",
                                          dataset_id, name));
      if (r.rows() == 0) return name;
    }
    const auto [stem, ext] = SplitExtension(name);
    std::set<int64_t> used;
    ASSIGN_OR_RETURN(PgResult r, c.Exec("SELECT filename FROM files WHERE dataset_id = $1"
                                        " AND starts_with(filename, $2)",
                                        dataset_id, StrCat(stem, "_")));
    for (int i = 0; i < r.rows(); ++i) {
      if (int64_t n = NumberedSuffix(r.Text(i, 0), stem, ext); n > 0) used.insert(n);
    }
    return FirstFreeNumberedName(name, used);
  }

  StatusOr<int64_t> InsertFile(PgConnection& c, const FileRecord& f) {
    // A new reference to a blob: not while a sweep is choosing what to remove.
    RETURN_IF_ERROR(c.Exec(INFERA_BLOB_LOCK_SHARED).status());
    ASSIGN_OR_RETURN(
        PgResult r,
        c.Exec("INSERT INTO files (owner_id, dataset_id, job_id, result_id, role, filename,"
               " content_type, sha256, size, width, height, channels, bit_depth, pages,"
               " sample_type, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
               " $11, $12, $13, $14, $15, $16) RETURNING id",
               f.owner_id, PgIdOrNull(f.dataset_id), PgIdOrNull(f.job_id), PgIdOrNull(f.result_id),
               f.role, f.filename, f.content_type, f.sha256, f.size, f.width, f.height, f.channels,
               f.bit_depth, f.pages, f.sample_type, f.created_at));
    RETURN_IF_ERROR(RegisterBlob(c, f.sha256, f.size));
    return r.Int(0, 0);
  }

  // Registers a blob (once; its first size and time are kept).
  Status RegisterBlob(PgConnection& c, const std::string& sha256, int64_t size) {
    return c
        .Exec(
            "INSERT INTO blobs (sha256, size, created_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (sha256) DO NOTHING",
            sha256, size, Now())
        .status();
  }

  // Tells every node listening (job_changes.h) that a job changed, at this
  // transaction's commit.
  static Status NotifyJobChange(PgConnection& c) { return c.Exec("NOTIFY infera_jobs").status(); }

  Status CancelNow(PgConnection& c, int64_t id) {
    return c
        .Exec(
            "UPDATE jobs SET status = 'canceled', cancel_requested = TRUE, finished_at = $2,"
            " lease_owner = '', lease_expires_at = 0 WHERE id = $1",
            id, Now())
        .status();
  }

  Status Requeue(PgConnection& c, int64_t id) {
    return c
        .Exec(
            "UPDATE jobs SET status = 'queued', lease_owner = '', lease_expires_at = 0"
            " WHERE id = $1",
            id)
        .status();
  }

  const std::unique_ptr<PgPool> pool_;
  const std::function<int64_t()> now_ms_;
};

}  // namespace

StatusOr<std::string> LoadOrCreatePostgresSecret(
    const PostgresStoreOptions& options, const std::string& name,
    const std::function<StatusOr<std::string>()>& generate) {
  if (name.empty()) return absl::InvalidArgumentError("secret name is empty");
  const int64_t now = options.now_ms ? options.now_ms() : SystemNowMs();
  ASSIGN_OR_RETURN(std::unique_ptr<PgPool> pool, OpenMigratedPgPool(options, now));
  ASSIGN_OR_RETURN(PgPool::Lease c, pool->Acquire());
  {
    ASSIGN_OR_RETURN(PgResult r,
                     c->Exec("SELECT value FROM cluster_secrets WHERE name = $1", name));
    if (r.rows() > 0) return r.Text(0, 0);
  }
  ASSIGN_OR_RETURN(std::string made, generate());
  if (made.empty()) return absl::InvalidArgumentError("generated secret is empty");
  // A node that lost the race keeps the winner's (the insert waits for its commit).
  RETURN_IF_ERROR(c->Exec("INSERT INTO cluster_secrets (name, value, created_at)"
                          " VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                          name, made, now)
                      .status());
  ASSIGN_OR_RETURN(PgResult r, c->Exec("SELECT value FROM cluster_secrets WHERE name = $1", name));
  if (r.rows() == 0) return absl::InternalError(StrCat("secret '", name, "' vanished"));
  return r.Text(0, 0);
}

StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const PostgresStoreOptions& options) {
  std::function<int64_t()> now_ms = options.now_ms ? options.now_ms : SystemNowMs;
  ASSIGN_OR_RETURN(std::unique_ptr<PgPool> pool, OpenMigratedPgPool(options, now_ms()));
  return std::unique_ptr<Store>(new PostgresStore(std::move(pool), std::move(now_ms)));
}

}  // namespace infera

#undef INFERA_DATASET_COLUMNS
#undef INFERA_FILE_COLUMNS
#undef INFERA_JOB_COLUMNS
#undef INFERA_RESULT_COLUMNS
#undef INFERA_BLOB_LOCK_SHARED
#undef INFERA_BLOB_LOCK_EXCLUSIVE
