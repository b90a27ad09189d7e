// JobHandler: what runs one kind of durable job ("inference", ...). The job workers
// (job_workers.h) claim a job from the JobQueue, find the handler of its kind in a
// JobHandlerRegistry and call Run with a JobContext; the handler does the work and
// returns what to record. A new kind of job is one handler file and one Register line
// where the server is put together.
//
// JobContext is the handler's side of the lease protocol: Check() between units of work
// renews the lease when due and says whether to go on, stop for a cancel, give up a
// lost job, or hand the job back because the workers are stopping. Time is read from the
// workers' Clock, so leases, renewals and cancel checks are tested without sleeping.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "store/job_queue.h"
#include "tracing/span.h"

namespace infera {

enum class JobSignal {
  kGoOn,    // carry on
  kCancel,  // a cancel was requested: stop and finish the job `canceled`
  kLost,    // another worker holds the job now: stop writing (the outcome is ignored)
  kStop,    // the workers are stopping: stop soon and Release the job (it resumes later)
};

// What a handler's Run returns.
struct JobOutcome {
  enum class Action { kFinish, kRelease };
  Action action = Action::kFinish;
  JobStatus status = JobStatus::kCompleted;  // for kFinish: completed, failed or canceled
  std::string note;
  std::string report_json = "{}";

  static JobOutcome Finish(JobStatus status, std::string note, std::string report_json = "{}") {
    return {Action::kFinish, status, std::move(note), std::move(report_json)};
  }
  // Back to the queue (the job resumes on a later claim).
  static JobOutcome Release() { return {Action::kRelease, JobStatus::kQueued, "", "{}"}; }
};

// One claimed job on one worker thread. Check, MarkLost and the accessors are for the
// thread running the job; halt_flag() may be read from any thread, and the workers set
// it from their controlling thread (JobWorkers::Cancel).
class JobContext {
 public:
  struct Options {
    int64_t lease_ms = 30000;        // renewed every lease_ms / 3
    int64_t cancel_check_ms = 1000;  // the job's record is read at least this often
  };
  // `woken` returns a number that changes when the workers are notified (a cancel or a
  // new job); `stopping` whether the workers are stopping. All must outlive the context.
  JobContext(JobQueue* queue, const Clock* clock, std::string worker, JobRecord job,
             Options options, std::function<uint64_t()> woken, std::function<bool()> stopping);

  const JobRecord& job() const { return job_; }
  const std::string& worker() const { return worker_; }
  const Clock& clock() const { return *clock_; }

  // Renews the lease when lease_ms / 3 has passed since the last renewal (a refused
  // renewal: kLost), reads the job's cancel flag when the workers were woken or
  // cancel_check_ms has passed (set: kCancel), then kStop when the workers are stopping.
  // Once kLost or kCancel, always that. Call between units of work, at least every
  // lease_ms / 3.
  JobSignal Check();
  // A write the handler made was refused because the worker no longer holds the job
  // (FailedPrecondition from the store): the job is lost.
  void MarkLost();
  bool lost() const { return lost_; }
  bool canceled() const { return canceled_; }
  bool stopping() const { return stopping_(); }
  // Set when the job is canceled or lost: give it to work queued elsewhere (a
  // RequestContext's cancel flag) so that work is dropped.
  const std::shared_ptr<std::atomic<bool>>& halt_flag() const { return halt_; }
  // The job's trace span (set by the workers when they trace; null otherwise): the
  // handler's per-item spans are its children (StartChildSpan).
  const std::shared_ptr<TraceSpan>& span() const { return span_; }
  void set_span(std::shared_ptr<TraceSpan> span) { span_ = std::move(span); }

 private:
  JobQueue* const queue_;
  const Clock* const clock_;
  const std::string worker_;
  const JobRecord job_;
  const Options options_;
  const std::function<uint64_t()> woken_;
  const std::function<bool()> stopping_;
  std::shared_ptr<std::atomic<bool>> halt_ = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<TraceSpan> span_;
  int64_t last_renew_ms_;
  int64_t last_cancel_check_ms_;
  uint64_t seen_woken_;
  bool lost_ = false;
  bool canceled_ = false;
};

class JobHandler {
 public:
  virtual ~JobHandler() = default;
  // The job kind it runs ("inference").
  virtual std::string_view kind() const = 0;
  // Runs a claimed job until it is done or ctx.Check() says otherwise, and returns what
  // to record: Finish(...) — also for a cancel (status canceled) — or Release() when
  // the workers are stopping with work left. The outcome of a lost job is ignored.
  // Thread-safety: called on worker threads, for several jobs at once.
  virtual JobOutcome Run(JobContext& ctx) = 0;
};

// JobHandlerRegistry: the kinds the workers of this process run. Filled where the
// server (or `infera infer`) is put together, before the workers start; read-only after.
class JobHandlerRegistry {
 public:
  // AlreadyExists for a second handler of the same kind; InvalidArgument for an empty kind.
  Status Register(std::unique_ptr<JobHandler> handler);
  JobHandler* Find(std::string_view kind) const;  // null when none
  std::vector<std::string> Kinds() const;         // sorted

 private:
  std::map<std::string, std::unique_ptr<JobHandler>, std::less<>> handlers_;
};

}  // namespace infera
