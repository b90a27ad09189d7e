// GET /metrics on the real server: the series move with real traffic, and the whole
// exposition passes `promtool check metrics` (Debian's prometheus package).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include "common/base64.h"
#include "support/server_fixture.h"

namespace infera {
namespace {

using ::testing::HasSubstr;

class MetricsTest : public testing::ServerFixture {
 protected:
  static void SetUpTestSuite() { StartSuiteServer({"tiny_cls", "slow_model"}); }
  static void TearDownTestSuite() { StopSuiteServer(); }
  static std::string DiskBody() {
    const std::string png = testing::ReadFile(testing::TestModelsDir() / "images" / "disk.png");
    return "{\"image\":\"" + Base64Encode(png.data(), png.size()) + "\"}";
  }
  // The value of the sample line that starts with `series` ("name{labels}"), or -1.
  static double Sample(const std::string& text, const std::string& series) {
    const size_t at = text.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + series.size() + 2));
  }
};

TEST_F(MetricsTest, SeriesFollowTrafficAndPassPromtool) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Post("/predict/tiny_cls", DiskBody()).status, 200);
  ASSERT_EQ(Get("/nope").status, 404);
  // Overload slow_model (max_queue_size 4, ~50 ms a batch of 2) so some are refused.
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&] {
      HttpClient client;
      if (client.Connect("127.0.0.1", server()->port()).ok()) {
        (void)client.Send("POST", "/predict/slow_model", DiskBody());
      }
    });
  }
  for (auto& t : threads) t.join();

  HttpResponse r = Get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_THAT(r.content_type, HasSubstr("text/plain; version=0.0.4"));
  const std::string& m = r.body;
  const std::string tiny = "model=\"tiny_cls\",version=\"1\"";
  EXPECT_EQ(Sample(m, "infera_model_requests_total{" + tiny + ",outcome=\"success\"}"), 3);
  EXPECT_EQ(Sample(m, "infera_model_inferences_total{" + tiny + "}"), 3);
  EXPECT_GE(Sample(m, "infera_model_executions_total{" + tiny + "}"), 1);
  EXPECT_EQ(Sample(m, "infera_model_request_duration_seconds_count{" + tiny + "}"), 3);
  EXPECT_EQ(Sample(m, "infera_model_queue_duration_seconds_count{" + tiny + "}"), 3);
  EXPECT_GT(Sample(m, "infera_model_compute_duration_seconds_sum{" + tiny + "}"), 0);
  EXPECT_EQ(Sample(m, "infera_model_batch_size_bucket{" + tiny + ",le=\"+Inf\"}"),
            Sample(m, "infera_model_executions_total{" + tiny + "}"));
  EXPECT_EQ(Sample(m, "infera_model_pending_requests{" + tiny + "}"), 0);
  EXPECT_GT(Sample(m, "infera_model_load_duration_seconds{" + tiny + "}"), 0);
  // Model memory: the weights of the one instance, at most the size of model.pt (which
  // holds them plus the code).
  const double weights = Sample(m, "infera_model_memory_bytes{" + tiny + "}");
  EXPECT_GT(weights, 1000);
  EXPECT_LE(weights, static_cast<double>(std::filesystem::file_size(
                         testing::TestModelsDir() / "repo" / "tiny_cls" / "1" / "model.pt")));
  const std::string slow = "model=\"slow_model\",version=\"1\"";
  const double ok = Sample(m, "infera_model_requests_total{" + slow + ",outcome=\"success\"}");
  const double rejected =
      Sample(m, "infera_model_requests_total{" + slow + ",outcome=\"rejected\"}");
  EXPECT_GE(ok, 1);
  EXPECT_GE(rejected, 1);
  EXPECT_EQ(ok + rejected, 12);
  EXPECT_EQ(Sample(m,
                   "infera_http_requests_total{method=\"POST\",route=\"/predict/{model}\","
                   "code=\"200\"}"),
            3 + ok);
  EXPECT_EQ(Sample(m,
                   "infera_http_requests_total{method=\"POST\",route=\"/predict/{model}\","
                   "code=\"503\"}"),
            rejected);
  EXPECT_EQ(
      Sample(m, "infera_http_requests_total{method=\"GET\",route=\"unmatched\",code=\"404\"}"), 1);
  EXPECT_EQ(Sample(m, "infera_http_requests_in_flight"), 1);  // this scrape itself

  // The whole exposition is valid for Prometheus.
  testing::TempDir tmp;
  const auto file = tmp.path() / "metrics.txt";
  testing::WriteFile(file, m);
  const std::string cmd = "promtool check metrics < " + file.string() + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr) << "promtool is installed by scripts/install-deps.sh";
  std::string output;
  char buf[512];
  while (fgets(buf, sizeof(buf), pipe)) output += buf;
  const int status = pclose(pipe);
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "");
}

}  // namespace
}  // namespace infera
