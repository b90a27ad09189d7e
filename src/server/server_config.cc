#include "server/server_config.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>

#include "common/ip_network.h"
#include "common/strings.h"
#include "models/yaml_reader.h"

namespace infera {

namespace fs = std::filesystem;

namespace {

Status ApplyServer(const YamlReader& s, const fs::path& base, ServerConfig* config) {
  RETURN_IF_ERROR(
      s.CheckMapping({"host", "port", "io_threads", "postprocess_threads", "max_body_mb",
                      "max_image_pixels", "access_log", "web_dir", "header_timeout_s",
                      "body_timeout_s", "min_body_rate_kb_s", "max_connections", "grpc_port"}));
  if (s.Has("header_timeout_s")) {
    ASSIGN_OR_RETURN(int64_t t, s.Int("header_timeout_s", 1, 3600));
    config->http.header_timeout_s = static_cast<int>(t);
  }
  if (s.Has("body_timeout_s")) {
    ASSIGN_OR_RETURN(int64_t t, s.Int("body_timeout_s", 1, 7 * 86400));
    config->http.body_timeout_s = static_cast<int>(t);
  }
  if (s.Has("min_body_rate_kb_s")) {
    ASSIGN_OR_RETURN(int64_t kb, s.Int("min_body_rate_kb_s", 0, 1 << 20));
    config->http.min_body_rate_bytes_s = static_cast<uint64_t>(kb) * 1024;
  }
  if (s.Has("max_connections")) {
    ASSIGN_OR_RETURN(int64_t n, s.Int("max_connections", 0, 1 << 22));
    config->http.max_connections = static_cast<int>(n);
  }
  if (s.Has("web_dir")) {
    ASSIGN_OR_RETURN(std::string dir, s.String("web_dir"));
    if (dir.empty()) return s.Error("web_dir", "must not be empty");
    config->front_end.web_dir = base / dir;
  }
  if (s.Has("access_log")) {
    ASSIGN_OR_RETURN(config->front_end.access_log, s.Bool("access_log"));
  }
  if (s.Has("host")) {
    ASSIGN_OR_RETURN(config->http.host, s.String("host"));
  }
  if (s.Has("port")) {
    ASSIGN_OR_RETURN(int64_t port, s.Int("port", 0, 65535));
    config->http.port = static_cast<uint16_t>(port);
  }
  if (s.Has("grpc_port")) {
    ASSIGN_OR_RETURN(int64_t port, s.Int("grpc_port", 0, 65535));
    config->grpc.enabled = true;
    config->grpc.port = static_cast<uint16_t>(port);
  }
  if (s.Has("io_threads")) {
    ASSIGN_OR_RETURN(int64_t n, s.Int("io_threads", 1, 256));
    config->http.io_threads = static_cast<int>(n);
  }
  if (s.Has("postprocess_threads")) {
    ASSIGN_OR_RETURN(int64_t n, s.Int("postprocess_threads", 0, 256));
    config->pipeline.threads = static_cast<int>(n);
  }
  if (s.Has("max_body_mb")) {
    ASSIGN_OR_RETURN(int64_t mb, s.Int("max_body_mb", 1, 16384));
    config->http.max_body_bytes = static_cast<size_t>(mb) << 20;
  }
  if (s.Has("max_image_pixels")) {
    ASSIGN_OR_RETURN(config->front_end.max_image_pixels,
                     s.Int("max_image_pixels", 1, int64_t{1} << 40));
  }
  return absl::OkStatus();
}

Status ApplyStorage(const YamlReader& s, const fs::path& base, ServerConfig* config) {
  RETURN_IF_ERROR(s.CheckMapping({"driver", "path", "url", "max_upload_mb", "max_files_per_upload",
                                  "max_file_mb", "ingest_memory_mb"}));
  if (s.Has("max_file_mb")) {
    ASSIGN_OR_RETURN(int64_t mb, s.Int("max_file_mb", 1, int64_t{1} << 20));
    config->uploads.max_file_bytes = mb << 20;
  }
  if (s.Has("ingest_memory_mb")) {
    ASSIGN_OR_RETURN(int64_t mb, s.Int("ingest_memory_mb", 1, int64_t{1} << 24));
    config->uploads.ingest_memory_bytes = mb << 20;
  }
  if (s.Has("driver")) {
    ASSIGN_OR_RETURN(config->storage.driver, s.String("driver"));
    if (config->storage.driver.empty()) return s.Error("driver", "must not be empty");
  }
  if (s.Has("url")) {
    ASSIGN_OR_RETURN(config->storage.url, s.String("url"));
    if (!config->storage.url.starts_with("postgresql://") &&
        !config->storage.url.starts_with("postgres://")) {
      return s.Error("url", "must be a postgresql://user@host:port/db URL");
    }
    if (!s.Has("driver")) config->storage.driver = "postgres";
    if (config->storage.driver != "postgres") return s.Error("url", "is for driver postgres");
  }
  if (s.Has("path")) {
    ASSIGN_OR_RETURN(std::string path, s.String("path"));
    if (path.empty()) return s.Error("path", "must not be empty");
    config->storage.path = base / path;
  }
  if (s.Has("max_upload_mb")) {
    ASSIGN_OR_RETURN(int64_t mb, s.Int("max_upload_mb", 1, int64_t{1} << 24));
    config->uploads.max_upload_bytes = mb << 20;
  }
  if (s.Has("max_files_per_upload")) {
    ASSIGN_OR_RETURN(config->uploads.max_files_per_upload,
                     s.Int("max_files_per_upload", 1, 1'000'000));
  }
  return absl::OkStatus();
}

Status ApplyJobs(const YamlReader& j, ServerConfig* config) {
  RETURN_IF_ERROR(
      j.CheckMapping({"workers", "lease_s", "priority", "max_in_flight", "idle_poll_ms"}));
  if (j.Has("workers")) {
    ASSIGN_OR_RETURN(int64_t n, j.Int("workers", 0, 64));
    config->job_workers.workers = static_cast<int>(n);
  }
  if (j.Has("lease_s")) {
    ASSIGN_OR_RETURN(int64_t s, j.Int("lease_s", 1, 86400));
    config->job_workers.lease_ms = s * 1000;
  }
  if (j.Has("idle_poll_ms")) {
    ASSIGN_OR_RETURN(int64_t ms, j.Int("idle_poll_ms", 10, 600'000));
    config->job_workers.idle_poll = std::chrono::milliseconds(ms);
  }
  if (j.Has("priority")) {
    ASSIGN_OR_RETURN(int64_t p, j.Int("priority", 0, 1000));
    config->inference_jobs.priority = static_cast<int>(p);
  }
  if (j.Has("max_in_flight")) {
    ASSIGN_OR_RETURN(int64_t n, j.Int("max_in_flight", 0, 4096));
    config->inference_jobs.max_in_flight = static_cast<int>(n);
  }
  return absl::OkStatus();
}

Status ApplyTraining(const YamlReader& t, ServerConfig* config) {
  RETURN_IF_ERROR(t.CheckMapping({"concurrent_jobs", "threads"}));
  if (t.Has("concurrent_jobs")) {
    ASSIGN_OR_RETURN(int64_t n, t.Int("concurrent_jobs", 0, 16));
    config->training.concurrent_jobs = static_cast<int>(n);
  }
  if (t.Has("threads")) {
    ASSIGN_OR_RETURN(int64_t n, t.Int("threads", 1, 256));
    config->training.threads = static_cast<int>(n);
  }
  return absl::OkStatus();
}

Status ApplyDicomweb(const YamlReader& d, ServerConfig* config) {
  RETURN_IF_ERROR(d.CheckMapping({"allowed_hosts", "timeout_s"}));
  if (d.Has("allowed_hosts")) {
    ASSIGN_OR_RETURN(config->dicomweb.allowed_hosts, d.StringList("allowed_hosts"));
    for (const std::string& host : config->dicomweb.allowed_hosts) {
      // A host as a URL names it, without scheme, port or path (an IPv6 address bare).
      if (host.empty() || host.find_first_of("/@[] ") != std::string::npos) {
        return d.Error("allowed_hosts", StrCat("'", host, "' is not a host name or address"));
      }
    }
  }
  if (d.Has("timeout_s")) {
    ASSIGN_OR_RETURN(int64_t t, d.Int("timeout_s", 1, 3600));
    config->dicomweb.timeout = std::chrono::seconds(t);
  }
  return absl::OkStatus();
}

Status ApplyAuth(const YamlReader& a, const fs::path& base, ServerConfig* config) {
  RETURN_IF_ERROR(a.CheckMapping({"enabled", "secret_file", "access_ttl_s", "refresh_ttl_s",
                                  "protect_inference", "trusted_proxies"}));
  if (a.Has("trusted_proxies")) {
    ASSIGN_OR_RETURN(std::vector<std::string> proxies, a.StringList("trusted_proxies"));
    for (const std::string& p : proxies) {
      StatusOr<IpNetwork> network = IpNetwork::Parse(p);
      if (!network.ok()) return a.Error("trusted_proxies", ToStd(network.status().message()));
      config->auth.trusted_proxies.push_back(*network);
    }
  }
  if (a.Has("enabled")) {
    ASSIGN_OR_RETURN(config->auth.enabled, a.Bool("enabled"));
  }
  if (a.Has("secret_file")) {
    ASSIGN_OR_RETURN(std::string path, a.String("secret_file"));
    config->auth.secret_file = base / path;
  }
  if (a.Has("access_ttl_s")) {
    ASSIGN_OR_RETURN(config->auth.tokens.access_ttl_s, a.Int("access_ttl_s", 10, 86400));
  }
  if (a.Has("refresh_ttl_s")) {
    ASSIGN_OR_RETURN(config->auth.tokens.refresh_ttl_s, a.Int("refresh_ttl_s", 60, 365LL * 86400));
  }
  if (a.Has("protect_inference")) {
    ASSIGN_OR_RETURN(config->auth.protect_inference, a.Bool("protect_inference"));
  }
  if (config->auth.tokens.refresh_ttl_s < config->auth.tokens.access_ttl_s) {
    return a.Error("refresh_ttl_s", "must be at least access_ttl_s");
  }
  return absl::OkStatus();
}

StatusOr<ModelConfig> ApplyListModel(const YamlReader& m, const fs::path& base) {
  RETURN_IF_ERROR(m.CheckMapping({"name", "path", "batch_size", "batch_timeout_ms"}));
  if (!m.Has("name")) return m.Error("name", "is required");
  if (!m.Has("path")) return m.Error("path", "is required");
  ASSIGN_OR_RETURN(std::string name, m.String("name"));
  ASSIGN_OR_RETURN(std::string path, m.String("path"));
  if (Status valid = ValidateModelName(name); !valid.ok()) {
    return m.Error("name", ToStd(valid.message()));
  }
  const fs::path artifact = fs::weakly_canonical(base / path);
  std::error_code ec;
  if (!fs::is_regular_file(artifact, ec)) {
    return absl::NotFoundError(
        StrCat(m.file(), ": ", m.KeyPath("path"), ": no such file ", artifact.string()));
  }
  ModelConfig config = DefaultClassifierConfig();
  config.name = name;
  config.source = m.file();
  // NAME/1/model.pt beside NAME/model.yaml: take that model.yaml.
  const fs::path model_dir = artifact.parent_path().parent_path();
  const fs::path yaml = model_dir / "model.yaml";
  if (fs::is_regular_file(yaml, ec)) {
    ASSIGN_OR_RETURN(YAML::Node node, YamlReader::LoadFile(yaml.string()));
    config.name.clear();  // model.yaml may carry a name of its own; the list name wins
    RETURN_IF_ERROR(ApplyModelYaml(node, yaml.string(), model_dir, &config));
    config.name = name;
    config.source = yaml;
  }
  config.artifact = artifact;
  int64_t version = 0;
  const std::string folder = artifact.parent_path().filename().string();
  if (!folder.empty() && std::all_of(folder.begin(), folder.end(), ::isdigit) &&
      folder.size() < 18) {
    version = std::stoll(folder);
  }
  config.version = version > 0 ? version : 1;
  if (m.Has("batch_size")) {
    ASSIGN_OR_RETURN(config.batching.max_batch_size, m.Int("batch_size", 1, 4096));
  }
  if (m.Has("batch_timeout_ms")) {
    ASSIGN_OR_RETURN(config.batching.max_queue_delay_ms, m.Double("batch_timeout_ms"));
    if (config.batching.max_queue_delay_ms < 0 || config.batching.max_queue_delay_ms > 60000) {
      return m.Error("batch_timeout_ms", "must be between 0 and 60000");
    }
  }
  return config;
}

// tracing: {endpoint, rate, service_name} -> TracerOptions (tracing/tracer.h).
Status ApplyTracing(const YamlReader& t, ServerConfig* config) {
  RETURN_IF_ERROR(t.CheckMapping({"endpoint", "rate", "service_name"}));
  if (!t.Has("endpoint")) return t.Error("endpoint", "is required (http://host:4318)");
  ASSIGN_OR_RETURN(config->tracing.endpoint, t.String("endpoint"));
  if (Status s = ParseOtlpEndpoint(config->tracing.endpoint).status(); !s.ok()) {
    return t.Error("endpoint", std::string(ToStd(s.message())));
  }
  if (t.Has("rate")) {
    ASSIGN_OR_RETURN(config->tracing.rate, t.Double("rate"));
    if (!(config->tracing.rate >= 0.0 && config->tracing.rate <= 1.0)) {
      return t.Error("rate", "must be between 0 and 1");
    }
  }
  if (t.Has("service_name")) {
    ASSIGN_OR_RETURN(config->tracing.service_name, t.String("service_name"));
    if (config->tracing.service_name.empty()) return t.Error("service_name", "must not be empty");
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<ServerConfig> LoadServerConfig(const fs::path& file) {
  ServerConfig config;
  config.source = file;
  ASSIGN_OR_RETURN(YAML::Node root, YamlReader::LoadFile(file.string()));
  YamlReader r(root, file.string(), "");
  RETURN_IF_ERROR(
      r.CheckMapping({"server", "models", "model_repository", "model_control", "storage", "blobs",
                      "jobs", "training", "auth", "tracing", "dicomweb"}));
  if (r.Has("model_control")) {
    YamlReader mc = r.Child("model_control");
    RETURN_IF_ERROR(mc.CheckMapping({"mode", "poll_s"}));
    if (mc.Has("mode")) {
      ASSIGN_OR_RETURN(std::string mode, mc.String("mode"));
      if (mode != "none" && mode != "explicit" && mode != "poll") {
        return mc.Error("mode", StrCat("must be none, explicit or poll (got '", mode, "')"));
      }
      config.model_sources.control = mode == "explicit" ? ModelControlMode::kExplicit
                                     : mode == "poll"   ? ModelControlMode::kPoll
                                                        : ModelControlMode::kNone;
    }
    if (mc.Has("poll_s")) {
      ASSIGN_OR_RETURN(config.model_sources.poll_s, mc.Double("poll_s"));
      if (config.model_sources.poll_s < 0.1 || config.model_sources.poll_s > 86400.0) {
        return mc.Error("poll_s", "must be between 0.1 and 86400 seconds");
      }
    }
  }
  const fs::path base = fs::absolute(file).parent_path();
  if (r.Has("server")) RETURN_IF_ERROR(ApplyServer(r.Child("server"), base, &config));
  config.storage.path = base / "data";
  if (r.Has("storage")) RETURN_IF_ERROR(ApplyStorage(r.Child("storage"), base, &config));
  if (r.Has("blobs")) {
    YamlReader b = r.Child("blobs");
    RETURN_IF_ERROR(b.CheckMapping({"path"}));
    ASSIGN_OR_RETURN(std::string path, b.String("path"));
    if (path.empty()) return b.Error("path", "must not be empty");
    config.storage.blobs_path = base / path;
  }
  if (r.Has("jobs")) RETURN_IF_ERROR(ApplyJobs(r.Child("jobs"), &config));
  if (r.Has("training")) RETURN_IF_ERROR(ApplyTraining(r.Child("training"), &config));
  if (r.Has("auth")) RETURN_IF_ERROR(ApplyAuth(r.Child("auth"), base, &config));
  if (r.Has("tracing")) RETURN_IF_ERROR(ApplyTracing(r.Child("tracing"), &config));
  if (r.Has("dicomweb")) RETURN_IF_ERROR(ApplyDicomweb(r.Child("dicomweb"), &config));
  if (r.Has("models")) {
    YamlReader list = r.Child("models");
    if (!list.node().IsSequence()) return list.Error("", "must be a list of models");
    for (size_t i = 0; i < list.node().size(); ++i) {
      ASSIGN_OR_RETURN(ModelConfig model, ApplyListModel(list.Item(i), base));
      config.model_sources.models.push_back(std::move(model));
    }
  }
  if (r.Has("model_repository")) {
    ASSIGN_OR_RETURN(std::string repo, r.String("model_repository"));
    config.model_sources.repository = fs::weakly_canonical(base / repo);
    auto scanned = ScanModelRepository(*config.model_sources.repository);
    if (!scanned.ok()) {
      return absl::Status(
          scanned.status().code(),
          StrCat(file.string(), ": model_repository: ", scanned.status().message()));
    }
    for (ModelConfig& m : *scanned) config.model_sources.models.push_back(std::move(m));
  }
  if (config.model_sources.control == ModelControlMode::kPoll && !config.model_sources.repository) {
    return r.Child("model_control").Error("mode", "poll needs a model_repository to rescan");
  }
  // A name comes from one place (a list entry or a repository folder); a folder's
  // version_policy may give it several versions.
  std::map<std::string, fs::path> sources;
  std::set<std::pair<std::string, int64_t>> versions;
  for (const ModelConfig& m : config.model_sources.models) {
    auto [it, added] = sources.emplace(m.name, m.source);
    if (!versions.emplace(m.name, m.version).second ||
        (!added && (it->second != m.source || it->second == file))) {
      return absl::InvalidArgumentError(
          StrCat(file.string(), ": model '", m.name, "' is defined twice"));
    }
  }
  return config;
}

}  // namespace infera
