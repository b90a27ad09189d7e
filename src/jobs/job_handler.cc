#include "jobs/job_handler.h"

#include <utility>

#include "common/strings.h"

namespace infera {

JobContext::JobContext(JobQueue* queue, const Clock* clock, std::string worker, JobRecord job,
                       Options options, std::function<uint64_t()> woken,
                       std::function<bool()> stopping)
    : queue_(queue),
      clock_(clock),
      worker_(std::move(worker)),
      job_(std::move(job)),
      options_(options),
      woken_(std::move(woken)),
      stopping_(std::move(stopping)) {
  last_renew_ms_ = last_cancel_check_ms_ = clock_->NowMs();
  // A cancel may have come between the claim and now: the first Check reads the record.
  seen_woken_ = ~woken_();
}

JobSignal JobContext::Check() {
  if (lost_) return JobSignal::kLost;
  if (canceled_) return JobSignal::kCancel;
  const int64_t now = clock_->NowMs();
  if (now - last_renew_ms_ >= options_.lease_ms / 3) {
    last_renew_ms_ = now;
    Status renewed = queue_->RenewJobLease(job_.id, worker_, options_.lease_ms);
    if (renewed.code() == absl::StatusCode::kFailedPrecondition) {
      MarkLost();
      return JobSignal::kLost;
    }
  }
  const uint64_t woken = woken_();
  if (woken != seen_woken_ || now - last_cancel_check_ms_ >= options_.cancel_check_ms) {
    seen_woken_ = woken;
    last_cancel_check_ms_ = now;
    StatusOr<JobRecord> current = queue_->GetJob(job_.id);
    if (current.ok() && current->cancel_requested) {
      canceled_ = true;
      halt_->store(true, std::memory_order_release);
      return JobSignal::kCancel;
    }
  }
  if (halt_->load(std::memory_order_acquire)) {
    // The workers were told of a cancel (JobWorkers::Cancel) the record shows on the
    // next read; until then the handler stops queueing work.
    canceled_ = true;
    return JobSignal::kCancel;
  }
  return stopping() ? JobSignal::kStop : JobSignal::kGoOn;
}

void JobContext::MarkLost() {
  lost_ = true;
  halt_->store(true, std::memory_order_release);
}

Status JobHandlerRegistry::Register(std::unique_ptr<JobHandler> handler) {
  const std::string kind(handler->kind());
  if (kind.empty()) return absl::InvalidArgumentError("a job handler needs a kind");
  if (handlers_.contains(kind)) {
    return absl::AlreadyExistsError(StrCat("a handler of job kind '", kind, "' is registered"));
  }
  handlers_.emplace(kind, std::move(handler));
  return absl::OkStatus();
}

JobHandler* JobHandlerRegistry::Find(std::string_view kind) const {
  auto it = handlers_.find(kind);
  return it == handlers_.end() ? nullptr : it->second.get();
}

std::vector<std::string> JobHandlerRegistry::Kinds() const {
  std::vector<std::string> kinds;
  for (const auto& [kind, handler] : handlers_) kinds.push_back(kind);
  return kinds;
}

}  // namespace infera
