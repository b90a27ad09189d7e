// ServerConfig: the file given to `infera serve --config`, parsed and validated.
//
//   server: {host, port, io_threads, postprocess_threads, max_body_mb, max_image_pixels,
//            access_log, web_dir,   # postprocess_threads: image pipeline workers (0: cores)
//            header_timeout_s, body_timeout_s, min_body_rate_kb_s, max_connections}
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
//   jobs: {workers, lease_s, priority, max_in_flight}
//   auth: {enabled, secret_file, access_ttl_s, refresh_ttl_s, protect_inference,
//          trusted_proxies: [ADDRESS or CIDR, ...]}
//                                   # secret_file default: in the database with driver
//                                   # postgres (shared by all nodes); else
//                                   # <storage>/auth_secret (0600,
//                                   # created when missing; never a built-in default)
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
#include <optional>
#include <string>
#include <vector>

#include "common/ip_network.h"
#include "common/status.h"
#include "models/model_config.h"

namespace infera {

// How the set of served models may change at run time (see models/model_manager.h).
enum class ModelControlMode { kNone, kExplicit, kPoll };

struct ServerConfig {
  std::filesystem::path source;
  std::string host = "127.0.0.1";
  int port = 8080;
  int io_threads = 2;
  // Workers of the image pipeline (Postprocess and encoding); 0: one per core.
  int postprocess_threads = 0;
  int64_t max_body_bytes = 64ll << 20;
  int64_t max_image_pixels = 100'000'000;
  bool access_log = true;  // one log line per HTTP request
  // Slow clients and connections (api/http_server.h HttpServerOptions): the header
  // deadline, the body's total deadline and minimum average rate (KiB/s, 0: none), and
  // the cap on open connections (0: from the open-file limit).
  int header_timeout_s = 60;
  int body_timeout_s = 3600;
  int64_t min_body_rate_kb_s = 16;
  int max_connections = 0;
  // server.web_dir: the web page's folder; empty: the embedded copy.
  std::filesystem::path web_dir;
  // model_control: {mode: none|explicit|poll, poll_s}: explicit allows load/unload at
  // run time; poll rescans the repository every poll_s seconds.
  ModelControlMode model_control = ModelControlMode::kNone;
  double model_control_poll_s = 10.0;
  std::optional<std::filesystem::path> model_repository;
  // storage: which store driver (store/store_registry.h; checked when the stores open)
  // and its folder (default ./data beside the config file).
  std::string storage_driver = "sqlite";
  std::filesystem::path storage_path;
  std::string storage_url;               // storage.url: the PostgreSQL database (driver postgres)
  int64_t max_upload_bytes = 4ll << 30;  // one upload request (multipart or ZIP)
  int64_t max_files_per_upload = 10000;
  // One image of an upload (a multipart file or a ZIP entry), and the bytes all uploads
  // being ingested may hold in memory at once (files read plus decoded pixels).
  int64_t max_file_bytes = 256ll << 20;
  int64_t ingest_memory_bytes = 1024ll << 20;
  // jobs: dataset inference workers.
  int jobs_workers = 1;
  int64_t jobs_lease_ms = 30000;
  int jobs_priority = 10;      // batcher priority of job images (online requests: 0)
  int jobs_max_in_flight = 0;  // images queued per job at once; 0: 2 x max_batch_size
  // auth: users and tokens for /api (auth/auth_service.h); on unless disabled.
  bool auth_enabled = true;
  std::filesystem::path auth_secret_file;  // empty: <storage>/auth_secret
  int64_t auth_access_ttl_s = 15 * 60;
  int64_t auth_refresh_ttl_s = 30LL * 24 * 3600;
  // /predict, /v1 and /v2 (but /v2 and /v2/health/*) need a token or API key too.
  // Model load/unload (/v2/repository/models/...) always needs an admin when auth is on.
  bool auth_protect_inference = false;
  // Proxies whose X-Forwarded-For names the client (for the per-address login throttle);
  // empty: the header is ignored (api/client_address.h).
  std::vector<IpNetwork> auth_trusted_proxies;
  std::vector<ModelConfig> models;  // list-form and repository models, config order
};

StatusOr<ServerConfig> LoadServerConfig(const std::filesystem::path& file);

// Every model folder (a directory with a model.yaml) of a repository, sorted by name.
StatusOr<std::vector<ModelConfig>> ScanModelRepository(const std::filesystem::path& dir);

}  // namespace infera
