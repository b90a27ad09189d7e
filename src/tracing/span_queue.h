// SpanQueue: the bounded queue between the spans that end (on request threads) and the
// exporter thread that sends them. Push never blocks: when the queue is full (the
// exporter is slow or its endpoint is down) or closed, the span is dropped and counted.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "common/mutex.h"
#include "metrics/metrics.h"
#include "tracing/span.h"

namespace infera {

class SpanQueue {
 public:
  // `dropped` (optional, must outlive the queue) counts what Push refuses.
  explicit SpanQueue(size_t capacity, Counter* dropped = nullptr);

  // Queues `span`; false (and counted as dropped) when full or closed.
  bool Push(SpanData span) EXCLUDES(mu_);
  // Waits until `batch` spans are queued, the queue is closed, or `deadline` passes,
  // then moves up to `batch` spans (oldest first) into *out. Returns how many.
  size_t PopBatch(size_t batch, std::chrono::steady_clock::time_point deadline,
                  std::vector<SpanData>* out) EXCLUDES(mu_);
  // Refuses further spans and wakes PopBatch; what is queued can still be popped.
  void Close() EXCLUDES(mu_);

  size_t size() const EXCLUDES(mu_);
  bool closed() const EXCLUDES(mu_);
  uint64_t dropped() const { return dropped_count_.load(std::memory_order_relaxed); }

 private:
  const size_t capacity_;
  Counter* const dropped_;
  std::atomic<uint64_t> dropped_count_{0};
  mutable Mutex mu_;
  CondVar cv_;
  std::deque<SpanData> spans_ GUARDED_BY(mu_);
  bool closed_ GUARDED_BY(mu_) = false;
  size_t waiting_for_ GUARDED_BY(mu_) = 0;  // PopBatch's batch while it waits
};

}  // namespace infera
