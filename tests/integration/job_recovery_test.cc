// A server killed with SIGKILL in the middle of a dataset job: after a restart on the
// same storage the job resumes (its lease expired) and completes, and every image has
// exactly one result — nothing redone twice, nothing lost.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "api/http_client.h"
#include "support/child_process.h"
#include "support/multipart_body.h"
#include "support/test_env.h"

namespace infera::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Starts `infera serve` and returns its port (0 on failure).
uint16_t StartServe(const fs::path& config, Child* child) {
  *child = Spawn({InferaBinary().string(), "serve", "--config", config.string(), "--port", "0"});
  const std::string line = ReadUntil(child->out, "\n", std::chrono::seconds(120));
  const size_t colon = line.rfind(':');
  if (line.find("listening") == std::string::npos || colon == std::string::npos) {
    ADD_FAILURE() << "serve did not start: " << line;
    return 0;
  }
  return static_cast<uint16_t>(std::stoi(line.substr(colon + 1)));
}

json GetJob(HttpClient& client, int64_t id) {
  StatusOr<HttpResponse> r = client.Send("GET", "/api/inferences/" + std::to_string(id));
  if (!r.ok() || r->status != 200) return json::object();
  return json::parse(r->body);
}

TEST(JobRecoveryTest, KilledMidJobResumesAfterRestartWithoutDuplicates) {
  TempDir dir;
  CopyModel("slow_model", dir.path() / "repo");
  const fs::path config = dir.path() / "config.yaml";
  WriteFile(config,
            "server: {access_log: false}\nmodel_repository: repo\njobs: {lease_s: 1}\n"
            "auth: {enabled: false}\n");

  Child first;
  const uint16_t port = StartServe(config, &first);
  ASSERT_NE(port, 0);
  HttpClient client;
  ASSERT_TRUE(client.Connect("127.0.0.1", port).ok());
  StatusOr<HttpResponse> created = client.Send("POST", "/api/datasets", R"({"name": "crash"})");
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(created->status, 201) << created->body;
  const int64_t dataset = json::parse(created->body)["id"];
  constexpr int kImages = 40;
  std::vector<FormPart> parts;
  const std::string png = ReadFile(TestModelsDir() / "images" / "disk.png");
  for (int i = 0; i < kImages; ++i)
    parts.push_back({"files", "img" + std::to_string(i) + ".png", png});
  StatusOr<HttpResponse> up =
      client.Send("POST", "/api/datasets/" + std::to_string(dataset) + "/files",
                  MultipartBody(parts), {{"Content-Type", MultipartContentType()}});
  ASSERT_TRUE(up.ok());
  ASSERT_EQ(up->status, 201) << up->body;
  StatusOr<HttpResponse> start =
      client.Send("POST", "/api/inferences/start",
                  json{{"dataset_id", dataset}, {"model_id", "slow_model"}}.dump());
  ASSERT_TRUE(start.ok());
  ASSERT_EQ(start->status, 202) << start->body;
  const int64_t job = json::parse(start->body)["inference_id"];

  // Kill it once some, but not all, images are done.
  int64_t done_before = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    json j = GetJob(client, job);
    done_before = j.value("progress", json::object()).value("done", int64_t{0});
    if (done_before >= 4) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(first.pid, SIGKILL);
  EXPECT_EQ(WaitExit(first.pid, std::chrono::seconds(10)), -1);
  close(first.out);
  close(first.err);
  ASSERT_GE(done_before, 4);
  ASSERT_LT(done_before, kImages) << "the job finished before the kill; make it slower";

  Child second;
  const uint16_t port2 = StartServe(config, &second);
  ASSERT_NE(port2, 0);
  HttpClient client2;
  ASSERT_TRUE(client2.Connect("127.0.0.1", port2).ok());
  json j;
  const auto deadline2 = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline2) {
    j = GetJob(client2, job);
    if (j.value("status", "") == "completed" || j.value("status", "") == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(second.pid, SIGTERM);
  EXPECT_EQ(WaitExit(second.pid, std::chrono::seconds(30)), 0);
  close(second.out);
  close(second.err);

  ASSERT_EQ(j.value("status", ""), "completed") << j.dump();
  EXPECT_GE(j["attempts"].get<int>(), 2);
  EXPECT_EQ(j["progress"]["done"], kImages);
  EXPECT_EQ(j["progress"]["failed"], 0);
  ASSERT_EQ(j["results"].size(), static_cast<size_t>(kImages));
  std::set<int64_t> sources;
  for (const json& r : j["results"]) {
    sources.insert(r["source_file_id"].get<int64_t>());
    EXPECT_TRUE(r["error"].is_null()) << r.dump();
  }
  EXPECT_EQ(sources.size(), static_cast<size_t>(kImages));
}

}  // namespace
}  // namespace infera::testing
