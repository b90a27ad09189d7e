#include "store/sqlite_store.h"

#include <chrono>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "common/mutex.h"
#include "common/sha256.h"
#include "common/strings.h"
#include "store/sqlite_db.h"
#include "store/sqlite_migrations.h"
#include "store/sqlite_open.h"
#include "store/store_rules.h"

namespace infera {
namespace {

using Mode = SqliteTransaction::Mode;

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

DatasetRecord ReadDatasetRow(const SqliteStatement& st) {
  DatasetRecord d;
  d.id = st.Int(0);
  d.owner_id = st.Int(1);
  d.name = st.Text(2);
  d.description = st.Text(3);
  d.created_at = st.Int(4);
  d.file_count = st.Int(5);
  d.total_bytes = st.Int(6);
  return d;
}

FileRecord ReadFileRow(const SqliteStatement& st) {
  FileRecord f;
  f.id = st.Int(0);
  f.owner_id = st.Int(1);
  f.dataset_id = st.Int(2);
  f.job_id = st.Int(3);
  f.result_id = st.Int(4);
  f.role = st.Text(5);
  f.filename = st.Text(6);
  f.content_type = st.Text(7);
  f.sha256 = st.Text(8);
  f.size = st.Int(9);
  f.width = static_cast<int>(st.Int(10));
  f.height = static_cast<int>(st.Int(11));
  f.channels = static_cast<int>(st.Int(12));
  f.bit_depth = static_cast<int>(st.Int(13));
  f.pages = static_cast<int>(st.Int(14));
  f.sample_type = st.Text(15);
  f.created_at = st.Int(16);
  return f;
}

StatusOr<JobRecord> ReadJobRow(const SqliteStatement& st) {
  JobRecord j;
  j.id = st.Int(0);
  j.kind = st.Text(1);
  j.owner_id = st.Int(2);
  j.dataset_id = st.Int(3);
  j.spec_json = st.Text(4);
  StatusOr<JobStatus> status = ParseJobStatus(st.Text(5));
  if (!status.ok()) {
    return absl::InternalError(
        StrCat("job ", j.id, " has a corrupt status: ", ToStd(status.status().message())));
  }
  j.status = *status;
  j.note = st.Text(6);
  j.total = st.Int(7);
  j.done = st.Int(8);
  j.failed_items = st.Int(9);
  j.cancel_requested = st.Int(10) != 0;
  j.created_at = st.Int(11);
  j.started_at = st.Int(12);
  j.finished_at = st.Int(13);
  j.lease_owner = st.Text(14);
  j.lease_expires_at = st.Int(15);
  j.attempts = static_cast<int>(st.Int(16));
  j.report_json = st.Text(17);
  return j;
}

JobResultRecord ReadResultRow(const SqliteStatement& st) {
  JobResultRecord r;
  r.id = st.Int(0);
  r.job_id = st.Int(1);
  r.source_file_id = st.Int(2);
  r.source_filename = st.Text(3);
  r.summary_json = st.Text(4);
  r.error = st.Text(5);
  r.elapsed_ms = st.Double(6);
  r.created_at = st.Int(7);
  return r;
}

class SqliteStore final : public Store {
 public:
  SqliteStore(std::unique_ptr<SqliteDb> db, std::function<int64_t()> now_ms)
      : db_(std::move(db)), now_ms_(std::move(now_ms)) {}

  // --- datasets ---

  StatusOr<DatasetRecord> CreateDataset(const DatasetRecord& dataset) override {
    if (dataset.name.empty()) return absl::InvalidArgumentError("dataset name is empty");
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT INTO datasets (owner_id, name, "
                                             "description, created_at) VALUES (?1, ?2, ?3, ?4)"));
      RETURN_IF_ERROR(st.Bind(dataset.owner_id, dataset.name, dataset.description, Now()).Run());
    }
    ASSIGN_OR_RETURN(DatasetRecord created, ReadDataset(db_->LastInsertId()));
    RETURN_IF_ERROR(txn.Commit());
    return created;
  }

