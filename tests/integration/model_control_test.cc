// Model control on the real server: the repository index, explicit load/unload,
// reloading a new or broken version, and reloading 20 times under load without a
// single failed request.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/base64.h"
#include "support/server_fixture.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using json = nlohmann::json;

std::string DiskBody() {
  const std::string png = testing::ReadFile(testing::TestModelsDir() / "images" / "disk.png");
  return "{\"image\":\"" + Base64Encode(png.data(), png.size()) + "\"}";
}

json IndexRow(const json& index, const std::string& name) {
  for (const auto& row : index) {
    if (row["name"] == name) return row;
  }
  return json();
}

class ModelControlTest : public testing::ServerFixture {
 protected:
  static void SetUpTestSuite() {
    StartSuiteServer({"tiny_cls", "slow_model"}, "model_control: {mode: explicit}\n");
  }
  static void TearDownTestSuite() { StopSuiteServer(); }
  static fs::path Repo() { return fs::path(server()->model_repository()); }
  json Index(const std::string& body = "") {
    HttpResponse r = Post("/v2/repository/index", body);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }
};

TEST_F(ModelControlTest, IndexListsModelsWithState) {
  json index = Index();
  ASSERT_TRUE(index.is_array());
  json tiny = IndexRow(index, "tiny_cls");
  EXPECT_EQ(tiny["state"], "READY");
  EXPECT_EQ(tiny["version"], "1");
  EXPECT_EQ(Index("{\"ready\": true}").size(), 2u);
  ExpectError(Post("/v2/repository/index", "[1]"), 400, "JSON object");
}

TEST_F(ModelControlTest, UnloadThenLoadAgain) {
  ASSERT_EQ(Post("/v2/repository/models/tiny_cls/unload", "").status, 200);
  ExpectError(Post("/predict/tiny_cls", DiskBody()), 404, "unknown model 'tiny_cls'");
  json row = IndexRow(Index(), "tiny_cls");
  EXPECT_EQ(row["state"], "UNAVAILABLE");
  EXPECT_EQ(row["reason"], "unloaded");
  EXPECT_EQ(Index("{\"ready\": true}").size(), 1u);
  ExpectError(Post("/v2/repository/models/tiny_cls/unload", ""), 404, "not loaded");
  ASSERT_EQ(Post("/v2/repository/models/tiny_cls/load", "").status, 200);
  EXPECT_EQ(Post("/predict/tiny_cls", DiskBody()).status, 200);
  EXPECT_EQ(IndexRow(Index(), "tiny_cls")["state"], "READY");
}

TEST_F(ModelControlTest, BadNamesAndUnknownModels) {
  ExpectError(Post("/v2/repository/models/nope/load", ""), 404, "no model 'nope'");
  ExpectError(Post("/v2/repository/models/..%2Fetc/load", ""), 404, "");
  ExpectError(Post("/v2/repository/models/.hidden/load", ""), 400, "invalid model name");
}

TEST_F(ModelControlTest, NewVersionReplacesTheOldAndABrokenOneLeavesItServing) {
  // A broken version 2: the load fails, version 1 keeps serving, the index says why.
  testing::WriteFile(Repo() / "tiny_cls" / "2" / "model.pt", "not a model");
  ExpectError(Post("/v2/repository/models/tiny_cls/load", ""), 400, "cannot load");
  HttpResponse r = Post("/predict/tiny_cls", DiskBody());
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["version"], 1);
  json row = IndexRow(Index(), "tiny_cls");
  EXPECT_EQ(row["state"], "READY");
  EXPECT_THAT(row["reason"].get<std::string>(), HasSubstr("cannot load"));

  // A good version 2: it replaces version 1.
  fs::copy_file(Repo() / "tiny_cls" / "1" / "model.pt", Repo() / "tiny_cls" / "2" / "model.pt",
                fs::copy_options::overwrite_existing);
  ASSERT_EQ(Post("/v2/repository/models/tiny_cls/load", "").status, 200);
  r = Post("/predict/tiny_cls", DiskBody());
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["version"], 2);
  ExpectError(Post("/predict/tiny_cls/versions/1", DiskBody()), 404, "no loaded version 1");
  EXPECT_EQ(IndexRow(Index(), "tiny_cls")["reason"], "");
  fs::remove_all(Repo() / "tiny_cls" / "2");
  ASSERT_EQ(Post("/v2/repository/models/tiny_cls/load", "").status, 200);
}

// Health false paths (Triton's strict readiness): the server is not ready while a model
// asked for does not serve; a model the repository knows but that does not serve answers
// 400 on its ready endpoint (404 stays for unknown ones).
TEST_F(ModelControlTest, ReadinessFollowsTheModelsAskedFor) {
  EXPECT_EQ(Get("/v2/health/ready").status, 200);
  // A new model whose only version is broken: the load fails, nothing of it serves.
  testing::WriteFile(Repo() / "broken" / "model.yaml", "runner: classify\n");
  testing::WriteFile(Repo() / "broken" / "1" / "model.pt", "not a model");
  ExpectError(Post("/v2/repository/models/broken/load", ""), 400, "cannot load");
  HttpResponse ready = Get("/v2/health/ready");
  EXPECT_EQ(ready.status, 400) << ready.body;
  json body = json::parse(ready.body);
  EXPECT_EQ(body["ready"], false);
  EXPECT_THAT(body["reason"].get<std::string>(), HasSubstr("broken"));
  EXPECT_EQ(Get("/v2/health/live").status, 200);  // live all the same
  HttpResponse model_ready = Get("/v2/models/broken/ready");
  EXPECT_EQ(model_ready.status, 400) << model_ready.body;
  EXPECT_EQ(json::parse(model_ready.body)["state"], "UNAVAILABLE");
  EXPECT_EQ(Get("/v2/models/nope/ready").status, 404);
  // Fixed and loaded: ready again.
  fs::copy_file(Repo() / "tiny_cls" / "1" / "model.pt", Repo() / "broken" / "1" / "model.pt",
                fs::copy_options::overwrite_existing);
  ASSERT_EQ(Post("/v2/repository/models/broken/load", "").status, 200);
  EXPECT_EQ(Get("/v2/health/ready").status, 200);
  EXPECT_EQ(Get("/v2/models/broken/ready").status, 200);
  // Unloaded on purpose: the server stays ready; the model says it is not.
  ASSERT_EQ(Post("/v2/repository/models/broken/unload", "").status, 200);
  EXPECT_EQ(Get("/v2/health/ready").status, 200);
  model_ready = Get("/v2/models/broken/ready");
  EXPECT_EQ(model_ready.status, 400);
  EXPECT_EQ(json::parse(model_ready.body)["reason"], "unloaded");
  fs::remove_all(Repo() / "broken");
}

