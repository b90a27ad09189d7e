#include "batching/batch_policy.h"

#include <algorithm>
#include <numeric>

namespace infera {

BatchDecision DecideBatch(std::span<const PendingRequest> queue, BatchClock::time_point now,
                          const BatchPolicyConfig& config) {
  BatchDecision decision;
  std::vector<size_t> live;
  live.reserve(queue.size());
  std::optional<BatchClock::time_point> next_deadline;
  for (size_t i = 0; i < queue.size(); ++i) {
    const auto& deadline = queue[i].deadline;
    if (deadline && *deadline <= now) {
      decision.expired.push_back(i);
      continue;
    }
    live.push_back(i);
    if (deadline && (!next_deadline || *deadline < *next_deadline)) next_deadline = deadline;
  }
  if (live.empty()) return decision;

  // Priority order; stable so that arrival order breaks ties.
  std::stable_sort(live.begin(), live.end(),
                   [&](size_t a, size_t b) { return queue[a].priority < queue[b].priority; });

  const PendingRequest& head = queue[live.front()];
  int64_t rows = 0;
  BatchClock::time_point oldest = head.enqueued;
  for (size_t i : live) {
    const PendingRequest& r = queue[i];
    if (r.shape_key != head.shape_key) continue;
    if (rows > 0 && rows + r.rows > config.max_batch_size) continue;
    decision.batch.push_back(i);
    rows += r.rows;
    oldest = std::min(oldest, r.enqueued);
    if (rows >= config.max_batch_size) break;
  }

  const BatchClock::time_point cut_at = oldest + config.max_queue_delay;
  if (rows >= config.max_batch_size || now >= cut_at) return decision;

  decision.batch.clear();
  decision.wake_at = next_deadline ? std::min(cut_at, *next_deadline) : cut_at;
  return decision;
}

}  // namespace infera