  StatusOr<DatasetRecord> GetDataset(int64_t id) override {
    MutexLock lock(&mu_);
    return ReadDataset(id);
  }

  StatusOr<std::vector<DatasetRecord>> ListDatasets(std::optional<int64_t> owner_id) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT " INFERA_DATASET_COLUMNS " FROM datasets d"
                                           " WHERE ?1 IS NULL OR d.owner_id = ?1"
                                           " ORDER BY d.created_at DESC, d.id DESC"));
    st.Bind(owner_id);
    std::vector<DatasetRecord> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return out;
      out.push_back(ReadDatasetRow(st));
    }
  }

  StatusOr<std::vector<std::string>> DeleteDataset(int64_t id) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    RETURN_IF_ERROR(ReadDataset(id).status());
    // Every blob the cascade below drops a reference to: the source files, the
    // outputs of the dataset's jobs and the masks of its annotation sets.
    std::vector<std::string> dropped;
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT sha256 FROM files"
                                             " WHERE dataset_id = ?1 OR job_id IN"
                                             " (SELECT id FROM jobs WHERE dataset_id = ?1)"
                                             " UNION SELECT sha256 FROM annotation_revisions"
                                             " WHERE set_id IN (SELECT id FROM annotation_sets"
                                             " WHERE dataset_id = ?1)"
                                             " ORDER BY sha256"));
      st.Bind(id);
      while (true) {
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        dropped.push_back(st.Text(0));
      }
    }
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("DELETE FROM datasets WHERE id = ?1"));
      RETURN_IF_ERROR(st.Bind(id).Run());
    }
    std::vector<std::string> unreferenced;
    for (std::string& sha : dropped) {
      ASSIGN_OR_RETURN(bool referenced, IsBlobReferenced(sha));
      if (!referenced) unreferenced.push_back(std::move(sha));
    }
    RETURN_IF_ERROR(txn.Commit());
    return unreferenced;
  }

  // --- files ---

  StatusOr<FileRecord> AddFile(const FileRecord& file) override {
    RETURN_IF_ERROR(ValidateFile(file, /*output_of_result=*/false));
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    FileRecord record = file;
    if (file.role == "source") {
      RETURN_IF_ERROR(ReadDataset(file.dataset_id).status());
      ASSIGN_OR_RETURN(record.filename, UniqueFilename(file.dataset_id, file.filename));
    } else {
      RETURN_IF_ERROR(ReadJob(file.job_id).status());
    }
    record.created_at = Now();
    ASSIGN_OR_RETURN(record.id, InsertFile(record));
    RETURN_IF_ERROR(txn.Commit());
    return record;
  }

  StatusOr<AddedFile> AddSourceFileOnce(const FileRecord& file) override {
    if (file.role != "source") {
      return absl::InvalidArgumentError("AddSourceFileOnce takes a source file");
    }
    RETURN_IF_ERROR(ValidateFile(file, /*output_of_result=*/false));
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    RETURN_IF_ERROR(ReadDataset(file.dataset_id).status());
    int64_t existing = 0;
    {
      // The same bytes under the same name, or under the name made unique from it.
      const auto [stem, ext] = SplitExtension(file.filename);
      ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT id, filename FROM files WHERE sha256 = ?1"
                                             " AND dataset_id = ?2 AND role = 'source'"
                                             " ORDER BY id"));
      st.Bind(file.sha256, file.dataset_id);
      while (existing == 0) {
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        const std::string name = st.Text(1);
        if (name == file.filename || NumberedSuffix(name, stem, ext) > 0) existing = st.Int(0);
      }
    }
    AddedFile out;
    if (existing != 0) {
      ASSIGN_OR_RETURN(out.file, ReadFile(existing));
      out.added = false;
    } else {
      out.file = file;
      ASSIGN_OR_RETURN(out.file.filename, UniqueFilename(file.dataset_id, file.filename));
      out.file.created_at = Now();
      ASSIGN_OR_RETURN(out.file.id, InsertFile(out.file));
    }
    RETURN_IF_ERROR(txn.Commit());
    return out;
  }

  StatusOr<FileRecord> GetFile(int64_t id) override {
    MutexLock lock(&mu_);
    return ReadFile(id);
  }

  StatusOr<std::vector<FileRecord>> ListDatasetFiles(int64_t dataset_id) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kDeferred));
    RETURN_IF_ERROR(ReadDataset(dataset_id).status());
    std::vector<FileRecord> out;
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT " INFERA_FILE_COLUMNS " FROM files"
                                             " WHERE dataset_id = ?1 ORDER BY id"));
      st.Bind(dataset_id);
      while (true) {
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        out.push_back(ReadFileRow(st));
      }
    }
    RETURN_IF_ERROR(txn.Commit());
    return out;
  }

  StatusOr<bool> BlobReferenced(const std::string& sha256) override {
    MutexLock lock(&mu_);
    return IsBlobReferenced(sha256);
  }

  // --- blob lifetime ---

  StatusOr<int64_t> PinBlob(const std::string& sha256, int64_t size, int64_t ttl_ms) override {
    if (!IsSha256Hex(sha256)) {
      return absl::InvalidArgumentError("a blob name must be 64 lower-case hex digits");
    }
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    ASSIGN_OR_RETURN(int64_t expires_at, LeaseEnd(Now(), ttl_ms));
    RETURN_IF_ERROR(RegisterBlob(sha256, std::max<int64_t>(size, 0)));
    ASSIGN_OR_RETURN(auto st,
                     db_->Prepare("INSERT INTO blob_pins (sha256, expires_at) VALUES (?1, ?2)"));
    RETURN_IF_ERROR(st.Bind(sha256, expires_at).Run());
    const int64_t id = db_->LastInsertId();
    RETURN_IF_ERROR(txn.Commit());
    return id;
  }

  Status UnpinBlob(int64_t pin_id) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto st, db_->Prepare("DELETE FROM blob_pins WHERE id = ?1"));
    return st.Bind(pin_id).Run();
  }

  StatusOr<std::vector<std::string>> SweepBlobs(
      const std::optional<std::vector<std::string>>& only,
      const std::function<Status(const std::string&)>& remove) override {
    MutexLock lock(&mu_);
    // The write lock is held from the choice to the last removal, so no pin (a writer
    // about to reference a blob) can slip in between.
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    const int64_t now = Now();
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("DELETE FROM blob_pins WHERE expires_at <= ?1"));
      RETURN_IF_ERROR(st.Bind(now).Run());
    }
