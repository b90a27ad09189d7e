// Batch policy: the pure rules that decide when a dynamic batcher cuts a batch.
//
// No threads, no clocks of its own: the caller passes the queue and the current time,
// so every rule is unit-tested deterministically (tests/batching/batch_policy_test.cc).
//
// The rules, in order:
//  1. A request whose deadline has passed is expired: it is failed and never executed.
//  2. The head of the queue is the pending request with the best priority (lowest
//     number), oldest first among equals.
//  3. The candidate batch is the head plus later requests (same priority order) whose
//     shape key equals the head's (same dtypes and non-batch dimensions), added while the
//     total of their rows fits max_batch_size. Requests with another shape wait.
//  4. The batch is cut now when it is full (rows == max_batch_size), or when the *oldest*
//     request in it has waited max_queue_delay; otherwise the caller waits until the
//     earlier of that moment and the next deadline, and asks again (more requests may
//     arrive meanwhile: while all instances are busy the pending batch keeps growing).
//  5. With preferred batch sizes (the sizes the engine runs best, see
//     preferred_batch_sizes.h), the largest preferred size is the batch's limit in rule 3
//     and "full" in rule 4, and a batch cut by rule 4 keeps, in the same order, only the
//     requests that fit the largest preferred size its rows reach; the others stay queued
//     for the next batch (6 queued, preferred {1, 4}: 4 now, then 1 and 1). The head is
//     always kept, so a request with more rows than that size still runs. With no
//     preferred size at or below the rows, the batch runs as rule 4 cut it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace infera {

using BatchClock = std::chrono::steady_clock;

struct BatchPolicyConfig {
  int64_t max_batch_size = 8;
  std::chrono::microseconds max_queue_delay{2000};
  // Ascending, each in 1..max_batch_size; empty: any size up to max_batch_size (rule 5).
  std::vector<int64_t> preferred_batch_sizes;
};

// PendingRequest: what the policy needs to know of one queued request.
struct PendingRequest {
  int64_t rows = 1;        // the request's size along the batch dimension
  uint64_t shape_key = 0;  // equal keys can share a batch
  int priority = 0;        // lower runs first
  BatchClock::time_point enqueued;
  std::optional<BatchClock::time_point> deadline;
};

struct BatchDecision {
  // Indices into the queue of requests to fail as timed out, ascending.
  std::vector<size_t> expired;
  // Indices of the requests forming the batch to execute now, in execution order;
  // empty when the batch should wait.
  std::vector<size_t> batch;
  // When `batch` is empty and requests remain: when to decide again.
  std::optional<BatchClock::time_point> wake_at;
};

// Decides for `queue` (in arrival order) at time `now`. A request with more rows than
// max_batch_size forms a batch of its own (callers reject such requests up front).
BatchDecision DecideBatch(std::span<const PendingRequest> queue, BatchClock::time_point now,
                          const BatchPolicyConfig& config);

}  // namespace infera
