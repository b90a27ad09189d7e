#include "batching/dynamic_batcher.h"

#include <algorithm>

#include "common/strings.h"
#include "tracing/span.h"

namespace infera {

namespace {

// Hash of everything but dimension 0 of every input: equal keys can be concatenated.
uint64_t ShapeKey(const std::vector<Tensor>& inputs) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  auto mix = [&h](uint64_t v) {
    h ^= v;
    h *= 1099511628211ull;
  };
  for (const Tensor& t : inputs) {
    mix(static_cast<uint64_t>(t.dtype()));
    mix(t.shape().size());
    for (size_t d = 1; d < t.shape().size(); ++d) mix(static_cast<uint64_t>(t.shape()[d]));
  }
  return h;
}

std::chrono::microseconds Micros(BatchClock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d);
}

}  // namespace

DynamicBatcher::DynamicBatcher(Options options, ExecuteFn execute)
    : options_(std::move(options)), execute_(std::move(execute)) {
  const size_t n = std::max<size_t>(1, options_.instances);
  threads_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    threads_.emplace_back([this, i] { InstanceLoop(i); });
    thread_ids_.push_back(threads_.back().get_id());
  }
}

DynamicBatcher::~DynamicBatcher() { Shutdown(); }

StatusOr<DynamicBatcher::Entry> DynamicBatcher::MakeEntry(InferenceRequest request) const {
  if (request.inputs.empty()) {
    return absl::InvalidArgumentError(
        StrCat("model '", options_.model_name, "': request has no inputs"));
  }
  int64_t rows = -1;
  for (const Tensor& t : request.inputs) {
    if (t.shape().empty()) {
      return absl::InvalidArgumentError(
          StrCat("model '", options_.model_name, "': input has no batch dimension (scalar)"));
    }
    if (rows >= 0 && t.shape()[0] != rows) {
      return absl::InvalidArgumentError(StrCat("model '", options_.model_name,
                                               "': inputs disagree on the batch size (", rows,
                                               " vs ", t.shape()[0], ")"));
    }
    rows = t.shape()[0];
  }
  if (rows < 1 || rows > options_.policy.max_batch_size) {
    return absl::InvalidArgumentError(StrCat("model '", options_.model_name, "': batch of ", rows,
                                             " rows; this model takes 1 to ",
                                             options_.policy.max_batch_size));
  }
  Entry entry;
  entry.pending.rows = rows;
  entry.pending.shape_key = ShapeKey(request.inputs);
  entry.pending.priority = request.context.priority;
  entry.pending.enqueued = BatchClock::now();
  entry.pending.deadline = request.context.deadline;
  entry.request = std::move(request);
  return entry;
}

Status DynamicBatcher::Enqueue(InferenceRequest request) {
  std::vector<InferenceRequest> one;
  one.push_back(std::move(request));
  return EnqueueGroup(std::move(one));
}

Status DynamicBatcher::EnqueueGroup(std::vector<InferenceRequest> requests) {
  if (requests.empty()) {
    return absl::InvalidArgumentError(
        StrCat("model '", options_.model_name, "': request has no inputs"));
  }
  std::vector<Entry> entries;
  entries.reserve(requests.size());
  auto group_left = std::make_shared<size_t>(requests.size());
  for (InferenceRequest& request : requests) {
    ASSIGN_OR_RETURN(Entry entry, MakeEntry(std::move(request)));
    entry.group_left = group_left;
    entries.push_back(std::move(entry));
  }
  {
    MutexLock lock(&mu_);
    if (stopping_) {
      ++stats_.rejected;
      return absl::UnavailableError(StrCat("model '", options_.model_name, "' is shutting down"));
    }
    if (queued_groups_ >= options_.max_queue_size) {
      ++stats_.rejected;
      return absl::UnavailableError(StrCat("model '", options_.model_name, "': queue is full (",
                                           options_.max_queue_size,
                                           " requests waiting); retry later"));
    }
    ++queued_groups_;
    for (Entry& entry : entries) queue_.push_back(std::move(entry));
    stats_.enqueued += entries.size();
  }
  if (entries.size() == 1) {
    cv_.Signal();
  } else {
    cv_.SignalAll();
  }
  return absl::OkStatus();
}

void DynamicBatcher::LeftQueue(const Entry& entry) {
  if (--*entry.group_left == 0) --queued_groups_;
}

void DynamicBatcher::Shutdown() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  cv_.SignalAll();
  MutexLock join_lock(&join_mu_);
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

size_t DynamicBatcher::queue_size() const {
  MutexLock lock(&mu_);
  return queue_.size();
}

bool DynamicBatcher::IsInstanceThread() const {
  const std::thread::id self = std::this_thread::get_id();
  for (const auto& id : thread_ids_) {
    if (id == self) return true;
  }
  return false;
}

