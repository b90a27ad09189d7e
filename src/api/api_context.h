// ApiContext: what route handlers share — the model registry, the metrics registry, the
// image pipeline, the store, the job workers, the blocking-work pool and server limits.
// Owned by Server; outlives the HTTP server and so every handler call.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "active_learning/dataset_ranker.h"
#include "common/ip_network.h"
#include "metrics/metrics.h"
#include "models/model_manager.h"
#include "models/model_registry.h"

namespace infera {
class Store;
class BlobStore;
class AnnotationStore;
class TaskPool;
class AuthService;
class ByteBudget;
class ImagePipeline;
class TensorInference;
class InferenceJobs;
class RetrainingJobs;
}  // namespace infera

namespace infera {

// What one upload may hold (config: storage.max_upload_mb, max_files_per_upload,
// max_file_mb, ingest_memory_mb).
struct UploadLimits {
  int64_t max_upload_bytes = 4ll << 30;  // one upload request (multipart or ZIP)
  int64_t max_files_per_upload = 10000;
  int64_t max_file_bytes = 256ll << 20;  // one image of an upload (a file or a ZIP entry)
  // Bytes all uploads being ingested may hold in memory at once (files read plus decoded
  // pixels): the server's ByteBudget (ingest_budget below).
  int64_t ingest_memory_bytes = 1024ll << 20;
};

struct ApiContext {
  ModelRegistry* models = nullptr;
  MetricsRegistry* metrics = nullptr;
  ModelManager* manager = nullptr;
  // The image path of /predict (and the job workers'): post-processing off the batcher.
  ImagePipeline* pipeline = nullptr;
  // The Open Inference Protocol's rules (/v2/.../infer).
  const TensorInference* tensors = nullptr;
  int64_t max_image_pixels = 100'000'000;
  // The /api workflow (null when the server runs without a store).
  Store* store = nullptr;
  BlobStore* blobs = nullptr;
  // Annotation sets (null when the storage driver has none: their routes answer 501).
  AnnotationStore* annotations = nullptr;
  const InferenceJobs* jobs = nullptr;  // the job service over store, models and workers
  // Retraining jobs (jobs/retraining_jobs.h); null: the retraining routes answer 501.
  const RetrainingJobs* retraining = nullptr;
  // Where blocking handlers (store, uploads, downloads) run, off the I/O threads.
  TaskPool* blocking = nullptr;
  UploadLimits uploads;
  // Bytes all uploads being ingested may hold in memory at once (null: unbounded).
  ByteBudget* ingest_budget = nullptr;
  std::filesystem::path tmp_dir;  // scratch space for uploads (inside the storage folder)
  // Authentication (null when auth is off: every /api route is open).
  AuthService* auth = nullptr;
  // Active learning's ranking (POST /api/datasets/{id}/rank): priority, images scored
  // per request, time budget, decode limits.
  RankOptions rank;
  // Proxies whose X-Forwarded-For is believed (api/client_address.h).
  std::vector<IpNetwork> trusted_proxies;
};

}  // namespace infera
