// ApiContext: what route handlers share — the model registry, the metrics registry and
// server limits.
// Owned by Server; outlives the HTTP server and so every handler call.
#pragma once

#include <cstdint>

#include "metrics/metrics.h"
#include "models/model_manager.h"
#include "models/model_registry.h"

namespace infera {

struct ApiContext {
  ModelRegistry* models = nullptr;
  MetricsRegistry* metrics = nullptr;
  ModelManager* manager = nullptr;
  int64_t max_image_pixels = 100'000'000;
};

}  // namespace infera