BatcherStats DynamicBatcher::stats() const {
  MutexLock lock(&mu_);
  return stats_;
}

void DynamicBatcher::InstanceLoop(size_t instance) {
  if (options_.on_thread_start) options_.on_thread_start(instance);
  std::vector<PendingRequest> pending;
  std::vector<Entry> batch;
  std::vector<Entry> expired;
  std::vector<Entry> canceled;
  // Held throughout, except while callbacks and batches run (Unlock ... Lock below).
  MutexLock lock(&mu_);
  while (true) {
    if (queue_.empty()) {
      if (stopping_) return;
      cv_.Wait(&mu_);
      continue;
    }
    // Requests their callers gave up on leave without running.
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->request.context.IsCanceled()) {
        LeftQueue(*it);
        canceled.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    if (!canceled.empty()) {
      stats_.canceled += canceled.size();
      mu_.Unlock();
      for (Entry& e : canceled) {
        e.request.done(absl::CancelledError(
            StrCat("model '", options_.model_name, "': the request was canceled while queued")));
      }
      canceled.clear();
      mu_.Lock();
      continue;
    }
    pending.clear();
    for (const Entry& e : queue_) pending.push_back(e.pending);
    BatchPolicyConfig policy = options_.policy;
    if (stopping_) policy.max_queue_delay = std::chrono::microseconds(0);  // drain now
    const BatchDecision decision = DecideBatch(pending, BatchClock::now(), policy);

    // Take the chosen entries out of the queue (highest index first keeps indices valid).
    std::vector<std::pair<size_t, bool>> take;  // (index, is_batch)
    for (size_t i : decision.expired) take.emplace_back(i, false);
    for (size_t i : decision.batch) take.emplace_back(i, true);
    std::vector<std::optional<Entry>> taken(queue_.size());
    for (const auto& [i, is_batch] : take) {
      LeftQueue(queue_[i]);
      taken[i] = std::move(queue_[i]);
    }
    std::sort(take.begin(), take.end(), [](auto& a, auto& b) { return a.first > b.first; });
    for (const auto& [i, is_batch] : take) queue_.erase(queue_.begin() + static_cast<long>(i));
    expired.clear();
    batch.clear();
    for (size_t i : decision.expired) expired.push_back(std::move(*taken[i]));
    for (size_t i : decision.batch) batch.push_back(std::move(*taken[i]));
    stats_.timed_out += expired.size();
    stats_.failed += expired.size();

    if (batch.empty() && expired.empty()) {
      if (decision.wake_at) cv_.WaitUntil(&mu_, *decision.wake_at);
      continue;
    }
    mu_.Unlock();
    if (!expired.empty() && options_.on_expired) options_.on_expired(expired.size());
    for (Entry& e : expired) {
      const auto waited = Micros(BatchClock::now() - e.pending.enqueued);
      e.request.done(absl::UnavailableError(StrCat("model '", options_.model_name,
                                                   "': request timed out after ",
                                                   waited.count() / 1000, " ms in the queue")));
    }
    if (!batch.empty()) RunBatch(instance, batch);
    // Drop the finished entries now, not at the next batch: their callbacks may own the
    // model that owns this batcher (a request's shared_ptr<Model>), which would otherwise
    // stay alive, unloaded but never freed, until another request came.
    batch.clear();
    expired.clear();
    mu_.Lock();
  }
}

void DynamicBatcher::TraceBatch(size_t instance, const std::vector<Entry>& batch, int64_t rows,
                                BatchClock::time_point cut, BatchClock::time_point start,
                                BatchClock::time_point end, const Status& status) const {
  std::vector<const TraceSpan*> served;
  bool traced = false;
  for (const Entry& e : batch) {
    const TraceSpan* span = e.request.context.span.get();
    served.push_back(span);
    traced = traced || (span != nullptr && span->recording());
  }
  if (!traced) return;  // the common untraced case costs this loop only
  // One span for the execution, in a trace of its own, linked to every request it served.
  std::shared_ptr<TraceSpan> execution =
      StartLinkedSpan(served, StrCat("batch ", options_.model_name), UnixNanoFromSteady(start));
  execution->SetAttribute("infera.model.name", options_.model_name);
  execution->SetAttribute("infera.batch.size", rows);
  execution->SetAttribute("infera.batch.requests", static_cast<int64_t>(batch.size()));
  execution->SetAttribute("infera.instance", static_cast<int64_t>(instance));
  // In each traced request's own tree: its wait in the queue, and its share of the
  // execution (linked to the batch's span).
  for (const Entry& e : batch) {
    std::shared_ptr<TraceSpan> wait = StartChildSpan(e.request.context.span, "queue wait",
                                                     UnixNanoFromSteady(e.pending.enqueued));
    if (wait == nullptr) continue;
    wait->SetAttribute("infera.model.name", options_.model_name);
    wait->EndAt(UnixNanoFromSteady(cut));
    std::shared_ptr<TraceSpan> compute =
        StartChildSpan(e.request.context.span, "compute", UnixNanoFromSteady(start));
    compute->SetAttribute("infera.model.name", options_.model_name);
    compute->SetAttribute("infera.batch.size", rows);
    compute->SetAttribute("infera.request.rows", e.pending.rows);
    compute->AddLink(execution->context());
    if (!status.ok()) compute->SetStatus(SpanStatusCode::kError, std::string(status.message()));
    compute->EndAt(UnixNanoFromSteady(end));
  }
  if (!status.ok()) execution->SetStatus(SpanStatusCode::kError, std::string(status.message()));
  execution->EndAt(UnixNanoFromSteady(end));
}

