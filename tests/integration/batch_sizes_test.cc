// Preferred batch sizes on the real server with real models: `auto` times every batch
// size at load and shows the timings and the choice (/v1, /v2 config, /metrics), a
// reload reads the timing cache instead of timing again, and an explicit list and
// `none` are honoured.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "common/base64.h"
#include "common/mutex.h"
#include "support/server_fixture.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::HasSubstr;
using json = nlohmann::json;

std::string DiskBody() {
  const std::string png = testing::ReadFile(testing::TestModelsDir() / "images" / "disk.png");
  return "{\"image\":\"" + Base64Encode(png.data(), png.size()) + "\"}";
}

class BatchSizesTest : public testing::ServerFixture {
 protected:
  static void SetUpTestSuite() {
    StartSuiteServer({"tiny_cls", "slow_model"}, "model_control: {mode: explicit}\n");
  }
  static void TearDownTestSuite() { StopSuiteServer(); }
  static fs::path Repo() { return fs::path(server()->model_repository()); }
  static fs::path CacheFile(const std::string& model) {
    return server_dir() / "data" / "batch_timings" / model / "1.json";
  }
  json Batching(const std::string& model) {
    HttpResponse r = Get("/v1/models/" + model);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false)["batching"]["preferred_batch_sizes"];
  }
  // Replaces the `batching:` line of the model's model.yaml.
  static void SetBatching(const std::string& model, const std::string& batching) {
    const fs::path yaml = Repo() / model / "model.yaml";
    const std::string text = testing::ReadFile(yaml);
    const size_t at = text.find("batching:");
    ASSERT_NE(at, std::string::npos);
    testing::WriteFile(yaml, text.substr(0, at) + "batching: " + batching + "\n" +
                                 text.substr(text.find('\n', at) + 1));
  }
  void Reload(const std::string& model) {
    HttpResponse r = Post("/v2/repository/models/" + model + "/load", "");
    ASSERT_EQ(r.status, 200) << r.body;
  }
};

TEST_F(BatchSizesTest, AutoTimesEveryBatchSizeAndShowsTheChoice) {
  EXPECT_EQ(Batching("tiny_cls")["budget_ms"], 500);  // the default
  // A budget no tiny model needs, even on a busy machine: every size gets timed.
  SetBatching("tiny_cls", "{max_batch_size: 8, batch_timing_budget_ms: 60000}");
  Reload("tiny_cls");
  const json sizes = Batching("tiny_cls");
  EXPECT_EQ(sizes["mode"], "auto");
  EXPECT_EQ(sizes["source"], "measured");
  EXPECT_EQ(sizes["budget_ms"], 60000);
  EXPECT_GT(sizes["timing_ms"].get<int>(), 0);
  ASSERT_EQ(sizes["timings"].size(), 8u) << sizes;
  std::vector<int64_t> preferred;
  for (size_t i = 0; i < 8; ++i) {
    const json& t = sizes["timings"][i];
    EXPECT_EQ(t["batch_size"], i + 1);
    ASSERT_TRUE(t["ms"].is_number()) << t;  // a tiny model: every size fits the budget
    EXPECT_GT(t["ms"].get<double>(), 0);
    EXPECT_NEAR(t["ms_per_image"].get<double>(), t["ms"].get<double>() / (i + 1), 1e-9);
    EXPECT_GE(t["samples"].get<int>(), 1);
    if (t["preferred"].get<bool>()) preferred.push_back(static_cast<int64_t>(i) + 1);
  }
  EXPECT_EQ(sizes["preferred"].get<std::vector<int64_t>>(), preferred);
  EXPECT_THAT(preferred, Contains(1));
  EXPECT_TRUE(fs::exists(CacheFile("tiny_cls")));

  // The same in the protocol's config view and as a gauge.
  HttpResponse v2 = Get("/v2/models/tiny_cls/config");
  ASSERT_EQ(v2.status, 200);
  EXPECT_EQ(json::parse(v2.body)["batching"]["preferred_batch_sizes"]["preferred"],
            sizes["preferred"]);
  HttpResponse metrics = Get("/metrics");
  EXPECT_THAT(metrics.body,
              HasSubstr("infera_model_batch_duration_seconds{model=\"tiny_cls\",version=\"1\","
                        "batch_size=\"1\",preferred=\"true\"}"));
  EXPECT_THAT(metrics.body, HasSubstr("batch_size=\"8\",preferred=\""));
}

