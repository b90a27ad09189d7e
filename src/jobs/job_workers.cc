#include "jobs/job_workers.h"

#include <unistd.h>

#include <algorithm>

#include "common/logging.h"
#include "common/strings.h"
#include "tracing/span_log_scope.h"

namespace infera {

JobWorkers::JobWorkers(JobQueue* queue, const JobHandlerRegistry* handlers,
                       JobWorkerOptions options)
    : queue_(queue),
      handlers_(handlers),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : &SystemClock()),
      kinds_(handlers->Kinds()) {}

JobWorkers::~JobWorkers() { Stop(); }

std::string JobWorkers::WorkerId(int index) const {
  return StrCat(options_.name, "-", ::getpid(), "-", index);
}

void JobWorkers::Start() {
  if (!threads_.empty() || stopping() || kinds_.empty()) return;
  for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this, i] { Loop(i); });
}

void JobWorkers::Stop() {
  stopping_.store(true, std::memory_order_release);
  Notify();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void JobWorkers::Cancel(int64_t id) {
  {
    MutexLock lock(&mu_);
    auto it = running_.find(id);
    if (it != running_.end()) it->second->store(true, std::memory_order_release);
  }
  Notify();
}

void JobWorkers::Notify() {
  {
    MutexLock lock(&mu_);
    ++generation_;
  }
  cv_.SignalAll();
}

bool JobWorkers::RunOne(const std::string& worker, bool* failed) {
  *failed = false;
  const int64_t claim_start = options_.tracer != nullptr ? NowUnixNano() : 0;
  StatusOr<std::optional<JobRecord>> claimed = queue_->ClaimJob(worker, options_.lease_ms, kinds_);
  if (!claimed.ok()) {
    *failed = true;
    Log(LogLevel::kError, "job_claim_failed",
        {{"worker", worker}, {"error", std::string(ToStd(claimed.status().message()))}});
    return false;
  }
  if (!claimed->has_value()) return false;
  JobRecord job = std::move(**claimed);
  const int64_t id = job.id;
  const std::string id_text = std::to_string(id);
  // The job's trace: a root span from the claim on (polls that claim nothing leave none).
  std::shared_ptr<TraceSpan> span;
  if (options_.tracer != nullptr) {
    span = options_.tracer->StartRootSpan(StrCat("job ", job.kind), claim_start);
    if (span->recording()) {
      span->SetAttribute("infera.job.id", id);
      span->SetAttribute("infera.job.kind", job.kind);
      span->SetAttribute("infera.job.attempt", static_cast<int64_t>(job.attempts));
      span->SetAttribute("infera.worker", worker);
      std::shared_ptr<TraceSpan> claim = StartChildSpan(span, "store claim", claim_start);
      claim->SetAttribute("db.operation.name", std::string("claim"));
      claim->End();
    }
  }
  SpanLogScope log_scope(span);
  JobHandler* handler = handlers_->Find(job.kind);
  JobContext ctx(
      queue_, clock_, worker, std::move(job),
      JobContext::Options{.lease_ms = options_.lease_ms,
                          .cancel_check_ms = options_.cancel_check_ms},
      [this] { return generation(); }, [this] { return stopping(); });
  ctx.set_span(span);
  {
    MutexLock lock(&mu_);
    running_[id] = ctx.halt_flag();
  }
  Log(LogLevel::kInfo, "job_started",
      {{"job_id", id_text},
       {"kind", ctx.job().kind},
       {"worker", worker},
       {"attempt", std::to_string(ctx.job().attempts)}});
  const int64_t start = clock_->NowMs();
  JobOutcome outcome = handler->Run(ctx);
  {
    MutexLock lock(&mu_);
    running_.erase(id);
  }
  if (ctx.lost()) {
    Log(LogLevel::kWarning, "job_lease_lost", {{"job_id", id_text}, {"worker", worker}});
    if (span != nullptr) span->SetStatus(SpanStatusCode::kError, "lease lost");
    return true;
  }
  std::shared_ptr<TraceSpan> store_call = StartChildSpan(span, "store finish");
  if (outcome.action == JobOutcome::Action::kRelease) {
    if (store_call != nullptr)
      store_call->SetAttribute("db.operation.name", std::string("release"));
    Status released = queue_->ReleaseJob(id, worker);
    EndSpan(store_call.get(), released);
    Log(released.ok() ? LogLevel::kInfo : LogLevel::kWarning, "job_released",
        {{"job_id", id_text},
         {"store", released.ok() ? "ok" : std::string(ToStd(released.message()))}});
    return true;
  }
  if (store_call != nullptr) store_call->SetAttribute("db.operation.name", std::string("finish"));
  Status finished =
      queue_->FinishJob(id, worker, outcome.status, outcome.note, outcome.report_json);
  EndSpan(store_call.get(), finished);
  if (span != nullptr && span->recording()) {
    span->SetAttribute("infera.job.status", std::string(JobStatusName(outcome.status)));
    if (outcome.status == JobStatus::kFailed) span->SetStatus(SpanStatusCode::kError, outcome.note);
  }
  Log(finished.ok() ? LogLevel::kInfo : LogLevel::kWarning, "job_finished",
      {{"job_id", id_text},
       {"kind", ctx.job().kind},
       {"status", std::string(JobStatusName(outcome.status))},
       {"note", outcome.note},
       {"ms", std::to_string(clock_->NowMs() - start)},
       {"store", finished.ok() ? "ok" : std::string(ToStd(finished.message()))}});
  return true;
}

void JobWorkers::Loop(int index) {
  const std::string worker = WorkerId(index);
  std::chrono::milliseconds backoff = options_.idle_poll;
  while (!stopping()) {
    const uint64_t seen = generation();
    bool failed = false;
    if (RunOne(worker, &failed)) {
      backoff = options_.idle_poll;
      continue;
    }
    // Nothing to do, or the store failed: wait for a Notify, the poll, or the back-off.
    std::chrono::milliseconds wait = options_.idle_poll;
    if (failed) {
      wait = backoff;
      backoff = std::min(backoff * 2, std::max(options_.max_claim_backoff, options_.idle_poll));
    } else {
      backoff = options_.idle_poll;
    }
    MutexLock lock(&mu_);
    const auto deadline = std::chrono::steady_clock::now() + wait;
    // After a failure a Notify does not cut the back-off short (a busy server notifies
    // often); stopping does.
    while (!stopping() && (failed || generation_ == seen)) {
      if (cv_.WaitUntil(&mu_, deadline)) break;
    }
  }
}

}  // namespace infera
