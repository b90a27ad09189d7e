// Route families, one file each; Server::Create adds them all (api/server.cc).
#pragma once

#include "api/api_context.h"
#include "api/router.h"

namespace infera {

// GET /health -> {"status":"ok"}.
void AddHealthRoutes(Router& router, const ApiContext& ctx);
// POST /predict/{model} (the seed's image endpoint), also /predict/{model}/versions/{v}.
void AddPredictRoutes(Router& router, const ApiContext& ctx);
// GET /v1/models, GET /v1/models/{model}: loaded models with config, state and stats.
void AddModelRoutes(Router& router, const ApiContext& ctx);

}  // namespace infera
