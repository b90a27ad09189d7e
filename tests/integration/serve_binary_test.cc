// The real `infera serve` binary: starts on a free port, answers, stops on SIGTERM;
// a bad config stops start-up with a message naming the file and the key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "api/http_client.h"
#include "support/child_process.h"
#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using testing::Child;
using testing::ReadUntil;
using testing::Spawn;
using testing::WaitExit;

TEST(ServeBinaryTest, ServesOnAFreePortAndStopsOnSigterm) {
  const fs::path config = testing::TestModelsDir() / "seed_config.yaml";
  Child c = Spawn(
      {testing::InferaBinary().string(), "serve", "--config", config.string(), "--port", "0"});
  std::string line = ReadUntil(c.out, "\n", std::chrono::seconds(120));
  if (line.find("infera listening on") == std::string::npos) kill(c.pid, SIGKILL);
  ASSERT_THAT(line, HasSubstr("infera listening on http://127.0.0.1:"));
  const uint16_t port = static_cast<uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
  HttpClient client;
  ASSERT_TRUE(client.Connect("127.0.0.1", port).ok());
  StatusOr<HttpResponse> health = client.Send("GET", "/health");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->status, 200);
  StatusOr<HttpResponse> models = client.Send("GET", "/v1/models/mobilenet_v2");
  ASSERT_TRUE(models.ok());
  EXPECT_EQ(models->status, 200);
  EXPECT_THAT(models->body, HasSubstr("\"max_batch_size\":16"));
  kill(c.pid, SIGTERM);
  EXPECT_EQ(WaitExit(c.pid, std::chrono::seconds(30)), 0);
  const std::string log = ReadUntil(c.err, "server_stopping", std::chrono::seconds(5));
  EXPECT_THAT(log, HasSubstr("event=model_loaded model=mobilenet_v2"));
  close(c.out);
  close(c.err);
}

TEST(ServeBinaryTest, BadConfigFailsStartupNamingFileAndKey) {
  testing::TempDir tmp;
  const fs::path config = tmp.path() / "bad.yaml";
  testing::WriteFile(config, "server: {port: 8080, hostname: x}\n");
  Child c = Spawn({testing::InferaBinary().string(), "serve", "--config", config.string()});
  const std::string err = ReadUntil(c.err, "\n", std::chrono::seconds(60));
  EXPECT_EQ(WaitExit(c.pid, std::chrono::seconds(30)), 1);
  EXPECT_THAT(err, HasSubstr(config.string()));
  EXPECT_THAT(err, HasSubstr("server.hostname: unknown key"));
  close(c.out);
  close(c.err);
}

TEST(ServeBinaryTest, CudaDeviceOnACpuOnlyBuildIsAClearStartupError) {
  testing::TempDir tmp;
  testing::CopyModel("tiny_cls", tmp.path() / "repo");
  testing::ReplaceInFile(tmp.path() / "repo" / "tiny_cls" / "model.yaml", "device: cpu",
                         "device: 'cuda:0'");
  testing::WriteFile(tmp.path() / "config.yaml", "model_repository: repo\n");
  Child c = Spawn({testing::InferaBinary().string(), "serve", "--config",
                   (tmp.path() / "config.yaml").string(), "--port", "0"});
  const std::string err = ReadUntil(c.err, "CUDA", std::chrono::seconds(60));
  const int code = WaitExit(c.pid, std::chrono::seconds(30));
  close(c.out);
  close(c.err);
  if (code == -2) GTEST_SKIP() << "this LibTorch has CUDA and a device: the model loaded";
  EXPECT_EQ(code, 1);
  EXPECT_THAT(err, HasSubstr("model 'tiny_cls': device 'cuda:0' requested"));
}