// A reload on the same machine reads the cache: the timings written there (here made up,
// so that only a read can explain them) decide, and nothing is timed.
TEST_F(BatchSizesTest, ReloadReadsTheTimingCache) {
  ASSERT_TRUE(fs::exists(CacheFile("tiny_cls")));
  json file = json::parse(testing::ReadFile(CacheFile("tiny_cls")));
  const std::vector<double> ms = {5, 15, 16, 16, 40, 45, 60, 92};
  ASSERT_EQ(file["timings"].size(), ms.size());
  for (size_t i = 0; i < ms.size(); ++i) file["timings"][i]["seconds"] = ms[i] / 1000.0;
  testing::WriteFile(CacheFile("tiny_cls"), file.dump());

  Reload("tiny_cls");
  const json sizes = Batching("tiny_cls");
  EXPECT_EQ(sizes["source"], "cache");
  EXPECT_EQ(sizes["timing_ms"], 0);
  EXPECT_EQ(sizes["preferred"], json({1, 4}));
  EXPECT_DOUBLE_EQ(sizes["timings"][7]["ms"].get<double>(), 92.0);

  // Another timing budget is another key: timed again, and the file replaced.
  const int64_t budget = json::parse(testing::ReadFile(CacheFile("tiny_cls")))["key"]["budget_ms"];
  SetBatching("tiny_cls",
              "{max_batch_size: 8, batch_timing_budget_ms: " + std::to_string(budget + 1) + "}");
  Reload("tiny_cls");
  EXPECT_EQ(Batching("tiny_cls")["source"], "measured");
  EXPECT_EQ(json::parse(testing::ReadFile(CacheFile("tiny_cls")))["key"]["budget_ms"], budget + 1);
  EXPECT_EQ(Post("/predict/tiny_cls", DiskBody()).status, 200);
}

// slow_model busy-waits 50 ms per batch, so concurrent requests queue up: every batch it
// runs has one of the listed sizes.
TEST_F(BatchSizesTest, ExplicitListIsHonoured) {
  SetBatching("slow_model",
              "{max_batch_size: 8, max_queue_size: 64, preferred_batch_sizes: [1, 3]}");
  Reload("slow_model");
  const json sizes = Batching("slow_model");
  EXPECT_EQ(sizes["mode"], "list");
  EXPECT_EQ(sizes["preferred"], json({1, 3}));
  EXPECT_FALSE(sizes.contains("timings"));

  constexpr int kClients = 7;
  std::set<int> seen;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  Mutex mu;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&] {
      HttpClient client;
      if (!client.Connect("127.0.0.1", server()->port()).ok()) {
        ++failures;
        return;
      }
      for (int k = 0; k < 3; ++k) {
        auto r = client.Send("POST", "/predict/slow_model", DiskBody());
        if (!r.ok() || r->status != 200) {
          ++failures;
          continue;
        }
        const int batch = json::parse(r->body)["batch_size"].get<int>();
        MutexLock lock(&mu);
        seen.insert(batch);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (int b : seen) EXPECT_TRUE(b == 1 || b == 3) << "a batch of " << b;
  EXPECT_TRUE(seen.count(3)) << "7 clients on a 50 ms model never filled a batch of 3";
}

TEST_F(BatchSizesTest, NoneCutsAnySizeAndTimesNothing) {
  SetBatching("slow_model", "{max_batch_size: 8, max_queue_size: 64, preferred_batch_sizes: none}");
  Reload("slow_model");
  const json sizes = Batching("slow_model");
  EXPECT_EQ(sizes["mode"], "none");
  EXPECT_EQ(sizes["preferred"], json::array());
  EXPECT_FALSE(sizes.contains("timings"));
  EXPECT_EQ(Post("/predict/slow_model", DiskBody()).status, 200);
}

}  // namespace
}  // namespace infera
