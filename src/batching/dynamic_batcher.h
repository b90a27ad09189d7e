// DynamicBatcher: the queue in front of one loaded model version, and the instance
// threads that drain it in batches.
//
// Shape (LevelDB's group commit, Triton's dynamic batch scheduler): callers Enqueue
// requests; each of the model's `instances` threads, when idle, asks the batch policy
// (batch_policy.h) what to run, concatenates the chosen requests along dimension 0,
// calls the execute function once, slices the outputs back and completes each request
// with exactly its own rows. While every instance is busy the queue keeps growing, so
// the next batch is larger.
//
// Thread-safety: Enqueue, queue_size and stats are safe from any thread. The execute
// function is called from the instance threads only, `instance` naming which one
// (0..instances-1), never concurrently for the same instance.
// Completion callbacks run on an instance thread and must not block.
// Bounded queue: Enqueue fails with Unavailable when max_queue_size requests wait. A
// group (EnqueueGroup: the items of one caller request, e.g. an image's tiles) is
// admitted or refused whole and counts as one request while any of its items waits.
// Timeouts: a request whose deadline passes while queued completes with Unavailable
// and is never executed.
// Cancellation: a request whose `canceled` flag is set while it is queued completes with
// Cancelled and is never executed (a flag set once its batch was cut changes nothing).
// Shutdown: stops accepting (Unavailable), runs what is queued, joins the threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "batching/batch_policy.h"
#include "common/mutex.h"
#include "common/request_context.h"
#include "common/status.h"
#include "tensor/tensor.h"

namespace infera {

struct InferenceResult {
  std::vector<Tensor> outputs;                // this request's rows of each model output
  std::chrono::microseconds queue_time{0};    // enqueue -> batch cut
  std::chrono::microseconds compute_time{0};  // the batch's execute call
  int64_t batch_size = 0;                     // rows in the batch it ran in
};

using InferenceCallback = std::function<void(StatusOr<InferenceResult>)>;

struct InferenceRequest {
  // One tensor per model input, all with the same size of dimension 0 (the rows).
  std::vector<Tensor> inputs;
  // The front end's request: the batcher reads context.priority (lower runs first),
  // context.deadline and context.canceled (set by the caller, any thread, when it no
  // longer wants the result); the id and span travel with it.
  RequestContext context;
  InferenceCallback done;  // called exactly once when Enqueue returned OK
};

struct BatcherStats {
  uint64_t enqueued = 0;    // requests accepted by Enqueue
  uint64_t success = 0;     // requests completed with outputs
  uint64_t failed = 0;      // requests completed with an error (timeouts included)
  uint64_t timed_out = 0;   // requests expired in the queue
  uint64_t canceled = 0;    // requests dropped from the queue: their caller canceled them
  uint64_t rejected = 0;    // requests refused by Enqueue (queue full, stopped)
  uint64_t executions = 0;  // batches executed
  uint64_t inferences = 0;  // rows executed
  // Sums over the requests that were executed (successfully or not).
  uint64_t queue_ns = 0;          // enqueue -> batch cut
  uint64_t compute_ns = 0;        // the execute call of the request's batch
  uint64_t execute_ns = 0;        // the execute calls themselves (once per batch): engine busy
  int64_t last_inference_ms = 0;  // wall-clock time of the last execution, ms since epoch
};

// BatchEvent: what an observer learns of one executed batch.
struct BatchEvent {
  int64_t rows = 0;
  double compute_seconds = 0;
  std::vector<double> queue_seconds;  // one per request of the batch
  size_t succeeded = 0;               // requests completed with outputs
  size_t failed = 0;                  // requests completed with an error
};

class DynamicBatcher {
 public:
  // Runs one batch on one instance: inputs are the concatenated request inputs;
  // returns the model outputs, each with the batch's rows along dimension 0.
  using ExecuteFn =
      std::function<StatusOr<std::vector<Tensor>>(size_t instance, std::vector<Tensor>& inputs)>;

  struct Options {
    std::string model_name;  // for error messages
    BatchPolicyConfig policy;
    size_t max_queue_size = 256;
    size_t instances = 1;
    // Called first on each instance thread (e.g. to set the engine's thread count).
    std::function<void(size_t instance)> on_thread_start;
    // Observers (optional), called on an instance thread before the batch's callbacks:
    // after each executed batch, and with the number of requests that expired.
    std::function<void(const BatchEvent&)> on_batch;
    std::function<void(size_t expired)> on_expired;
  };

  // Starts the instance threads.
  DynamicBatcher(Options options, ExecuteFn execute);
  ~DynamicBatcher();  // Shutdown()
  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;

  // Queues a request. Errors (the callback is then never called): InvalidArgument when
  // the inputs are empty, disagree on rows, or have more rows than max_batch_size;
  // Unavailable when the queue is full or the batcher is shut down.
  Status Enqueue(InferenceRequest request) EXCLUDES(mu_);
  // Queues `requests` as one group: all or none. Errors as Enqueue's (an invalid member
  // refuses the group; no callback is then called); otherwise each member's callback is
  // called once, as for Enqueue.
  Status EnqueueGroup(std::vector<InferenceRequest> requests) EXCLUDES(mu_);

  // Stops accepting, executes what is queued, joins. Idempotent.
  void Shutdown() EXCLUDES(mu_, join_mu_);

  // Items waiting (a group's items each count here; see above for admission).
  size_t queue_size() const EXCLUDES(mu_);
  BatcherStats stats() const EXCLUDES(mu_);
  // True when called from one of this batcher's instance threads.
  bool IsInstanceThread() const;
  const Options& options() const { return options_; }

 private:
  struct Entry {
    InferenceRequest request;
    PendingRequest pending;
    // The group's items still queued (shared by its entries; read and written under mu_).
    std::shared_ptr<size_t> group_left;
  };

  // Checks a request and makes its entry (rows, shape key, times). Errors: see Enqueue.
  StatusOr<Entry> MakeEntry(InferenceRequest request) const;
  // Accounts for an entry leaving the queue (run, expired or canceled).
  void LeftQueue(const Entry& entry) REQUIRES(mu_);

  void InstanceLoop(size_t instance) EXCLUDES(mu_);
  void RunBatch(size_t instance, std::vector<Entry>& batch) EXCLUDES(mu_);
  // The batch's spans when one of its requests is traced (RequestContext::span): one
  // "batch <model>" span for the execution (its own trace, linked to every request it
  // served; infera.batch.size), and in each traced request's trace a "queue wait"
  // (enqueue to cut) and a "compute" span (linked to the batch's).
  void TraceBatch(size_t instance, const std::vector<Entry>& batch, int64_t rows,
                  BatchClock::time_point cut, BatchClock::time_point start,
                  BatchClock::time_point end, const Status& status) const;

  const Options options_;
  const ExecuteFn execute_;

  mutable Mutex mu_;
  CondVar cv_;
  std::deque<Entry> queue_ GUARDED_BY(mu_);   // arrival order
  size_t queued_groups_ GUARDED_BY(mu_) = 0;  // groups with an entry in queue_
  bool stopping_ GUARDED_BY(mu_) = false;
  BatcherStats stats_ GUARDED_BY(mu_);
  Mutex join_mu_;                                          // serialises Shutdown's joins
  std::vector<std::thread> threads_ GUARDED_BY(join_mu_);  // filled by the constructor
  std::vector<std::thread::id> thread_ids_;                // fixed after construction
};

}  // namespace infera
