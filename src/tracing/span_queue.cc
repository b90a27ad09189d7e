#include "tracing/span_queue.h"

#include <utility>

namespace infera {

SpanQueue::SpanQueue(size_t capacity, Counter* dropped) : capacity_(capacity), dropped_(dropped) {}

bool SpanQueue::Push(SpanData span) {
  bool accepted = false;
  bool wake = false;
  {
    MutexLock lock(&mu_);
    if (!closed_ && spans_.size() < capacity_) {
      spans_.push_back(std::move(span));
      accepted = true;
      // Wake the exporter only when its batch is full (not once per span).
      wake = waiting_for_ > 0 && spans_.size() >= waiting_for_;
    }
  }
  if (!accepted) {
    dropped_count_.fetch_add(1, std::memory_order_relaxed);
    if (dropped_ != nullptr) dropped_->Increment();
    return false;
  }
  if (wake) cv_.Signal();
  return true;
}

size_t SpanQueue::PopBatch(size_t batch, std::chrono::steady_clock::time_point deadline,
                           std::vector<SpanData>* out) {
  MutexLock lock(&mu_);
  waiting_for_ = batch;
  while (!closed_ && spans_.size() < batch && std::chrono::steady_clock::now() < deadline) {
    cv_.WaitUntil(&mu_, deadline);
  }
  waiting_for_ = 0;
  size_t n = 0;
  while (n < batch && !spans_.empty()) {
    out->push_back(std::move(spans_.front()));
    spans_.pop_front();
    ++n;
  }
  return n;
}

void SpanQueue::Close() {
  {
    MutexLock lock(&mu_);
    closed_ = true;
  }
  cv_.SignalAll();
}

bool SpanQueue::closed() const {
  MutexLock lock(&mu_);
  return closed_;
}

size_t SpanQueue::size() const {
  MutexLock lock(&mu_);
  return spans_.size();
}

}  // namespace infera
