#include "server/server_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::TempDir;
using testing::WriteFile;

// A model folder `name` with the given model.yaml and empty artifacts for `versions`.
fs::path MakeModel(const fs::path& repo, const std::string& name, const std::string& yaml,
                   std::vector<int> versions = {1}) {
  const fs::path dir = repo / name;
  WriteFile(dir / "model.yaml", yaml);
  for (int v : versions) WriteFile(dir / std::to_string(v) / "model.pt", "x");
  return dir;
}

TEST(ServerConfigTest, SeedListFormIsAnImageNetClassifier) {
  TempDir tmp;
  WriteFile(tmp.path() / "models" / "m.pt", "x");
  WriteFile(tmp.path() / "config.yaml", R"(
server: {host: 0.0.0.0, port: 3000}
models:
  - {name: mobilenet_v2, path: models/m.pt, batch_size: 16, batch_timeout_ms: 5}
)");
  StatusOr<ServerConfig> c = LoadServerConfig(tmp.path() / "config.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->http.host, "0.0.0.0");
  EXPECT_EQ(c->http.port, 3000);
  ASSERT_EQ(c->model_sources.models.size(), 1u);
  const ModelConfig& m = c->model_sources.models[0];
  EXPECT_EQ(m.name, "mobilenet_v2");
  EXPECT_EQ(m.artifact, fs::weakly_canonical(tmp.path() / "models" / "m.pt"));
  EXPECT_EQ(m.batching.max_batch_size, 16);
  EXPECT_DOUBLE_EQ(m.batching.max_queue_delay_ms, 5);
  EXPECT_EQ(m.runner, "classify");
  EXPECT_EQ(m.input.size, (std::pair<int, int>{224, 224}));
}

TEST(ServerConfigTest, ListFormInsideAModelFolderTakesItsModelYaml) {
  TempDir tmp;
  MakeModel(tmp.path() / "repo", "tiny",
            "input: {size: [64, 64]}\nbatching: {max_batch_size: 2}\n");
  WriteFile(tmp.path() / "config.yaml",
            "models:\n  - {name: t, path: repo/tiny/1/model.pt, batch_size: 3}\n");
  StatusOr<ServerConfig> c = LoadServerConfig(tmp.path() / "config.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->model_sources.models[0].name, "t");
  EXPECT_EQ(c->model_sources.models[0].input.size, (std::pair<int, int>{64, 64}));
  EXPECT_EQ(c->model_sources.models[0].batching.max_batch_size, 3);  // the list overrides
}

TEST(ServerConfigTest, RepositoryModelsAreScannedAndRelativeToTheConfig) {
  TempDir tmp;
  MakeModel(tmp.path() / "repo", "b", "");
  MakeModel(tmp.path() / "repo", "a", "", {1, 2});
  fs::create_directories(tmp.path() / "repo" / "not_a_model");
  WriteFile(tmp.path() / "config.yaml", "model_repository: repo\n");
  StatusOr<ServerConfig> c = LoadServerConfig(tmp.path() / "config.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->model_sources.models.size(), 2u);
  EXPECT_EQ(c->model_sources.models[0].name, "a");
  EXPECT_EQ(c->model_sources.models[0].version, 2);
  EXPECT_EQ(c->model_sources.models[1].name, "b");
}

TEST(ServerConfigTest, StorageNamesItsDriverAndFolder) {
  TempDir tmp;
  WriteFile(tmp.path() / "config.yaml", "storage: {driver: sqlite, path: store}\n");
  StatusOr<ServerConfig> c = LoadServerConfig(tmp.path() / "config.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->storage.driver, "sqlite");
  EXPECT_EQ(c->storage.path, fs::absolute(tmp.path()) / "store");
  WriteFile(tmp.path() / "config.yaml", "model_repository: .\n");
  c = LoadServerConfig(tmp.path() / "config.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->storage.driver, "sqlite");  // the default
  EXPECT_EQ(c->storage.path, fs::absolute(tmp.path()) / "data");
  WriteFile(tmp.path() / "config.yaml", "storage: {driver: ''}\n");
  EXPECT_EQ(LoadServerConfig(tmp.path() / "config.yaml").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ServerConfigTest, ErrorsNameTheFileAndKey) {
  TempDir tmp;
  const fs::path file = tmp.path() / "config.yaml";
  auto expect = [&](const std::string& yaml, absl::StatusCode code, const std::string& text) {
    WriteFile(file, yaml);
    StatusOr<ServerConfig> c = LoadServerConfig(file);
    EXPECT_EQ(c.status().code(), code) << yaml;
    EXPECT_THAT(c.status().message(), AllOf(HasSubstr(file.string()), HasSubstr(text))) << yaml;
  };
  expect("servers: {}\n", absl::StatusCode::kInvalidArgument, "servers: unknown key");
  expect("server: {port: 70000}\n", absl::StatusCode::kInvalidArgument, "server.port");
  expect("server: {port: http}\n", absl::StatusCode::kInvalidArgument, "server.port");
  expect("server: {hots: x}\n", absl::StatusCode::kInvalidArgument, "server.hots");
  expect("models: {name: x}\n", absl::StatusCode::kInvalidArgument, "list of models");
  expect("models:\n  - {path: m.pt}\n", absl::StatusCode::kInvalidArgument,
         "models[0].name: is required");
  expect("models:\n  - {name: m, path: missing.pt}\n", absl::StatusCode::kNotFound,
         "models[0].path: no such file");
  WriteFile(tmp.path() / "m.pt", "x");
  expect("models:\n  - {name: m, path: m.pt, batch_size: -1}\n", absl::StatusCode::kInvalidArgument,
         "models[0].batch_size");
  expect("models:\n  - {name: m, path: m.pt, batchsize: 4}\n", absl::StatusCode::kInvalidArgument,
         "models[0].batchsize: unknown key");
  expect("models:\n  - {name: m, path: m.pt}\n  - {name: m, path: m.pt}\n",
         absl::StatusCode::kInvalidArgument, "'m' is defined twice");
  expect("models:\n  - {name: '../etc', path: m.pt}\n", absl::StatusCode::kInvalidArgument,
         "invalid model name");
  expect("model_control: {mode: watch}\n", absl::StatusCode::kInvalidArgument,
         "model_control.mode: must be none, explicit or poll");
  expect("model_control: {mode: poll}\n", absl::StatusCode::kInvalidArgument,
         "poll needs a model_repository");
  expect("model_control: {mode: poll, poll_s: 0}\n", absl::StatusCode::kInvalidArgument,
         "model_control.poll_s");
  expect("model_control: {mode: explicit, every: 5}\n", absl::StatusCode::kInvalidArgument,
         "model_control.every: unknown key");
  expect("model_repository: nowhere\n", absl::StatusCode::kNotFound, "model_repository");
  expect("server: {web_dir: ''}\n", absl::StatusCode::kInvalidArgument, "server.web_dir");
  expect("server: {postprocess_threads: -1}\n", absl::StatusCode::kInvalidArgument,
         "server.postprocess_threads");
  expect("training: {threads: 0}\n", absl::StatusCode::kInvalidArgument, "training.threads");
  expect("training: {concurrent_jobs: -1}\n", absl::StatusCode::kInvalidArgument,
         "training.concurrent_jobs");
  expect("training: {gpus: 1}\n", absl::StatusCode::kInvalidArgument, "training.gpus: unknown key");
}

TEST(ServerConfigTest, PostprocessThreadsDefaultToOnePerCore) {
  TempDir tmp;
  WriteFile(tmp.path() / "config.yaml", "server: {postprocess_threads: 3}\n");
  StatusOr<ServerConfig> c = LoadServerConfig(tmp.path() / "config.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->pipeline.threads, 3);
  WriteFile(tmp.path() / "config.yaml", "server: {port: 1}\n");
  c = LoadServerConfig(tmp.path() / "config.yaml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->pipeline.threads, 0);  // one per core
}

TEST(ServerConfigTest, WebDirIsRelativeToTheConfig) {
  TempDir tmp;
  WriteFile(tmp.path() / "config.yaml", "server: {web_dir: site}\n");
  StatusOr<ServerConfig> c = LoadServerConfig(tmp.path() / "config.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->front_end.web_dir, fs::absolute(tmp.path()) / "site");
  WriteFile(tmp.path() / "config.yaml", "server: {port: 1}\n");
  c = LoadServerConfig(tmp.path() / "config.yaml");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->front_end.web_dir.empty());  // the embedded page
}

// Each section lands in the option struct of the folder that uses it.
TEST(ServerConfigTest, EachSectionFillsTheOptionsOfItsFolder) {
  TempDir tmp;
  fs::create_directories(tmp.path() / "repo");
  WriteFile(tmp.path() / "config.yaml", R"(
server: {host: 0.0.0.0, port: 9000, io_threads: 3, max_body_mb: 5, header_timeout_s: 7,
         body_timeout_s: 70, min_body_rate_kb_s: 2, max_connections: 40, access_log: false,
         max_image_pixels: 1000, postprocess_threads: 2}
model_repository: repo
model_control: {mode: poll, poll_s: 2.5}
storage: {driver: sqlite, path: st, max_upload_mb: 3, max_files_per_upload: 9, max_file_mb: 2,
          ingest_memory_mb: 8}
jobs: {workers: 4, lease_s: 12, priority: 7, max_in_flight: 6}
training: {concurrent_jobs: 2, threads: 3}
auth: {enabled: true, secret_file: s.key, access_ttl_s: 60, refresh_ttl_s: 120,
       protect_inference: true, trusted_proxies: [10.0.0.0/8]}
)");
  StatusOr<ServerConfig> c = LoadServerConfig(tmp.path() / "config.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->http.host, "0.0.0.0");
  EXPECT_EQ(c->http.port, 9000);
  EXPECT_EQ(c->http.io_threads, 3);
  EXPECT_EQ(c->http.max_body_bytes, size_t{5} << 20);
  EXPECT_EQ(c->http.header_timeout_s, 7);
  EXPECT_EQ(c->http.body_timeout_s, 70);
  EXPECT_EQ(c->http.min_body_rate_bytes_s, 2u * 1024);
  EXPECT_EQ(c->http.max_connections, 40);
  EXPECT_FALSE(c->front_end.access_log);
  EXPECT_EQ(c->front_end.max_image_pixels, 1000);
  EXPECT_EQ(c->pipeline.threads, 2);
  EXPECT_EQ(c->model_sources.repository, fs::weakly_canonical(tmp.path() / "repo"));
  EXPECT_EQ(c->model_sources.control, ModelControlMode::kPoll);
  EXPECT_DOUBLE_EQ(c->model_sources.poll_s, 2.5);
  EXPECT_EQ(c->storage.path, fs::absolute(tmp.path()) / "st");
  EXPECT_EQ(c->uploads.max_upload_bytes, int64_t{3} << 20);
  EXPECT_EQ(c->uploads.max_files_per_upload, 9);
  EXPECT_EQ(c->uploads.max_file_bytes, int64_t{2} << 20);
  EXPECT_EQ(c->uploads.ingest_memory_bytes, int64_t{8} << 20);
  EXPECT_EQ(c->job_workers.workers, 4);
  EXPECT_EQ(c->job_workers.lease_ms, 12000);
  EXPECT_EQ(c->inference_jobs.priority, 7);
  EXPECT_EQ(c->inference_jobs.max_in_flight, 6);
  EXPECT_EQ(c->training.concurrent_jobs, 2);
  EXPECT_EQ(c->training.threads, 3);
  EXPECT_TRUE(c->auth.enabled);
  EXPECT_EQ(c->auth.secret_file, fs::absolute(tmp.path()) / "s.key");
  EXPECT_EQ(c->auth.tokens.access_ttl_s, 60);
  EXPECT_EQ(c->auth.tokens.refresh_ttl_s, 120);
  EXPECT_TRUE(c->auth.protect_inference);
  ASSERT_EQ(c->auth.trusted_proxies.size(), 1u);
}

TEST(ServerConfigTest, AStorageUrlSelectsPostgres) {
  TempDir tmp;
  WriteFile(tmp.path() / "config.yaml", "storage: {url: 'postgresql://infera@db:5432/infera'}\n");
  StatusOr<ServerConfig> c = LoadServerConfig(tmp.path() / "config.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->storage.driver, "postgres");
  EXPECT_EQ(c->storage.url, "postgresql://infera@db:5432/infera");
  for (const char* bad : {"storage: {url: 'mysql://x/y'}\n",
                          "storage: {driver: sqlite, url: 'postgresql://x/y'}\n"}) {
    WriteFile(tmp.path() / "config.yaml", bad);
    Status s = LoadServerConfig(tmp.path() / "config.yaml").status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(std::string(s.message()).find("url"), std::string::npos) << s;
  }
}

TEST(ServerConfigTest, TracingIsOffUnlessConfigured) {
  TempDir tmp;
  const fs::path file = tmp.path() / "config.yaml";
  WriteFile(file, "server: {port: 0}\n");
  StatusOr<ServerConfig> c = LoadServerConfig(file);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->tracing.endpoint, "");
  WriteFile(file, "tracing: {endpoint: 'http://otel:4318', rate: 0.25, service_name: edge}\n");
  c = LoadServerConfig(file);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->tracing.endpoint, "http://otel:4318");
  EXPECT_EQ(c->tracing.rate, 0.25);
  EXPECT_EQ(c->tracing.service_name, "edge");
  WriteFile(file, "tracing: {endpoint: 'http://otel:4318'}\n");
  c = LoadServerConfig(file);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->tracing.rate, 1.0);
  EXPECT_EQ(c->tracing.service_name, "infera");
  for (const auto& [yaml, text] : std::vector<std::pair<std::string, std::string>>{
           {"tracing: {rate: 1}\n", "tracing.endpoint: is required"},
           {"tracing: {endpoint: 'https://otel:4318'}\n", "https is not supported"},
           {"tracing: {endpoint: 'otel:4318'}\n", "tracing.endpoint"},
           {"tracing: {endpoint: 'http://otel:4318', rate: 2}\n", "tracing.rate"},
           {"tracing: {endpoint: 'http://otel:4318', service_name: ''}\n", "tracing.service_name"},
           {"tracing: {endpoint: 'http://otel:4318', sampler: x}\n",
            "tracing.sampler: unknown key"}}) {
    WriteFile(file, yaml);
    c = LoadServerConfig(file);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << yaml;
    EXPECT_THAT(c.status().message(), HasSubstr(text)) << yaml;
  }
}

TEST(ServerConfigTest, MissingFileIsNotFound) {
  EXPECT_EQ(LoadServerConfig("/nonexistent/infera.yaml").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace infera
