// 503 paths with a deliberately slow real model (~50 ms a batch): a full queue answers
// 503 with Retry-After, a request past its timeout answers 503 and is never executed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "api/http_client.h"
#include "common/base64.h"
#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string DiskBody() {
  const std::string png = testing::ReadFile(testing::TestModelsDir() / "images" / "disk.png");
  return "{\"image\":\"" + Base64Encode(png.data(), png.size()) + "\"}";
}

// Sends `clients` simultaneous requests (one connection each) and returns the answers;
// a transport failure is recorded as status 0.
std::vector<HttpResponse> PostConcurrently(uint16_t port, const std::string& target,
                                           const std::string& body, int clients) {
  std::vector<HttpResponse> responses(static_cast<size_t>(clients));
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      HttpClient client;
      if (!client.Connect("127.0.0.1", port).ok()) return;
      auto r = client.Send("POST", target, body);
      if (r.ok()) responses[static_cast<size_t>(i)] = std::move(*r);
    });
  }
  for (auto& t : threads) t.join();
  return responses;
}

// Copies slow_model with its batching replaced.
std::unique_ptr<Server> StartSlow(const testing::TempDir& tmp, const std::string& batching) {
  testing::CopyModel("slow_model", tmp.path() / "repo");
  const fs::path yaml_file = tmp.path() / "repo" / "slow_model" / "model.yaml";
  std::string yaml = testing::ReadFile(yaml_file);
  const size_t at = yaml.find("batching:");
  yaml = yaml.substr(0, at) + "batching: " + batching + yaml.substr(yaml.find('\n', at));
  testing::WriteFile(yaml_file, yaml);
  return testing::StartServer(tmp.path(), "model_repository: repo\n");
}

TEST(OverloadTest, FullQueueAnswers503WithRetryAfter) {
  testing::TempDir tmp;
  auto server = StartSlow(tmp, "{max_batch_size: 1, max_queue_delay_ms: 0, max_queue_size: 2}");
  ASSERT_NE(server, nullptr);
  constexpr int kClients = 12;
  int ok = 0, unavailable = 0, other = 0, with_retry_after = 0;
  for (const HttpResponse& r :
       PostConcurrently(server->port(), "/predict/slow_model", DiskBody(), kClients)) {
    if (r.status == 200) {
      ++ok;
    } else if (r.status == 503) {
      ++unavailable;
      if (r.headers.count("retry-after") && r.body.find("queue is full") != std::string::npos) {
        ++with_retry_after;
      }
    } else {
      ++other;
    }
  }
  // 12 simultaneous requests, one executing and two queued at a time: most are refused.
  EXPECT_EQ(other, 0);
  EXPECT_GE(ok, 1);
  EXPECT_GE(unavailable, 1);
  EXPECT_EQ(with_retry_after, unavailable);
  EXPECT_EQ(ok + unavailable, kClients);
}

TEST(OverloadTest, RequestPastItsTimeoutAnswers503AndIsNeverExecuted) {
  testing::TempDir tmp;
  auto server = StartSlow(
      tmp,
      "{max_batch_size: 1, max_queue_delay_ms: 0, max_queue_size: 64, default_timeout_ms: 20}");
  ASSERT_NE(server, nullptr);
  int ok = 0, timed_out = 0, other = 0;
  for (const HttpResponse& r :
       PostConcurrently(server->port(), "/predict/slow_model", DiskBody(), 6)) {
    if (r.status == 200) {
      ++ok;
    } else if (r.status == 503 && r.body.find("timed out") != std::string::npos) {
      ++timed_out;
    } else {
      ++other;
    }
  }
  EXPECT_EQ(other, 0);
  EXPECT_GE(ok, 1);
  EXPECT_GE(timed_out, 1);
  // Only the requests that succeeded were executed.
  auto model = server->models().Get("slow_model");
  ASSERT_NE(model, nullptr);
  const BatcherStats stats = model->batcher().stats();
  EXPECT_EQ(stats.inferences, static_cast<uint64_t>(ok));
  EXPECT_EQ(stats.timed_out, static_cast<uint64_t>(timed_out));
}

TEST(OverloadTest, ModelsCanBeServedWithoutWarmupAndStillAnswer) {
  testing::TempDir tmp;
  testing::CopyModel("tiny_cls", tmp.path() / "repo");
  testing::ReplaceInFile(tmp.path() / "repo" / "tiny_cls" / "model.yaml", "warmup: true",
                         "warmup: false");
  auto server = testing::StartServer(tmp.path(), "model_repository: repo\n");
  ASSERT_NE(server, nullptr);
  HttpClient client;
  ASSERT_TRUE(client.Connect("127.0.0.1", server->port()).ok());
  auto r = client.Send("POST", "/predict/tiny_cls", DiskBody());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(nlohmann::json::parse(r->body)["predictions"][0]["label"], "disk");
}

}  // namespace
}  // namespace infera
