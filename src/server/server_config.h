// ServerConfig: the file given to `infera serve --config`, parsed and validated into the
// option structs of the folders that use them (each section below names its struct).
//
//   server: {host, port, io_threads, postprocess_threads, max_body_mb, max_image_pixels,
//            access_log, web_dir,   # postprocess_threads: image pipeline workers (0: cores)
//            header_timeout_s, body_timeout_s, min_body_rate_kb_s, max_connections,
//            grpc_port}      # grpc_port: the gRPC API (src/grpc/) on host:grpc_port (0: a
//                            # free port); off when absent; messages up to max_body_mb
//                                   # web_dir: serve the web page from this folder instead
//                                   # of the copy embedded in the binary (for page work)
//   model_repository: DIR          # folders NAME/model.yaml + NAME/<version>/model.pt
//   model_control: {mode: none|explicit|poll, poll_s: 10}
//   storage: {driver: sqlite, path: DIR, url: postgresql://..., max_upload_mb,
//             max_files_per_upload, max_file_mb, ingest_memory_mb}
//                                   # driver: store/store_registry's (sqlite: SQLite at
//                                   # DIR/infera.db, blobs in DIR/blobs; postgres: all in
//                                   # the database at url, the default when url is given;
//                                   # DIR then holds only temp files)
//   blobs: {path: DIR}              # blobs as files in DIR (a folder every node
//                                   # mounts) instead of the storage's default place
//   jobs: {workers, lease_s, priority, max_in_flight, idle_poll_ms}
//                                   # idle_poll_ms: how often idle workers look for jobs
//                                   # (500; on postgres nodes also wake on NOTIFY)
//   training: {concurrent_jobs: 1, threads: 1}
//                                   # retraining jobs (jobs/retraining_job_handler.h):
//                                   # how many this node runs at once, on workers of
//                                   # their own (0: none here), and the intra-op threads
//                                   # of each (the serving lanes are left alone)
//   auth: {enabled, secret_file, access_ttl_s, refresh_ttl_s, protect_inference,
//          trusted_proxies: [ADDRESS or CIDR, ...]}
//                                   # secret_file default: in the database with driver
//                                   # postgres (shared by all nodes); else
//                                   # <storage>/auth_secret (0600,
//                                   # created when missing; never a built-in default)
//   tracing: {endpoint: http://collector:4318, rate: 1.0, service_name: infera}
//                                   # OTLP/HTTP export of W3C-traced spans; off when
//                                   # absent (tracing/tracer.h)
//   dicomweb: {allowed_hosts: [HOST, ...], timeout_s: 15}
//                                   # DICOMweb import/export (dicomweb/): the server
//                                   # fetches from / stores to the URL a user gives;
//                                   # allowed_hosts limits the hosts (SSRF; empty: any)
//   models:                         # the seed's list form
//     - {name, path, batch_size, batch_timeout_ms}
//
// A list-form model whose artifact sits in a version folder of a model folder with a
// model.yaml (`NAME/1/model.pt` beside `NAME/model.yaml`) takes that model.yaml, with
// batch_size / batch_timeout_ms from the list overriding its batching; otherwise it is
// an ImageNet classifier (DefaultClassifierConfig). Names must be unique across both.
// Relative paths resolve against the config file's folder. Errors are InvalidArgument
// (or NotFound for missing files) naming the file, the key and why.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "api/api_context.h"
#include "api/http_server.h"
#include "auth/auth_service.h"
#include "common/ip_network.h"
#include "common/status.h"
#include "dicomweb/dicomweb_options.h"
#include "grpc/grpc_server.h"
#include "jobs/inference_job_handler.h"
#include "jobs/job_workers.h"
#include "jobs/retraining_job_handler.h"
#include "models/model_sources.h"
#include "serving/image_pipeline.h"
#include "store/store_registry.h"
#include "tracing/tracer.h"

namespace infera {

// The server section's keys that are not the HTTP server's own.
struct FrontEndOptions {
  bool access_log = true;  // one log line per HTTP request
  // server.web_dir: the web page's folder; empty: the copy embedded in the binary.
  std::filesystem::path web_dir;
  // Pixels of one decoded image, for every front end and the job workers.
  int64_t max_image_pixels = 100'000'000;
};

// auth: users and tokens for /api (auth/auth_service.h); on unless disabled.
struct AuthSettings {
  bool enabled = true;
  std::filesystem::path secret_file;  // empty: <storage>/auth_secret
  AuthOptions tokens;                 // access_ttl_s, refresh_ttl_s
  // /predict, /v1 and /v2 (but /v2 and /v2/health/*) need a token or API key too.
  // Model load/unload (/v2/repository/models/...) always needs an admin when auth is on.
  bool protect_inference = false;
  // Proxies whose X-Forwarded-For names the client (for the per-address login throttle);
  // empty: the header is ignored (api/client_address.h).
  std::vector<IpNetwork> trusted_proxies;
};

struct ServerConfig {
  std::filesystem::path source;
  // server: host, port, io_threads, max_body_mb, header_timeout_s, body_timeout_s,
  // min_body_rate_kb_s, max_connections (spool_dir and metrics are the server's).
  HttpServerOptions http;
  FrontEndOptions front_end;        // server: access_log, web_dir, max_image_pixels
  GrpcServerOptions grpc;           // server: grpc_port (host, max_body_mb: the server's)
  ImagePipeline::Options pipeline;  // server: postprocess_threads (0: one per core)
  // models, model_repository, model_control (batch_timing_cache: the server's).
  ModelSources model_sources;
  // storage: driver (store/store_registry.h; checked when the stores open), path
  // (default ./data beside the config file).
  StorageOptions storage;
  UploadLimits uploads;          // storage: max_upload_mb, max_files_per_upload, max_file_mb, ...
  JobWorkerOptions job_workers;  // jobs: workers, lease_s, idle_poll_ms
  InferenceJobOptions inference_jobs;  // jobs: priority, max_in_flight
  RetrainingJobOptions training;       // training: concurrent_jobs, threads
  AuthSettings auth;
  TracerOptions tracing;     // tracing: endpoint, rate, service_name (endpoint "": off)
  DicomwebOptions dicomweb;  // dicomweb: allowed_hosts, timeout_s
};

StatusOr<ServerConfig> LoadServerConfig(const std::filesystem::path& file);

}  // namespace infera
