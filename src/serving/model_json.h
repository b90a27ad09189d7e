// JSON views of a loaded model, shared by the front ends (HTTP /v1 and /v2, gRPC).
#pragma once

#include <nlohmann/json.hpp>

#include "models/model.h"

namespace infera {

// Everything about a loaded model: config, platform (OipPlatform), state, queue size,
// counters (/v1/models, /v2/models/{m}/config). input: the preprocessing the server
// applies; normalized_by "server" (scale, mean, std applied as shown) or "model" (a uint8
// input: the samples go as they are, scale/mean/std null). batching.preferred_batch_sizes: {mode:
// auto|list|none, preferred: [sizes] (empty: any size), and for auto source: measured|cache|"",
// budget_ms, timing_ms (spent at this load), note (why not or not fully timed),
// timings: [{batch_size, ms, ms_per_image (null: untimed), samples, preferred}]}.
nlohmann::json DescribeModel(const Model& model);

// Triton's model_stats entry: counts and cumulative nanoseconds (/v2/models/{m}/stats).
// success/fail durations are not tracked (ns 0); queue and compute_infer are sums over
// every executed request.
nlohmann::json StatsJson(const Model& model);

}  // namespace infera
