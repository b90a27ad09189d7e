#include "server/server.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <utility>
#include <vector>

#include "api/routes/api_common.h"
#include "api/routes/routes.h"
#include "api/spool_files.h"
#include "auth/secret_file.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/private_files.h"
#include "common/strings.h"
#include "dicomweb/dicomweb_routes.h"
#include "dicomweb/import_job_handler.h"
#include "models/model.h"
#include "store/blob_lifetime.h"
#include "store/store_registry.h"

namespace infera {

namespace {

// The key of DICOMweb credentials: shared by the nodes of a shared database, else
// <storage>/dicomweb_secret (0600, created when missing).
StatusOr<std::unique_ptr<CredentialSealer>> OpenCredentialSealer(const StorageOptions& storage) {
  ASSIGN_OR_RETURN(std::optional<std::string> shared,
                   LoadOrCreateSharedSecret(storage, "dicomweb_credentials", NewAuthSecret));
  if (shared) return std::make_unique<CredentialSealer>(*shared);
  ASSIGN_OR_RETURN(std::string secret, LoadOrCreateSecret(storage.path / "dicomweb_secret"));
  return std::make_unique<CredentialSealer>(secret);
}

// What one imported instance may cost: the uploads' file size and pixel limits (no
// memory budget: each import job holds one instance at a time).
IngestLimits DicomwebIngestLimits(const ServerConfig& config) {
  IngestLimits limits;
  limits.decode.max_pixels = config.front_end.max_image_pixels;
  limits.max_file_bytes = static_cast<uint64_t>(config.uploads.max_file_bytes);
  return limits;
}

}  // namespace

StatusOr<std::unique_ptr<Server>> Server::Create(const ServerConfig& config) {
  std::unique_ptr<Server> server(new Server());
  const std::filesystem::path storage = config.storage.path;
  // Private by default (0700 folders, 0600 files): uploads, password and token hashes.
  // What a killed server left in <storage>/tmp is removed (api/spool_files.h).
  ASSIGN_OR_RETURN(server->spool_lock_, OpenSpoolDir(storage / "tmp"));
  // Records, users and blobs through the store registry (storage.driver).
  ASSIGN_OR_RETURN(server->store_, OpenRecordStore(config.storage));
  ASSIGN_OR_RETURN(server->blobs_, OpenBlobStore(config.storage));
  if (auto a = OpenAnnotationStore(config.storage); a.ok() || !absl::IsUnimplemented(a.status())) {
    ASSIGN_OR_RETURN(server->annotations_, std::move(a));  // else: routes answer 501
  }
  // What a crash left behind: blobs whose record never came (their pins have expired),
  // and blobs on disk no record knows.
  if (StatusOr<std::vector<std::string>> swept =
          SweepAllUnusedBlobs(*server->store_, *server->blobs_);
      !swept.ok()) {
    Log(LogLevel::kWarning, "blob_sweep_failed",
        {{"error", std::string(ToStd(swept.status().message()))}});
  }
  if (config.auth.enabled) RETURN_IF_ERROR(server->OpenAuth(config));
  if (!config.tracing.endpoint.empty()) {
    ASSIGN_OR_RETURN(server->tracer_, Tracer::Create(config.tracing, &server->metrics_));
    server->router_.SetTracer(server->tracer_.get());
  }
  server->blocking_ = std::make_unique<TaskPool>(4, "api");
  server->pipeline_ = std::make_unique<ImagePipeline>(config.pipeline);
  ModelSources sources = config.model_sources;
  if (sources.batch_timing_cache.empty()) sources.batch_timing_cache = storage / "batch_timings";
  server->manager_ = std::make_unique<ModelManager>(sources, &server->models_, &server->metrics_);
  RETURN_IF_ERROR(server->manager_->LoadAll());
  if (sources.control == ModelControlMode::kPoll && sources.repository) {
    server->poller_ = std::make_unique<RepositoryPoller>(
        server->manager_.get(),
        std::chrono::milliseconds(static_cast<int64_t>(sources.poll_s * 1000)));
  }
  server->ctx_.manager = server->manager_.get();
  if (sources.repository) server->model_repository_ = sources.repository->string();
  server->ctx_.models = &server->models_;
  server->ctx_.pipeline = server->pipeline_.get();
  server->tensors_ = std::make_unique<TensorInference>(
      server->pipeline_.get(),
      TensorInference::Options{.max_image_pixels = config.front_end.max_image_pixels});
  server->ctx_.tensors = server->tensors_.get();
  server->ctx_.metrics = &server->metrics_;
  server->ctx_.max_image_pixels = config.front_end.max_image_pixels;
  // The kinds of durable job this server runs: one Register line per kind.
  InferenceJobOptions inference = config.inference_jobs;
  inference.decode.max_pixels = config.front_end.max_image_pixels;
  RETURN_IF_ERROR(server->job_handlers_.Register(
      std::make_unique<InferenceJobHandler>(server->store_.get(), server->blobs_.get(),
                                            &server->models_, server->pipeline_.get(), inference)));
  // DICOMweb imports (dicomweb/import_job_handler.h) on the same workers.
  ASSIGN_OR_RETURN(server->dicomweb_sealer_, OpenCredentialSealer(config.storage));
  RETURN_IF_ERROR(server->job_handlers_.Register(std::make_unique<DicomwebImportJobHandler>(
      server->store_.get(), server->blobs_.get(), server->dicomweb_sealer_.get(),
      DicomwebImportJobOptions{.dicomweb = config.dicomweb,
                               .ingest = DicomwebIngestLimits(config),
                               .tmp_dir = storage / "tmp"})));
  JobWorkerOptions workers = config.job_workers;
  workers.tracer = server->tracer_.get();
  server->workers_ =
      std::make_unique<JobWorkers>(server->store_.get(), &server->job_handlers_, workers);
  // Retraining jobs on their own workers (training.concurrent_jobs).
  RetrainingJobOptions training = config.training;
  training.work_root = storage / "training";
  training.decode.max_pixels = config.front_end.max_image_pixels;
  RETURN_IF_ERROR(server->training_handlers_.Register(std::make_unique<RetrainingJobHandler>(
      server->store_.get(), server->annotations_.get(), server->blobs_.get(),
      server->manager_.get(), training)));
  JobWorkerOptions training_workers = config.job_workers;
  training_workers.workers = training.concurrent_jobs;
  training_workers.name = StrCat(config.job_workers.name, "-training");
  training_workers.tracer = server->tracer_.get();
  server->training_workers_ = std::make_unique<JobWorkers>(
      server->store_.get(), &server->training_handlers_, training_workers);
  server->ctx_.store = server->store_.get();
  ASSIGN_OR_RETURN(server->job_changes_,
                   ListenForJobChanges(config.storage, [w = server->workers_.get(),
                                                        t = server->training_workers_.get()] {
                     w->Notify();
                     t->Notify();
                   }));
  server->ctx_.blobs = server->blobs_.get();
  server->ctx_.annotations = server->annotations_.get();
  server->jobs_ = std::make_unique<InferenceJobs>(server->store_.get(), &server->models_,
                                                  server->workers_.get());
  server->ctx_.jobs = server->jobs_.get();
  server->retraining_ = std::make_unique<RetrainingJobs>(
      server->store_.get(), server->annotations_.get(), server->manager_.get(), &server->models_,
      server->training_workers_.get());
  server->ctx_.retraining = server->retraining_.get();
  server->dicomweb_imports_ =
      std::make_unique<DicomwebImports>(server->store_.get(), server->dicomweb_sealer_.get(),
                                        config.dicomweb, server->workers_.get());
  server->dicomweb_exports_ = std::make_unique<DicomwebExports>(
      server->store_.get(), server->blobs_.get(), config.dicomweb);
  server->ctx_.blocking = server->blocking_.get();
  server->ctx_.uploads = config.uploads;
  server->ingest_budget_ =
      std::make_unique<ByteBudget>(static_cast<uint64_t>(config.uploads.ingest_memory_bytes));
  server->ctx_.ingest_budget = server->ingest_budget_.get();
  server->ctx_.tmp_dir = storage / "tmp";
  server->ctx_.trusted_proxies = config.auth.trusted_proxies;
  // Active learning ranks at the jobs' priority, with their decode limits.
  server->ctx_.rank.priority = inference.priority;
  server->ctx_.rank.decode = inference.decode;
  server->ctx_.auth = server->auth_.get();  // before the routes: they capture the context
  AddHealthRoutes(server->router_, server->ctx_);
  // The protocol routes: model control needs an admin whenever auth is on; the rest a
  // token only with auth.protect_inference (the /api routes guard themselves).
  if (server->auth_) {
    const ApiContext ctx = server->ctx_;
    const bool protect = config.auth.protect_inference;
    server->router_.SetDecorator([ctx, protect](std::string_view, std::string_view pattern,
                                                Handler handler) -> Handler {
      if (pattern.starts_with("/v2/repository/models/")) {
        return Guarded(ctx, Access::kAdmin, std::move(handler));
      }
      const bool open =
          pattern == "/v2" || pattern == "/metrics" || pattern.starts_with("/v2/health/");
      return Guarded(ctx, protect && !open ? Access::kUser : Access::kPublic, std::move(handler));
    });
  }
  AddPredictRoutes(server->router_, server->ctx_);
  AddModelRoutes(server->router_, server->ctx_);
  AddV2HealthRoutes(server->router_, server->ctx_);
  AddV2ModelRoutes(server->router_, server->ctx_);
  AddV2InferRoutes(server->router_, server->ctx_);
  AddMetricsRoutes(server->router_, server->ctx_);
  AddV2RepositoryRoutes(server->router_, server->ctx_);
  AddCvatFunctionRoutes(server->router_, server->ctx_);
  server->router_.SetDecorator(nullptr);
  AddApiDatasetRoutes(server->router_, server->ctx_);
  AddApiFileRoutes(server->router_, server->ctx_);
  AddApiModelRoutes(server->router_, server->ctx_);
  AddApiInferenceRoutes(server->router_, server->ctx_);
  AddApiAnnotationRoutes(server->router_, server->ctx_);
  AddApiRankRoutes(server->router_, server->ctx_);
  AddApiRetrainingRoutes(server->router_, server->ctx_);
  AddApiAuthRoutes(server->router_, server->ctx_);
  AddApiUserRoutes(server->router_, server->ctx_);
  AddDicomwebRoutes(server->router_, server->ctx_, server->dicomweb_imports_.get(),
                    server->dicomweb_exports_.get());
  if (config.front_end.web_dir.empty()) {
    server->site_ = std::make_unique<StaticSite>(StaticSite::Embedded());
  } else {
    StatusOr<StaticSite> site = StaticSite::FromDirectory(config.front_end.web_dir);
    if (!site.ok())
      return absl::Status(site.status().code(), StrCat("server: ", site.status().message()));
    server->site_ = std::make_unique<StaticSite>(std::move(*site));
  }
  AddWebRoutes(server->router_, *server->site_);

  server->InstallObservability(config.front_end.access_log);

  HttpServerOptions options = config.http;
  options.spool_dir = storage / "tmp";
  options.metrics = &server->metrics_;
  ASSIGN_OR_RETURN(server->http_, HttpServer::Create(options, &server->router_));
  if (config.grpc.enabled) {
    GrpcServerOptions grpc = config.grpc;
    grpc.host = config.http.host;
    grpc.max_message_bytes = config.http.max_body_bytes;
    ASSIGN_OR_RETURN(server->grpc_,
                     GrpcServer::Create(grpc, {.models = &server->models_,
                                               .manager = server->manager_.get(),
                                               .tensors = server->tensors_.get(),
                                               .blocking = server->blocking_.get(),
                                               .auth = server->auth_.get(),
                                               .protect_inference = config.auth.protect_inference,
                                               .tracer = server->tracer_.get()}));
  }
  return server;
}

Status Server::OpenAuth(const ServerConfig& config) {
  ASSIGN_OR_RETURN(users_, OpenUserStore(config.storage));
  const std::filesystem::path secret_file = config.auth.secret_file.empty()
                                                ? config.storage.path / "auth_secret"
                                                : config.auth.secret_file;
  // Nodes on one shared database (postgres) share its secret, unless a file is named.
  ASSIGN_OR_RETURN(std::optional<std::string> shared,
                   config.auth.secret_file.empty()
                       ? LoadOrCreateSharedSecret(config.storage, "auth_jwt", NewAuthSecret)
                       : std::optional<std::string>());
  StatusOr<std::string> secret = shared ? *shared : LoadOrCreateSecret(secret_file);
  if (!secret.ok()) {
    return absl::Status(secret.status().code(), StrCat("auth secret ", secret_file.string(), ": ",
                                                       secret.status().message()));
  }
  ASSIGN_OR_RETURN(auth_,
                   AuthService::Create(users_.get(), std::move(*secret), config.auth.tokens));
  std::string password;
  if (const char* env = std::getenv("INFERA_ADMIN_PASSWORD"); env != nullptr) {
    password = env;
  } else if (const char* file = std::getenv("INFERA_ADMIN_PASSWORD_FILE"); file != nullptr) {
    ASSIGN_OR_RETURN(password, ReadFileToString(file));
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
      password.pop_back();
    }
  }
  ASSIGN_OR_RETURN(std::optional<std::string> created, auth_->EnsureAdmin(password));
  if (created) {
    Log(LogLevel::kInfo, "admin_created", {{"username", "admin"}});
    if (password.empty()) {
      // On stderr: stdout's first line is the "listening" line scripts wait for.
      std::fprintf(stderr,
                   "infera: created the first user: admin / %s (shown once; change it with "
                   "`infera users set-password admin --config FILE`)\n",
                   created->c_str());
      std::fflush(stderr);
    }
  }
  return absl::OkStatus();
}

