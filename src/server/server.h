// Server: the whole serving process minus main(): loads every configured model into
// the registry, builds the router with every route family, and runs the HTTP server.
//
// Create/Start/Stop are called from one controlling thread; models() and port() are
// thread-safe. The store (SQLite + blobs under storage.path) is opened before the
// models load; job workers start with Start(). Stop() stops the HTTP server, then the
// job workers (jobs in progress go back to the queue), the blocking pool, and unloads
// the models (each finishes what is queued). With auth.enabled, the user store and the
// token secret are opened too and, on an empty user table, the first admin is created
// (password from INFERA_ADMIN_PASSWORD, the file INFERA_ADMIN_PASSWORD_FILE names, or
// random and printed once on stderr). The web page is served at / (embedded, or from
// server.web_dir).
#pragma once

#include <cstdint>
#include <memory>

#include "api/api_context.h"
#include "api/http_server.h"
#include "api/router.h"
#include "auth/auth_service.h"
#include "common/byte_budget.h"
#include "common/status.h"
#include "common/task_pool.h"
#include "common/temp_sweep.h"
#include "dicomweb/dicomweb_imports.h"
#include "grpc/grpc_server.h"
#include "jobs/inference_job_handler.h"
#include "jobs/inference_jobs.h"
#include "jobs/job_handler.h"
#include "jobs/job_workers.h"
#include "jobs/retraining_jobs.h"
#include "metrics/metrics.h"
#include "models/model_registry.h"
#include "models/repository_poller.h"
#include "server/server_config.h"
#include "serving/image_pipeline.h"
#include "serving/tensor_inference.h"
#include "store/annotation_store.h"
#include "store/blob_store.h"
#include "store/job_changes.h"
#include "store/store.h"
#include "store/user_store.h"
#include "tracing/tracer.h"
#include "web/static_site.h"

namespace infera {

class Server {
 public:
  // Loads the models of `config` (any failure aborts start-up with the model's error)
  // and binds host:port (port 0 picks a free one).
  static StatusOr<std::unique_ptr<Server>> Create(const ServerConfig& config);
  ~Server();

  void Start();
  void Stop();
  uint16_t port() const { return http_->port(); }
  // The gRPC port (server.grpc_port; the chosen one when 0), or 0 when gRPC is off.
  uint16_t grpc_port() const { return grpc_ ? grpc_->port() : 0; }
  ModelRegistry& models() { return models_; }
  // Model control and versions (ModelManager's methods are thread-safe).
  ModelManager& model_manager() { return *manager_; }
  // The routes this server answers (read-only once created).
  const Router& router() const { return router_; }
  // The model repository folder, or "" when the config has none.
  std::string model_repository() const { return model_repository_; }

 private:
  Server() = default;
  // Request counters and durations, in-flight and queue gauges, the access log.
  Status OpenAuth(const ServerConfig& config);
  void InstallObservability(bool access_log);

  // Declared first: destroyed last, after the models that feed it.
  MetricsRegistry metrics_;
  // tracing: (null when off); spans share its queue, so they may outlive it.
  std::unique_ptr<Tracer> tracer_;
  ModelRegistry models_;
  std::unique_ptr<ModelManager> manager_;
  std::unique_ptr<RepositoryPoller> poller_;  // model_control mode poll only
  std::string model_repository_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<UserStore> users_;
  std::unique_ptr<AuthService> auth_;
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<AnnotationStore> annotations_;  // null: the driver has none yet
  TempDirLock spool_lock_;                     // <storage>/tmp is this server's (api/spool_files.h)
  std::unique_ptr<ByteBudget> ingest_budget_;  // memory of uploads being ingested
  std::unique_ptr<TaskPool> blocking_;
  std::unique_ptr<ImagePipeline> pipeline_;   // /predict and the job workers
  std::unique_ptr<TensorInference> tensors_;  // /v2/.../infer
  // Seals the PACS credentials of DICOMweb imports (dicomweb/dicomweb_auth.h); outlives
  // the handlers.
  std::unique_ptr<CredentialSealer> dicomweb_sealer_;
  JobHandlerRegistry job_handlers_;  // outlives workers_
  std::unique_ptr<JobWorkers> workers_;
  // Wakes workers_ when another node changes a job (postgres only; null otherwise).
  std::unique_ptr<JobChangeListener> job_changes_;
  std::unique_ptr<InferenceJobs> jobs_;
  // Retraining (training: section): its own workers, so training never holds an
  // inference worker (jobs/retraining_job_handler.h).
  JobHandlerRegistry training_handlers_;  // outlives training_workers_
  std::unique_ptr<JobWorkers> training_workers_;
  std::unique_ptr<RetrainingJobs> retraining_;
  std::unique_ptr<DicomwebImports> dicomweb_imports_;  // DICOMweb (dicomweb/)
  std::unique_ptr<DicomwebExports> dicomweb_exports_;
  ApiContext ctx_;
  std::unique_ptr<StaticSite> site_;  // the web page; outlives router_'s handlers
  Router router_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<GrpcServer> grpc_;  // server.grpc_port given
};

}  // namespace infera