TEST(BenchBinaryTest, MeasuresRawAndServedAndWritesJson) {
  testing::TempDir tmp;
  const fs::path json = tmp.path() / "bench.json";
  Child c = Spawn({testing::InferaBinary().string(), "bench", "--config",
                   (testing::TestModelsDir() / "config.yaml").string(), "--model", "tiny_cls",
                   "--seconds", "0.3", "--concurrency", "1,4", "--batch-sizes", "1,4", "--json",
                   json.string()});
  const std::string out = ReadUntil(c.out, "median paired difference", std::chrono::seconds(120));
  EXPECT_EQ(WaitExit(c.pid, std::chrono::seconds(60)), 0) << out;
  close(c.out);
  close(c.err);
  EXPECT_THAT(out, HasSubstr("best raw batch size"));
  EXPECT_THAT(out, HasSubstr("throughput served/raw"));
  const nlohmann::json report = nlohmann::json::parse(testing::ReadFile(json));
  EXPECT_GT(report["raw"]["1"]["per_second"].get<double>(), 0);
  EXPECT_GT(report["raw"]["4"]["per_second"].get<double>(), 0);
  EXPECT_GT(report["served"]["4"]["per_second"].get<double>(), 0);
  EXPECT_EQ(report["served"]["1"]["errors"], 0);
  EXPECT_EQ(report["served"]["4"]["errors"], 0);
  EXPECT_GT(report["throughput_ratio"].get<double>(), 0);
  // Concurrency 1 again, raw and served samples interleaved: both sides timed, in pairs.
  EXPECT_THAT(out, HasSubstr("interleaved at concurrency 1"));
  const nlohmann::json& interleaved = report["interleaved_concurrency1"];
  ASSERT_TRUE(interleaved.is_object()) << report.dump();
  EXPECT_GE(interleaved["raw"]["count"].get<uint64_t>(), 3u);
  EXPECT_EQ(interleaved["raw"]["count"], interleaved["served"]["count"]);
  EXPECT_GT(interleaved["raw"]["p50_ms"].get<double>(), 0);
  EXPECT_GT(interleaved["served"]["p50_ms"].get<double>(), 0);
  EXPECT_DOUBLE_EQ(
      interleaved["added_p50_ms"].get<double>(),
      interleaved["served"]["p50_ms"].get<double>() - interleaved["raw"]["p50_ms"].get<double>());
  EXPECT_TRUE(interleaved.contains("median_paired_difference_ms"));
}

// `infera bench --grpc`: a short run on tiny_cls adds the protocols' comparison — HTTP
// /v2 and gRPC ModelInfer rows at each concurrency, requests served without errors —
// and exits 0.
TEST(BenchBinaryTest, GrpcAddsProtocolRowsWithRequestsAndNoErrors) {
  testing::TempDir tmp;
  const fs::path json = tmp.path() / "bench.json";
  Child c = Spawn({testing::InferaBinary().string(), "bench", "--config",
                   (testing::TestModelsDir() / "config.yaml").string(), "--model", "tiny_cls",
                   "--seconds", "1", "--concurrency", "1,2", "--batch-sizes", "1", "--grpc",
                   "--json", json.string()});
  const std::string out =
      ReadUntil(c.out, "added p50 latency at concurrency 1: http /v2", std::chrono::seconds(180));
  const std::string err = ReadUntil(c.err, "\n\n", std::chrono::seconds(1));
  EXPECT_EQ(WaitExit(c.pid, std::chrono::seconds(60)), 0) << out << err;
  close(c.out);
  close(c.err);
  EXPECT_THAT(out, HasSubstr("gRPC ModelInfer"));
  const nlohmann::json report = nlohmann::json::parse(testing::ReadFile(json), nullptr, false);
  ASSERT_TRUE(report.is_object()) << testing::ReadFile(json);
  const nlohmann::json& protocols = report["protocols"];
  ASSERT_TRUE(protocols.is_object()) << report.dump();
  for (const char* concurrency : {"1", "2"}) {
    for (const char* protocol : {"grpc", "http_v2"}) {
      const nlohmann::json& row = protocols[protocol][concurrency];
      ASSERT_TRUE(row.is_object()) << protocol << " " << concurrency << ": " << protocols.dump();
      EXPECT_GT(row["count"].get<uint64_t>(), 0u) << protocol << " " << concurrency;
      EXPECT_GT(row["per_second"].get<double>(), 0) << protocol << " " << concurrency;
      EXPECT_EQ(row["errors"].get<uint64_t>(), 0u) << protocol << " " << concurrency;
    }
  }
  EXPECT_GT(protocols["grpc_throughput_ratio"].get<double>(), 0);
  EXPECT_TRUE(protocols.contains("grpc_added_p50_ms_concurrency1"));
}

}  // namespace
}  // namespace infera
