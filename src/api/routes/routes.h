// Route families, one file each; Server::Create adds them all (server/server.cc).
#pragma once

#include "api/api_context.h"
#include "api/router.h"

namespace infera {

class StaticSite;

// GET /health -> {"status":"ok"}.
void AddHealthRoutes(Router& router, const ApiContext& ctx);
// POST /predict/{model} (the seed's image endpoint), also /predict/{model}/versions/{v}.
void AddPredictRoutes(Router& router, const ApiContext& ctx);
// GET /v1/models, GET /v1/models/{model}: loaded models with config, state and stats.
void AddModelRoutes(Router& router, const ApiContext& ctx);

// Open Inference Protocol: GET /v2, /v2/health/live, /v2/health/ready.
void AddV2HealthRoutes(Router& router, const ApiContext& ctx);
// Open Inference Protocol: GET /v2/models/{m}[/versions/{v}][/ready|/config|/stats],
// GET /v2/models/stats.
void AddV2ModelRoutes(Router& router, const ApiContext& ctx);
// Open Inference Protocol: POST /v2/models/{m}[/versions/{v}]/infer (JSON and binary).
void AddV2InferRoutes(Router& router, const ApiContext& ctx);
// Model control: POST /v2/repository/index, /v2/repository/models/{m}/load|unload.
void AddV2RepositoryRoutes(Router& router, const ApiContext& ctx);
// GET /metrics: every series in the Prometheus text format.
void AddMetricsRoutes(Router& router, const ApiContext& ctx);
// The /api workflow (api_*.cc): datasets and uploads, stored files, the models list,
// dataset inference jobs. Need ctx.store, ctx.blobs and ctx.blocking.
void AddApiDatasetRoutes(Router& router, const ApiContext& ctx);
void AddApiFileRoutes(Router& router, const ApiContext& ctx);
void AddApiModelRoutes(Router& router, const ApiContext& ctx);
void AddApiInferenceRoutes(Router& router, const ApiContext& ctx);
// Annotation sets, their masks and revisions, import and export (api_annotations.cc,
// api_annotation_formats.cc). Need ctx.annotations too (else they answer 501).
void AddApiAnnotationRoutes(Router& router, const ApiContext& ctx);
// Active learning: POST /api/datasets/{id}/rank (api_rank.cc; ctx.rank bounds it).
void AddApiRankRoutes(Router& router, const ApiContext& ctx);
// Retraining jobs: start, list, get, cancel, the params schema (api_retraining.cc). Need
// ctx.retraining (else they answer 501).
void AddApiRetrainingRoutes(Router& router, const ApiContext& ctx);
// CVAT serverless functions: GET /cvat/functions[/{model}], POST /cvat/functions/{model}
// (a segmentation model as a CVAT "detector"; cvat_functions.cc).
void AddCvatFunctionRoutes(Router& router, const ApiContext& ctx);
void AddApiAuthRoutes(Router& router, const ApiContext& ctx);
void AddApiUserRoutes(Router& router, const ApiContext& ctx);
// The web page: GET / and GET /<file> for every file of `site` (web.cc). `site` must
// outlive the router.
void AddWebRoutes(Router& router, const StaticSite& site);

}  // namespace infera
