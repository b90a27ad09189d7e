// JobQueue: durable jobs of any kind — the records and the lease protocol that workers
// (jobs/job_workers.h) run them by. A job is a kind ("inference", ...), an owner, an
// optional dataset it works on, a spec (JSON the kind's handler reads), a status,
// progress counters, a lease and timestamps. The queue knows nothing of what a kind
// does; its handler (jobs/job_handler.h) does.
//
// Lease protocol: a worker claims the oldest live job of the kinds it runs with a lease
// (status running, lease_owner = worker, lease_expires_at = now + lease_ms), renews it
// while it works, and ends it with Finish (terminal) or Release (back to the queue). A
// job's lease is expired when lease_expires_at < now; the worker still holds the job
// after that, until another worker claims it — so worker names must be unique per
// worker process. Cancel of a running job only sets cancel_requested; its worker sees it
// and finishes the job `canceled`.
//
// Conventions as store.h's: ids positive, times ms since the epoch set by the store,
// NotFound for unknown ids ("job <id> not found"), InvalidArgument for a record that
// breaks a constraint. Thread-safety: every method is safe from any thread; each call
// is atomic.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace infera {

enum class JobStatus { kQueued, kRunning, kCompleted, kFailed, kCanceled };
std::string_view JobStatusName(JobStatus status);  // "queued", "running", ...
StatusOr<JobStatus> ParseJobStatus(std::string_view name);
inline bool IsTerminal(JobStatus s) {
  return s == JobStatus::kCompleted || s == JobStatus::kFailed || s == JobStatus::kCanceled;
}

struct JobRecord {
  int64_t id = 0;
  std::string kind;  // which handler runs it: "inference", ...
  int64_t owner_id = 0;
  int64_t dataset_id = 0;        // the dataset it works on (deleting it deletes the job); 0: none
  std::string spec_json = "{}";  // what to do, as the kind's handler reads it
  JobStatus status = JobStatus::kQueued;
  std::string note;          // why it failed, or a remark ("3 images failed")
  int64_t total = 0;         // items to process
  int64_t done = 0;          // items with a result (success or error)
  int64_t failed_items = 0;  // results with an error
  bool cancel_requested = false;
  int64_t created_at = 0;
  int64_t started_at = 0;   // first claim; 0 before
  int64_t finished_at = 0;  // 0 until terminal
  // Lease of the worker running it (empty / 0 when none).
  std::string lease_owner;
  int64_t lease_expires_at = 0;
  int attempts = 0;                // claims so far
  std::string report_json = "{}";  // what the handler recorded when it ended (timings, ...)
};

struct JobFilter {
  std::optional<std::string> kind;
  std::optional<int64_t> dataset_id;
  std::optional<JobStatus> status;
  std::optional<int64_t> owner_id;
  int64_t limit = 100;
  int64_t offset = 0;
};

class JobQueue {
 public:
  virtual ~JobQueue() = default;

  // Creates a queued job (status, counters, lease and times in `job` are ignored;
  // `total` is kept, except that a job on a dataset with total 0 gets the dataset's
  // source file count at this moment). NotFound for an unknown dataset, InvalidArgument
  // for an empty kind or a spec that is not a JSON object.
  virtual StatusOr<JobRecord> CreateJob(const JobRecord& job) = 0;
  virtual StatusOr<JobRecord> GetJob(int64_t id) = 0;
  // Newest first (created_at, then id), filtered, then `offset` skipped and at most
  // `limit` returned. InvalidArgument unless limit > 0 and offset >= 0.
  virtual StatusOr<std::vector<JobRecord>> ListJobs(const JobFilter& filter) = 0;
  // Claims the oldest job of one of `kinds` (every kind when empty) that is queued, or
  // running with an expired lease (a worker that died), for `worker` until now +
  // lease_ms: status running, attempts + 1, started_at set on the first claim. nullopt
  // when there is none. Jobs with cancel_requested are not claimed: one whose lease
  // expired (its worker died) becomes canceled instead. InvalidArgument for an empty
  // worker or lease_ms <= 0.
  virtual StatusOr<std::optional<JobRecord>> ClaimJob(const std::string& worker, int64_t lease_ms,
                                                      const std::vector<std::string>& kinds) = 0;
  // Extends the lease; FailedPrecondition when `worker` no longer holds it (another
  // worker took over, or the job is terminal).
  virtual Status RenewJobLease(int64_t id, const std::string& worker, int64_t lease_ms) = 0;
  // Moves a job held by `worker` to a terminal status with a note and a report,
  // clearing the lease. FailedPrecondition when `worker` does not hold it;
  // InvalidArgument for a status that is not terminal.
  virtual Status FinishJob(int64_t id, const std::string& worker, JobStatus status,
                           const std::string& note, const std::string& report_json) = 0;
  // Records how far a job held by `worker` is while it runs: its progress counters
  // (done of total) and its report so far (per-epoch metrics, log lines: what the API
  // shows of a running job). The report stays when the job is released or its worker
  // dies (a resumed run reads it back); FinishJob replaces it. FailedPrecondition when
  // `worker` does not hold the job; InvalidArgument for negative counters, done > total
  // or a report that is not a JSON object.
  virtual Status UpdateJobProgress(int64_t id, const std::string& worker, int64_t done,
                                   int64_t total, const std::string& report_json) = 0;
  // Puts a job held by `worker` back to queued (graceful shutdown mid-job); a job with
  // cancel_requested becomes canceled instead. FailedPrecondition when `worker` does not
  // hold it.
  virtual Status ReleaseJob(int64_t id, const std::string& worker) = 0;
  // Cancels: a queued job (or one whose lease expired) becomes canceled at once; a
  // running one gets cancel_requested and its worker stops. Returns the record after the
  // change. FailedPrecondition for a terminal job.
  virtual StatusOr<JobRecord> CancelJob(int64_t id) = 0;
  // Puts a failed job back to queued to run again (after the disk was full, say): its
  // note and report are cleared, what it recorded is kept (a handler resumes where it
  // stopped). Returns the record after the change. FailedPrecondition unless the job
  // is failed; NotFound for an unknown id.
  virtual StatusOr<JobRecord> RetryJob(int64_t id) = 0;
};

}  // namespace infera