#define INFERA_BLOB_UNUSED                                                           \
  " NOT EXISTS (SELECT 1 FROM files f WHERE f.sha256 = b.sha256)"                    \
  " AND NOT EXISTS (SELECT 1 FROM annotation_revisions r WHERE r.sha256 = b.sha256)" \
  " AND NOT EXISTS (SELECT 1 FROM blob_pins p WHERE p.sha256 = b.sha256)"
    std::vector<std::string> candidates;
    if (only) {
      const std::set<std::string> unique(only->begin(), only->end());
      for (const std::string& sha : unique) {
        ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT sha256 FROM blobs b"
                                               " WHERE b.sha256 = ?1 AND" INFERA_BLOB_UNUSED));
        ASSIGN_OR_RETURN(bool row, st.Bind(sha).Step());
        if (row) candidates.push_back(sha);
      }
    } else {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT sha256 FROM blobs b WHERE" INFERA_BLOB_UNUSED
                                             " ORDER BY sha256"));
      while (true) {
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        candidates.push_back(st.Text(0));
      }
    }
#undef INFERA_BLOB_UNUSED
    std::vector<std::string> removed;
    Status failed;
    for (const std::string& sha : candidates) {
      failed = remove(sha);
      if (!failed.ok()) break;
      ASSIGN_OR_RETURN(auto st, db_->Prepare("DELETE FROM blobs WHERE sha256 = ?1"));
      RETURN_IF_ERROR(st.Bind(sha).Run());
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
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    {
      ASSIGN_OR_RETURN(
          auto st,
          db_->Prepare("SELECT CASE WHEN json_valid(?1) THEN json_type(?1) = 'object' ELSE 0 END"));
      ASSIGN_OR_RETURN(bool row, st.Bind(spec).Step());
      if (!row || st.Int(0) == 0) {
        return absl::InvalidArgumentError(StrCat("job spec is not a JSON object: ", spec));
      }
    }
    int64_t total = std::max<int64_t>(job.total, 0);
    if (job.dataset_id != 0) {
      ASSIGN_OR_RETURN(DatasetRecord dataset, ReadDataset(job.dataset_id));
      if (total == 0) total = dataset.file_count;
    }
    {
      ASSIGN_OR_RETURN(
          auto st,
          db_->Prepare("INSERT INTO jobs (kind, owner_id, dataset_id, spec_json, status, note,"
                       " total, created_at) VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7)"));
      RETURN_IF_ERROR(
          st.Bind(job.kind, job.owner_id, NullIfZero{job.dataset_id}, spec, job.note, total, Now())
              .Run());
    }
    ASSIGN_OR_RETURN(JobRecord created, ReadJob(db_->LastInsertId()));
    RETURN_IF_ERROR(txn.Commit());
    return created;
  }

  StatusOr<JobRecord> GetJob(int64_t id) override {
    MutexLock lock(&mu_);
    return ReadJob(id);
  }

  StatusOr<std::vector<JobRecord>> ListJobs(const JobFilter& filter) override {
    if (filter.limit <= 0 || filter.offset < 0) {
      return absl::InvalidArgumentError(
          StrCat("job list needs limit > 0 and offset >= 0, got limit ", filter.limit, " offset ",
                 filter.offset));
    }
    std::optional<std::string_view> status;
    if (filter.status.has_value()) status = JobStatusName(*filter.status);
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT " INFERA_JOB_COLUMNS " FROM jobs"
                                           " WHERE (?1 IS NULL OR dataset_id = ?1)"
                                           " AND (?2 IS NULL OR status = ?2)"
                                           " AND (?3 IS NULL OR owner_id = ?3)"
                                           " AND (?6 IS NULL OR kind = ?6)"
                                           " ORDER BY created_at DESC, id DESC"
                                           " LIMIT ?4 OFFSET ?5"));
    st.Bind(filter.dataset_id, status, filter.owner_id, filter.limit, filter.offset, filter.kind);
    std::vector<JobRecord> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return out;
      ASSIGN_OR_RETURN(JobRecord job, ReadJobRow(st));
      out.push_back(std::move(job));
    }
  }

  StatusOr<std::optional<JobRecord>> ClaimJob(const std::string& worker, int64_t lease_ms,
                                              const std::vector<std::string>& kinds) override {
    if (worker.empty()) return absl::InvalidArgumentError("worker name is empty");
    // The kinds as a JSON array (json_each reads it), or NULL for every kind.
    std::optional<std::string> kinds_json;
    if (!kinds.empty()) kinds_json = nlohmann::json(kinds).dump();
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    const int64_t now = Now();
    ASSIGN_OR_RETURN(int64_t expires_at, LeaseEnd(now, lease_ms));
    {
      // Jobs whose cancellation was requested and whose worker died: canceled for good.
      ASSIGN_OR_RETURN(auto st,
                       db_->Prepare("UPDATE jobs SET status = 'canceled', finished_at = ?1,"
                                    " lease_owner = '', lease_expires_at = 0"
                                    " WHERE status IN ('queued', 'running')"
                                    " AND status = 'running' AND cancel_requested = 1"
                                    " AND lease_expires_at < ?1"));
      RETURN_IF_ERROR(st.Bind(now).Run());
    }
    int64_t id = 0;
    {
      ASSIGN_OR_RETURN(auto st,
                       db_->Prepare("SELECT id FROM jobs"
                                    " WHERE status IN ('queued', 'running')"
                                    " AND cancel_requested = 0"
                                    " AND (status = 'queued' OR lease_expires_at < ?1)"
                                    " AND (?2 IS NULL OR kind IN (SELECT value FROM json_each(?2)))"
                                    " ORDER BY created_at, id LIMIT 1"));
      ASSIGN_OR_RETURN(bool row, st.Bind(now, kinds_json).Step());
      if (row) id = st.Int(0);
    }
    if (id == 0) {
      RETURN_IF_ERROR(txn.Commit());
      return std::optional<JobRecord>();
    }
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("UPDATE jobs SET status = 'running',"
                                             " lease_owner = ?2, lease_expires_at = ?3,"
                                             " attempts = attempts + 1,"
                                             " started_at = CASE WHEN started_at = 0"
                                             " THEN ?4 ELSE started_at END"
                                             " WHERE id = ?1"));
      RETURN_IF_ERROR(st.Bind(id, worker, expires_at, now).Run());
    }
    ASSIGN_OR_RETURN(JobRecord claimed, ReadJob(id));
    RETURN_IF_ERROR(txn.Commit());
    return std::optional<JobRecord>(std::move(claimed));
  }

  Status RenewJobLease(int64_t id, const std::string& worker, int64_t lease_ms) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    RETURN_IF_ERROR(ReadHeldJob(id, worker).status());
    ASSIGN_OR_RETURN(int64_t expires_at, LeaseEnd(Now(), lease_ms));
    {
      ASSIGN_OR_RETURN(auto st,
                       db_->Prepare("UPDATE jobs SET lease_expires_at = ?2 WHERE id = ?1"));
      RETURN_IF_ERROR(st.Bind(id, expires_at).Run());
    }
    return txn.Commit();
  }

  Status FinishJob(int64_t id, const std::string& worker, JobStatus status, const std::string& note,
                   const std::string& report_json) override {
    if (!IsTerminal(status)) {
      return absl::InvalidArgumentError(
          StrCat("FinishJob needs completed, failed or canceled, got ", JobStatusName(status)));
    }
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    RETURN_IF_ERROR(ReadHeldJob(id, worker).status());
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("UPDATE jobs SET status = ?2, note = ?3,"
                                             " report_json = ?4, finished_at = ?5,"
                                             " lease_owner = '', lease_expires_at = 0"
                                             " WHERE id = ?1"));
      RETURN_IF_ERROR(
          st.Bind(id, JobStatusName(status), note, report_json.empty() ? "{}" : report_json, Now())
              .Run());
    }
    return txn.Commit();
  }

  Status UpdateJobProgress(int64_t id, const std::string& worker, int64_t done, int64_t total,
                           const std::string& report_json) override {
    RETURN_IF_ERROR(ValidateJobProgress(done, total, report_json));
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    RETURN_IF_ERROR(ReadHeldJob(id, worker).status());
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("UPDATE jobs SET done = ?2, total = ?3,"
                                             " report_json = ?4 WHERE id = ?1"));
      RETURN_IF_ERROR(st.Bind(id, done, total, report_json).Run());
    }
    return txn.Commit();
  }

  Status ReleaseJob(int64_t id, const std::string& worker) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    ASSIGN_OR_RETURN(JobRecord job, ReadHeldJob(id, worker));
    // A job whose cancellation was requested is not requeued (no claim would take it).
    RETURN_IF_ERROR(job.cancel_requested ? CancelNow(id) : Requeue(id));
    return txn.Commit();
  }

  StatusOr<JobRecord> RetryJob(int64_t id) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    ASSIGN_OR_RETURN(JobRecord job, ReadJob(id));
    if (job.status != JobStatus::kFailed) {
      return absl::FailedPreconditionError(
          StrCat("job ", id, " is ", JobStatusName(job.status), "; only a failed job is retried"));
    }
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("UPDATE jobs SET status = 'queued', note = '',"
                                             " report_json = '{}', finished_at = 0,"
                                             " lease_owner = '', lease_expires_at = 0"
                                             " WHERE id = ?1"));
      RETURN_IF_ERROR(st.Bind(id).Run());
    }
    ASSIGN_OR_RETURN(JobRecord after, ReadJob(id));
    RETURN_IF_ERROR(txn.Commit());
    return after;
  }

  StatusOr<JobRecord> CancelJob(int64_t id) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    ASSIGN_OR_RETURN(JobRecord job, ReadJob(id));
    if (IsTerminal(job.status)) {
      return absl::FailedPreconditionError(
          StrCat("job ", id, " is already ", JobStatusName(job.status)));
    }
    const bool worker_gone = job.status == JobStatus::kRunning && job.lease_expires_at < Now();
    if (job.status == JobStatus::kQueued || worker_gone) {
      RETURN_IF_ERROR(CancelNow(id));
    } else {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("UPDATE jobs SET cancel_requested = 1 WHERE id = ?1"));
      RETURN_IF_ERROR(st.Bind(id).Run());
    }
    ASSIGN_OR_RETURN(JobRecord after, ReadJob(id));
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

    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    ASSIGN_OR_RETURN(JobRecord job, ReadHeldJob(result.job_id, worker));
    ASSIGN_OR_RETURN(FileRecord source, ReadFile(result.source_file_id));
    if (source.role != "source" || source.dataset_id != job.dataset_id) {
      return absl::InvalidArgumentError(StrCat("file ", source.id,
                                               " is not a source file of dataset ", job.dataset_id,
                                               " (job ", job.id, ")"));
    }
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT 1 FROM job_results"
                                             " WHERE job_id = ?1 AND source_file_id = ?2"));
      ASSIGN_OR_RETURN(bool exists, st.Bind(job.id, source.id).Step());
      if (exists) {
        return absl::AlreadyExistsError(
            StrCat("job ", job.id, " already has a result for file ", source.id));
      }
    }
    const int64_t now = Now();
    if (record.source_filename.empty()) record.source_filename = source.filename;
    if (record.summary_json.empty()) record.summary_json = "{}";
    record.created_at = now;
    {
      ASSIGN_OR_RETURN(auto st,
                       db_->Prepare("INSERT INTO job_results (job_id, source_file_id,"
                                    " source_filename, summary_json, error, elapsed_ms, created_at)"
                                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
      RETURN_IF_ERROR(st.Bind(record.job_id, record.source_file_id, record.source_filename,
                              record.summary_json, record.error, record.elapsed_ms,
                              record.created_at)
                          .Run());
      record.id = db_->LastInsertId();
    }
    for (const FileRecord& output : outputs) {
      FileRecord file = output;
      file.job_id = job.id;
      file.result_id = record.id;
      file.dataset_id = 0;
      if (file.owner_id == 0) file.owner_id = job.owner_id;
      file.created_at = now;
      ASSIGN_OR_RETURN(file.id, InsertFile(file));
      record.files.push_back(std::move(file));
    }
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("UPDATE jobs SET done = done + 1,"
                                             " failed_items = failed_items + ?2 WHERE id = ?1"));
      RETURN_IF_ERROR(st.Bind(job.id, record.error.empty() ? 0 : 1).Run());
    }
    RETURN_IF_ERROR(txn.Commit());
    return record;
  }

  StatusOr<std::vector<JobResultRecord>> ListJobResults(int64_t job_id) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kDeferred));
    RETURN_IF_ERROR(ReadJob(job_id).status());
    std::vector<JobResultRecord> out;
    std::map<int64_t, size_t> index;  // result id -> position in out
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT " INFERA_RESULT_COLUMNS " FROM job_results"
                                             " WHERE job_id = ?1 ORDER BY source_file_id"));
      st.Bind(job_id);
      while (true) {
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        out.push_back(ReadResultRow(st));
        index[out.back().id] = out.size() - 1;
      }
    }
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT " INFERA_FILE_COLUMNS " FROM files"
                                             " WHERE job_id = ?1 AND result_id IS NOT NULL"
                                             " ORDER BY id"));
      st.Bind(job_id);
      while (true) {
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        FileRecord file = ReadFileRow(st);
        auto it = index.find(file.result_id);
        if (it != index.end()) out[it->second].files.push_back(std::move(file));
      }
    }
    RETURN_IF_ERROR(txn.Commit());
    return out;
  }

  StatusOr<FileRecord> AddJobFile(const FileRecord& file, const std::string& worker) override {
    RETURN_IF_ERROR(ValidateJobFile(file));
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kImmediate));
    ASSIGN_OR_RETURN(JobRecord job, ReadHeldJob(file.job_id, worker));
    FileRecord record = file;
    record.result_id = 0;
    if (record.owner_id == 0) record.owner_id = job.owner_id;
    record.created_at = Now();
    // The partial unique index files_job_level (migration 6) is the last word.
    StatusOr<int64_t> id = InsertFile(record);
    if (absl::IsAlreadyExists(id.status())) return JobFileExistsError(record);
    RETURN_IF_ERROR(id.status());
    record.id = *id;
    RETURN_IF_ERROR(txn.Commit());
    return record;
  }

  StatusOr<std::vector<FileRecord>> ListJobFiles(int64_t job_id, const std::string& role) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto txn, SqliteTransaction::Begin(*db_, Mode::kDeferred));
    RETURN_IF_ERROR(ReadJob(job_id).status());
    std::vector<FileRecord> out;
    {
      ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT " INFERA_FILE_COLUMNS " FROM files"
                                             " WHERE job_id = ?1 AND role = ?2 ORDER BY id"));
      st.Bind(job_id, role);
      while (true) {
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        out.push_back(ReadFileRow(st));
      }
    }
    RETURN_IF_ERROR(txn.Commit());
    return out;
  }

 private:
  // The helpers below run with mu_ held.

  int64_t Now() { return now_ms_(); }

  StatusOr<DatasetRecord> ReadDataset(int64_t id) REQUIRES(mu_) {
    ASSIGN_OR_RETURN(
        auto st, db_->Prepare("SELECT " INFERA_DATASET_COLUMNS " FROM datasets d WHERE d.id = ?1"));
    ASSIGN_OR_RETURN(bool row, st.Bind(id).Step());
    if (!row) return NotFoundError("dataset", id);
    return ReadDatasetRow(st);
  }

  StatusOr<FileRecord> ReadFile(int64_t id) REQUIRES(mu_) {
    ASSIGN_OR_RETURN(auto st,
                     db_->Prepare("SELECT " INFERA_FILE_COLUMNS " FROM files WHERE id = ?1"));
    ASSIGN_OR_RETURN(bool row, st.Bind(id).Step());
    if (!row) return NotFoundError("file", id);
    return ReadFileRow(st);
  }

  StatusOr<JobRecord> ReadJob(int64_t id) REQUIRES(mu_) {
    ASSIGN_OR_RETURN(auto st,
                     db_->Prepare("SELECT " INFERA_JOB_COLUMNS " FROM jobs WHERE id = ?1"));
    ASSIGN_OR_RETURN(bool row, st.Bind(id).Step());
    if (!row) return NotFoundError("job", id);
    return ReadJobRow(st);
  }

  // The job, when `worker` holds it (running, lease_owner == worker); NotFound for an
  // unknown id, FailedPrecondition otherwise.
  StatusOr<JobRecord> ReadHeldJob(int64_t id, const std::string& worker) REQUIRES(mu_) {
    ASSIGN_OR_RETURN(JobRecord job, ReadJob(id));
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

  StatusOr<bool> IsBlobReferenced(const std::string& sha256) REQUIRES(mu_) {
    ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT EXISTS (SELECT 1 FROM files WHERE sha256 = ?1)"
                                           " OR EXISTS (SELECT 1 FROM annotation_revisions"
                                           " WHERE sha256 = ?1)"));
    ASSIGN_OR_RETURN(bool row, st.Bind(sha256).Step());
    return row && st.Int(0) != 0;
  }

  // `name`, or the first free "<stem>_<n><ext>" (n = 1, 2, ...) when `name` is taken in
  // the dataset. One range query over the (dataset_id, filename) index finds every
  // numbered name in use, so many clashes cost no more than one.
  StatusOr<std::string> UniqueFilename(int64_t dataset_id, const std::string& name) REQUIRES(mu_) {
    {
      ASSIGN_OR_RETURN(auto st,
                       db_->Prepare("SELECT 1 FROM files WHERE dataset_id = ?1 AND filename = ?2"));
      ASSIGN_OR_RETURN(bool taken, st.Bind(dataset_id, name).Step());
      if (!taken) return name;
    }
    const auto [stem, ext] = SplitExtension(name);
    std::set<int64_t> used;
    {
      // Names starting with "<stem>_": between "<stem>_" and "<stem>`" ('`' follows '_').
      ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT filename FROM files WHERE dataset_id = ?1"
                                             " AND filename >= ?2 AND filename < ?3"));
      st.Bind(dataset_id, StrCat(stem, "_"), StrCat(stem, "`"));
      while (true) {
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        if (int64_t n = NumberedSuffix(st.Text(0), stem, ext); n > 0) used.insert(n);
      }
    }
    int64_t n = 1;
    while (used.contains(n)) ++n;
    return StrCat(stem, "_", n, ext);
  }

  StatusOr<int64_t> InsertFile(const FileRecord& f) REQUIRES(mu_) {
    ASSIGN_OR_RETURN(auto st,
                     db_->Prepare("INSERT INTO files (owner_id, dataset_id, job_id, result_id,"
                                  " role, filename, content_type, sha256, size, width, height,"
                                  " channels, bit_depth, pages, sample_type, created_at)"
                                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
                                  " ?13, ?14, ?15, ?16)"));
    RETURN_IF_ERROR(st.Bind(f.owner_id, NullIfZero{f.dataset_id}, NullIfZero{f.job_id},
                            NullIfZero{f.result_id}, f.role, f.filename, f.content_type, f.sha256,
                            f.size, f.width, f.height, f.channels, f.bit_depth, f.pages,
                            f.sample_type, f.created_at)
                        .Run());
    const int64_t id = db_->LastInsertId();
    RETURN_IF_ERROR(RegisterBlob(f.sha256, f.size));
    return id;
  }

  // Registers a blob (once; its first size and time are kept).
  Status RegisterBlob(const std::string& sha256, int64_t size) {
    ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT OR IGNORE INTO blobs (sha256, size, created_at)"
                                           " VALUES (?1, ?2, ?3)"));
    return st.Bind(sha256, size, Now()).Run();
  }

  Status CancelNow(int64_t id) REQUIRES(mu_) {
    ASSIGN_OR_RETURN(auto st, db_->Prepare("UPDATE jobs SET status = 'canceled',"
                                           " cancel_requested = 1, finished_at = ?2,"
                                           " lease_owner = '', lease_expires_at = 0"
                                           " WHERE id = ?1"));
    return st.Bind(id, Now()).Run();
  }

  Status Requeue(int64_t id) REQUIRES(mu_) {
    ASSIGN_OR_RETURN(auto st, db_->Prepare("UPDATE jobs SET status = 'queued',"
                                           " lease_owner = '', lease_expires_at = 0"
                                           " WHERE id = ?1"));
    return st.Bind(id).Run();
  }

  Mutex mu_;
  const std::unique_ptr<SqliteDb> db_ PT_GUARDED_BY(mu_);
  const std::function<int64_t()> now_ms_;
};

// Switches the database to WAL journaling. Switching a new database's journal mode
// needs an exclusive lock, and when another connection is opening the same file SQLite
// may report SQLITE_BUSY at once instead of calling the busy handler; so retry until
// the busy timeout has passed.
}  // namespace

StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::filesystem::path& db_file,
                                                 const SqliteStoreOptions& options) {
  std::function<int64_t()> now_ms = options.now_ms ? options.now_ms : SystemNowMs;
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db,
                   OpenSqliteDatabase(db_file, options.busy_timeout_ms, now_ms()));
  return std::unique_ptr<Store>(new SqliteStore(std::move(db), std::move(now_ms)));
}

}  // namespace infera

#undef INFERA_DATASET_COLUMNS
#undef INFERA_FILE_COLUMNS
#undef INFERA_JOB_COLUMNS
#undef INFERA_RESULT_COLUMNS
