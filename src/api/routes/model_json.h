// JSON views of a loaded model, shared by the /v1 and /v2 route families.
#pragma once

#include <nlohmann/json.hpp>

#include "models/model.h"

namespace infera {

// Everything about a loaded model: config, state, queue size, counters (/v1/models,
// /v2/models/{m}/config).
nlohmann::json DescribeModel(const Model& model);

// Triton's model_stats entry: counts and cumulative nanoseconds (/v2/models/{m}/stats).
// success/fail durations are not tracked (ns 0); queue and compute_infer are sums over
// every executed request.
nlohmann::json StatsJson(const Model& model);

}  // namespace infera