void DynamicBatcher::RunBatch(size_t instance, std::vector<Entry>& batch) {
  const BatchClock::time_point cut = BatchClock::now();
  int64_t rows = 0;
  for (const Entry& e : batch) rows += e.pending.rows;

  StatusOr<std::vector<Tensor>> outputs = std::vector<Tensor>{};
  std::vector<Tensor> inputs;
  if (batch.size() == 1) {
    inputs = std::move(batch[0].request.inputs);
  } else {
    const size_t n_inputs = batch[0].request.inputs.size();
    std::vector<const Tensor*> parts(batch.size());
    for (size_t k = 0; k < n_inputs && outputs.ok(); ++k) {
      for (size_t b = 0; b < batch.size(); ++b) parts[b] = &batch[b].request.inputs[k];
      StatusOr<Tensor> joined = ConcatDim0(parts);
      if (!joined.ok()) {
        outputs = joined.status();
        break;
      }
      inputs.push_back(std::move(*joined));
    }
  }
  const BatchClock::time_point start = BatchClock::now();
  if (outputs.ok()) outputs = execute_(instance, inputs);
  const BatchClock::time_point end = BatchClock::now();
  if (outputs.ok()) {
    for (const Tensor& out : *outputs) {
      if (out.shape().empty() || out.shape()[0] != rows) {
        outputs = absl::InternalError(
            StrCat("model '", options_.model_name, "' returned an output of shape ",
                   ShapeToString(out.shape()), " for a batch of ", rows, " rows"));
        break;
      }
    }
  }

  TraceBatch(instance, batch, rows, cut, start, end, outputs.status());

  // Results first, stats next, callbacks last: a caller woken by its callback sees
  // stats that include its own request.
  std::vector<StatusOr<InferenceResult>> results;
  results.reserve(batch.size());
  uint64_t ok_count = 0;
  int64_t offset = 0;
  for (Entry& e : batch) {
    if (!outputs.ok()) {
      results.emplace_back(outputs.status());
      continue;
    }
    InferenceResult result;
    result.queue_time = Micros(cut - e.pending.enqueued);
    result.compute_time = Micros(end - start);
    result.batch_size = rows;
    Status slice_status;
    if (batch.size() == 1) {
      result.outputs = std::move(*outputs);
    } else {
      for (const Tensor& out : *outputs) {
        StatusOr<Tensor> part = SliceDim0(out, offset, e.pending.rows);
        if (!part.ok()) {
          slice_status = part.status();
          break;
        }
        result.outputs.push_back(std::move(*part));
      }
    }
    offset += e.pending.rows;
    if (!slice_status.ok()) {
      results.emplace_back(slice_status);
      continue;
    }
    ++ok_count;
    results.emplace_back(std::move(result));
  }
  {
    MutexLock lock(&mu_);
    ++stats_.executions;
    stats_.inferences += static_cast<uint64_t>(rows);
    const auto compute_ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count());
    stats_.execute_ns += compute_ns;
    for (const Entry& e : batch) {
      stats_.queue_ns += static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(cut - e.pending.enqueued).count());
      stats_.compute_ns += compute_ns;
    }
    stats_.last_inference_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
    stats_.success += ok_count;
    stats_.failed += batch.size() - ok_count;
  }
  if (options_.on_batch) {
    BatchEvent event;
    event.rows = rows;
    event.compute_seconds = std::chrono::duration<double>(end - start).count();
    for (const Entry& e : batch) {
      event.queue_seconds.push_back(
          std::chrono::duration<double>(cut - e.pending.enqueued).count());
    }
    event.succeeded = ok_count;
    event.failed = batch.size() - ok_count;
    options_.on_batch(event);
  }
  for (size_t i = 0; i < batch.size(); ++i) batch[i].request.done(std::move(results[i]));
}

}  // namespace infera
