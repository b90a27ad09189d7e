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

  const std::vector<int64_t>& preferred = config.preferred_batch_sizes;
  const int64_t limit =
      preferred.empty() ? config.max_batch_size : std::min(config.max_batch_size, preferred.back());
  const PendingRequest& head = queue[live.front()];
  int64_t rows = 0;
  BatchClock::time_point oldest = head.enqueued;
  for (size_t i : live) {
    const PendingRequest& r = queue[i];
    if (r.shape_key != head.shape_key) continue;
    if (rows > 0 && rows + r.rows > limit) continue;
    decision.batch.push_back(i);
    rows += r.rows;
    oldest = std::min(oldest, r.enqueued);
    if (rows >= limit) break;
  }

  const BatchClock::time_point cut_at = oldest + config.max_queue_delay;
  if (rows >= limit) return decision;
  if (now >= cut_at) {
    // Rule 5: the largest preferred size the rows reach; the requests beyond it wait.
    auto fit = std::upper_bound(preferred.begin(), preferred.end(), rows);
    if (fit == preferred.begin() || *(fit - 1) == rows) return decision;
    const int64_t target = *(fit - 1);
    std::vector<size_t> kept;
    int64_t kept_rows = 0;
    for (size_t i : decision.batch) {
      if (!kept.empty() && kept_rows + queue[i].rows > target) continue;
      kept.push_back(i);
      kept_rows += queue[i].rows;
      if (kept_rows >= target) break;
    }
    decision.batch = std::move(kept);
    return decision;
  }

  decision.batch.clear();
  decision.wake_at = next_deadline ? std::min(cut_at, *next_deadline) : cut_at;
  return decision;
}

}  // namespace infera
