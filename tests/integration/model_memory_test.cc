// Unload frees a model: the real `infera serve` binary (its allocator settings included)
// loads and unloads resnet18 (~47 MB of weights) 20 times over HTTP, answering a request
// after each load; its resident memory after the 20th cycle stays within +10% of what it
// was after the first. Skipped under sanitizers (ASan's quarantine holds freed memory).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

#include "api/http_client.h"
#include "common/base64.h"
#include "support/child_process.h"
#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;

// The resident set size of `pid` in bytes (VmRSS of /proc/PID/status), or -1.
int64_t ResidentBytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return -1;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

TEST(ModelMemoryTest, TwentyLoadUnloadCyclesGiveTheMemoryBack) {
  if (kSanitized) GTEST_SKIP() << "resident memory is meaningless under a sanitizer's allocator";
  testing::TempDir tmp;
  testing::CopyModel("resnet18", tmp.path() / "repo");
  testing::ReplaceInFile(tmp.path() / "repo" / "resnet18" / "model.yaml", "warmup: true",
                         "warmup: {batch_sizes: [1]}");
  testing::WriteFile(tmp.path() / "config.yaml",
                     "server: {access_log: false}\nmodel_repository: repo\n"
                     "model_control: {mode: explicit}\nauth: {enabled: false}\n");
  testing::Child c = testing::Spawn({testing::InferaBinary().string(), "serve", "--config",
                                     (tmp.path() / "config.yaml").string(), "--port", "0"});
  const std::string line = testing::ReadUntil(c.out, "\n", std::chrono::seconds(120));
  if (line.find("infera listening on") == std::string::npos) kill(c.pid, SIGKILL);
  ASSERT_THAT(line, ::testing::HasSubstr("infera listening on http://127.0.0.1:"));
  const uint16_t port = static_cast<uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
  HttpClient client;
  ASSERT_TRUE(client.Connect("127.0.0.1", port).ok());
  const std::string png = testing::ReadFile(testing::TestModelsDir() / "images" / "photo.png");
  const std::string predict = "{\"image\":\"" + Base64Encode(png.data(), png.size()) + "\"}";

  int64_t after_first = -1;
  int64_t after_last = -1;
  bool ok = true;
  for (int cycle = 1; cycle <= 20 && ok; ++cycle) {
    StatusOr<HttpResponse> unload = client.Send("POST", "/v2/repository/models/resnet18/unload");
    StatusOr<HttpResponse> load = client.Send("POST", "/v2/repository/models/resnet18/load");
    StatusOr<HttpResponse> answer = client.Send("POST", "/predict/resnet18", predict);
    ok = unload.ok() && unload->status == 200 && load.ok() && load->status == 200 && answer.ok() &&
         answer->status == 200;
    EXPECT_TRUE(ok) << "cycle " << cycle << ": "
                    << (unload.ok() ? unload->body : unload.status().ToString()) << " / "
                    << (load.ok() ? load->body : load.status().ToString()) << " / "
                    << (answer.ok() ? answer->body.substr(0, 200) : answer.status().ToString());
    const int64_t rss = ResidentBytes(c.pid);
    if (cycle == 1) after_first = rss;
    after_last = rss;
  }
  kill(c.pid, SIGTERM);
  EXPECT_EQ(testing::WaitExit(c.pid, std::chrono::seconds(60)), 0);
  close(c.out);
  close(c.err);
  ASSERT_GT(after_first, 0);
  RecordProperty("rss_after_first_mb", std::to_string(after_first >> 20));
  RecordProperty("rss_after_last_mb", std::to_string(after_last >> 20));
  EXPECT_LE(static_cast<double>(after_last), 1.10 * static_cast<double>(after_first))
      << "after the first cycle " << (after_first >> 20) << " MiB, after the 20th "
      << (after_last >> 20) << " MiB";
}

}  // namespace
}  // namespace infera
