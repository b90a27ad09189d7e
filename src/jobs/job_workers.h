// JobWorkers: the threads that run durable jobs of every kind a JobHandlerRegistry
// holds. Each worker claims the oldest live job of those kinds from the JobQueue with a
// lease (a worker that dies loses its jobs to the others once the lease expires), runs
// the kind's handler with a JobContext (lease renewal, cancel checks) and records the
// outcome: FinishJob, or ReleaseJob when the handler hands the job back (Stop() mid-job).
// A lost job's outcome is dropped (another worker owns it). A claimed job of a kind with
// no handler here cannot happen (claims name the registered kinds).
//
// Idle workers wake on Notify (a job was queued, a cancel stored) or every idle_poll;
// after a failed claim (the store is unavailable) they back off, doubling up to
// max_claim_backoff, and log each failure once per back-off step.
//
// Thread-safety: Start/Stop from one controlling thread; Notify and Cancel from any
// thread. The queue, registry and clock must outlive the workers.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "jobs/job_handler.h"
#include "store/job_queue.h"
#include "tracing/tracer.h"

namespace infera {

struct JobWorkerOptions {
  int workers = 1;
  int64_t lease_ms = 30000;
  int64_t cancel_check_ms = 1000;                      // see JobContext
  std::chrono::milliseconds idle_poll{500};            // how often an idle worker looks for jobs
  std::chrono::milliseconds max_claim_backoff{30000};  // after failed claims
  std::string name = "worker";                         // worker ids are "<name>-<pid>-<i>"
  const Clock* clock = nullptr;                        // null: the system clock
  // Traces each job (tracing/tracer.h): a root "job <kind>" span sampled at the
  // tracer's rate, with "store claim" and "store finish" children and the handler's
  // (JobContext::span). Null: no spans. Must outlive the workers.
  Tracer* tracer = nullptr;
};

class JobWorkers {
 public:
  JobWorkers(JobQueue* queue, const JobHandlerRegistry* handlers, JobWorkerOptions options);
  ~JobWorkers();  // Stop()
  JobWorkers(const JobWorkers&) = delete;
  JobWorkers& operator=(const JobWorkers&) = delete;

  void Start();
  // Stops claiming; handlers see kStop, and jobs in progress go back to the queue (or
  // finish, when they were done). Joins the threads. Idempotent.
  void Stop();
  // Wakes idle workers and makes running jobs read their record on their next Check.
  void Notify();
  // A cancel was stored for job `id`: when a worker here runs it, its halt flag is set
  // now (work it queued elsewhere is dropped; the handler sees kCancel); then Notify().
  void Cancel(int64_t id);

  // The worker id of worker `index` ("<name>-<pid>-<index>").
  std::string WorkerId(int index) const;

 private:
  void Loop(int index);
  // Claims and runs one job; false when there was none (or the claim failed: *failed).
  bool RunOne(const std::string& worker, bool* failed);
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  uint64_t generation() const {
    MutexLock lock(&mu_);
    return generation_;
  }

  JobQueue* const queue_;
  const JobHandlerRegistry* const handlers_;
  const JobWorkerOptions options_;
  const Clock* const clock_;
  const std::vector<std::string> kinds_;

  mutable Mutex mu_;
  CondVar cv_;
  uint64_t generation_ GUARDED_BY(mu_) = 0;  // bumped by Notify
  // The halt flag of each job running here (RunOne registers and removes its own).
  std::map<int64_t, std::shared_ptr<std::atomic<bool>>> running_ GUARDED_BY(mu_);
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

}  // namespace infera