TEST_F(ModelControlTest, TwentyReloadsUnderLoadFailNoRequest) {
  const std::string body = DiskBody();
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      HttpClient client;
      if (!client.Connect("127.0.0.1", server()->port()).ok()) return void(++failed);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
      while (!stop.load() && std::chrono::steady_clock::now() < deadline) {
        auto r = client.Send("POST", "/predict/tiny_cls", body);
        if (r.ok() && r->status == 200) {
          ++ok;
        } else {
          ++failed;
        }
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    HttpResponse r = Post("/v2/repository/models/tiny_cls/load", "");
    EXPECT_EQ(r.status, 200) << r.body;
  }
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 20);
}

TEST_F(ModelControlTest, UnloadLetsRequestsInFlightFinish) {
  const std::string body = DiskBody();
  std::shared_ptr<Model> model = server()->models().Get("slow_model");
  ASSERT_NE(model, nullptr);
  const uint64_t before = model->batcher().stats().enqueued;
  std::vector<int> codes(2, 0);
  std::vector<std::thread> clients;
  for (int i = 0; i < 2; ++i) {
    clients.emplace_back([&, i] {
      HttpClient client;
      if (!client.Connect("127.0.0.1", server()->port()).ok()) return;
      auto r = client.Send("POST", "/predict/slow_model", body);
      if (r.ok()) codes[static_cast<size_t>(i)] = r->status;
    });
  }
  // Wait (bounded) until both requests are inside the model (~50 ms a batch), then
  // unload it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (model->batcher().stats().enqueued < before + 2 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  model.reset();
  EXPECT_EQ(Post("/v2/repository/models/slow_model/unload", "").status, 200);
  for (auto& t : clients) t.join();
  EXPECT_EQ(codes, (std::vector<int>{200, 200}));
  ExpectError(Post("/predict/slow_model", body), 404, "unknown model");
  ASSERT_EQ(Post("/v2/repository/models/slow_model/load", "").status, 200);
}

// A load runs off the I/O threads: with a single I/O thread, the repository index still
// answers while slow_model loads (its warm-up busy-waits 50 ms per batch) and shows it
// LOADING. Were the load on the I/O thread, the index could only answer before the load
// starts or after it ends, and would never show LOADING.
class ModelControlOneIoThreadTest : public testing::ServerFixture {
 protected:
  static void SetUpTestSuite() {
    StartSuiteServer({"tiny_cls", "slow_model"},
                     "server: {io_threads: 1}\nmodel_control: {mode: explicit}\n");
  }
  static void TearDownTestSuite() { StopSuiteServer(); }
};

TEST_F(ModelControlOneIoThreadTest, IndexAnswersWhileAModelLoads) {
  ASSERT_EQ(Post("/v2/repository/models/slow_model/unload", "").status, 200);
  std::atomic<bool> loaded{false};
  std::atomic<int> load_status{0};
  std::thread loader([&] {
    HttpClient client(std::chrono::seconds(60));
    if (client.Connect("127.0.0.1", server()->port()).ok()) {
      auto r = client.Send("POST", "/v2/repository/models/slow_model/load", "");
      if (r.ok()) load_status = r->status;
    }
    loaded = true;
  });
  bool saw_loading = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!loaded.load() && !saw_loading && std::chrono::steady_clock::now() < deadline) {
    HttpResponse r = Post("/v2/repository/index", "");
    ASSERT_EQ(r.status, 200) << r.body;
    saw_loading = IndexRow(json::parse(r.body), "slow_model")["state"] == "LOADING";
  }
  loader.join();
  EXPECT_TRUE(saw_loading);
  EXPECT_EQ(load_status.load(), 200);
  EXPECT_EQ(IndexRow(json::parse(Post("/v2/repository/index", "").body), "slow_model")["state"],
            "READY");
}

class ModelControlNoneTest : public testing::ServerFixture {
 protected:
  static void SetUpTestSuite() { StartSuiteServer({"tiny_cls"}); }
  static void TearDownTestSuite() { StopSuiteServer(); }
};

TEST_F(ModelControlNoneTest, LoadAndUnloadAreRefusedInModeNone) {
  ExpectError(Post("/v2/repository/models/tiny_cls/load", ""), 409, "mode is 'none'");
  ExpectError(Post("/v2/repository/models/tiny_cls/unload", ""), 409, "mode is 'none'");
  HttpResponse r = Post("/v2/repository/index", "");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(IndexRow(json::parse(r.body), "tiny_cls")["state"], "READY");
}

}  // namespace
}  // namespace infera