void Server::InstallObservability(bool access_log) {
  CounterFamily& requests = metrics_.AddCounter("infera_http_requests_total",
                                                "HTTP requests by method, route and status code.",
                                                {"method", "route", "code"});
  HistogramFamily& durations = metrics_.AddHistogram("infera_http_request_duration_seconds",
                                                     "HTTP request time, dispatch to response.",
                                                     {"route"}, LatencyBucketsSeconds());
  router_.SetObserver([&requests, &durations, access_log](const RequestRecord& r) {
    const std::string route = r.route.empty() ? "unmatched" : r.route;
    requests.Get({r.method, route, std::to_string(r.status)}).Increment();
    durations.Get({route}).Observe(r.seconds);
    if (access_log) {
      // With tracing, the line names the request's trace and span (the scope's fields
      // are this thread's, which may be another request's: set them explicitly).
      std::optional<ScopedLogFields> trace;
      if (!r.trace_id.empty()) {
        trace.emplace(std::vector<std::pair<std::string, std::string>>{{"trace_id", r.trace_id},
                                                                       {"span_id", r.span_id}});
      }
      Log(LogLevel::kInfo, "http_request",
          {{"request_id", r.request_id},
           {"method", r.method},
           {"path", r.path},
           {"route", r.route},
           {"status", std::to_string(r.status)},
           {"ms", std::to_string(r.seconds * 1000.0)}});
    }
  });
  metrics_.AddGaugeCallback("infera_http_requests_in_flight",
                            "HTTP requests dispatched and not yet answered.", {}, [this] {
                              return std::vector<std::pair<LabelValues, double>>{
                                  {{}, static_cast<double>(router_.in_flight())}};
                            });
  metrics_.AddGaugeCallback(
      "infera_model_pending_requests", "Requests queued for a model, not yet executing.",
      {"model", "version"}, [this] {
        std::vector<std::pair<LabelValues, double>> out;
        for (const auto& m : models_.List()) {
          out.push_back({{m->config().name, std::to_string(m->config().version)},
                         static_cast<double>(m->batcher().queue_size())});
        }
        return out;
      });
  metrics_.AddGaugeCallback(
      "infera_model_memory_bytes",
      "Bytes of model weights held by a loaded version's instances (where the engine "
      "tells; workspaces not included).",
      {"model", "version"}, [this] {
        std::vector<std::pair<LabelValues, double>> out;
        for (const auto& m : models_.List()) {
          const int64_t bytes = m->weight_bytes();
          if (bytes <= 0) continue;
          out.push_back({{m->config().name, std::to_string(m->config().version)},
                         static_cast<double>(bytes)});
        }
        return out;
      });
  metrics_.AddGaugeCallback(
      "infera_model_batch_duration_seconds",
      "Time one batch of batch_size rows took when the version was timed at load "
      "(batching.preferred_batch_sizes: auto); preferred: whether the batcher cuts that size.",
      {"model", "version", "batch_size", "preferred"}, [this] {
        std::vector<std::pair<LabelValues, double>> out;
        for (const auto& m : models_.List()) {
          const BatchSizeChoice& choice = m->batch_sizes();
          for (const BatchSizeTiming& t : choice.timings) {
            if (!t.seconds) continue;
            const bool preferred = std::find(choice.preferred.begin(), choice.preferred.end(),
                                             t.batch_size) != choice.preferred.end();
            out.push_back({{m->config().name, std::to_string(m->config().version),
                            std::to_string(t.batch_size), preferred ? "true" : "false"},
                           *t.seconds});
          }
        }
        return out;
      });
  metrics_.AddGaugeCallback(
      "infera_model_load_duration_seconds", "Time to load and warm up a model version.",
      {"model", "version"}, [this] {
        std::vector<std::pair<LabelValues, double>> out;
        for (const auto& m : models_.List()) {
          out.push_back({{m->config().name, std::to_string(m->config().version)},
                         static_cast<double>(m->load_time().count()) / 1000.0});
        }
        return out;
      });
}

Server::~Server() { Stop(); }

void Server::Start() {
  http_->Start();
  workers_->Start();
  training_workers_->Start();
  if (poller_) poller_->Start();
  Log(LogLevel::kInfo, "server_started",
      {{"port", std::to_string(http_->port())}, {"grpc_port", std::to_string(grpc_port())}});
}

void Server::Stop() {
  if (poller_) poller_->Stop();
  if (http_) http_->Stop();
  if (grpc_) grpc_->Stop();
  job_changes_.reset();  // no Notify after the workers stop
  if (workers_) workers_->Stop();
  if (training_workers_) training_workers_->Stop();
  if (blocking_) blocking_->Shutdown();
  // Models drop here only if nobody else holds them; queued requests run first.
  for (const std::string& name : models_.Names()) models_.Remove(name);
  if (pipeline_) pipeline_->Shutdown();
}

}  // namespace infera
