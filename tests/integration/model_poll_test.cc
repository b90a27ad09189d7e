// model_control mode poll (Triton's --model-control-mode=poll): the repository is
// rescanned every poll_s; a new version folder is served, a new model folder is loaded,
// a broken version leaves the previous one serving with the reason in the index, a
// removed folder is unloaded, and the explicit load/unload routes answer 409.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/base64.h"
#include "support/server_fixture.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ::testing::HasSubstr;

class ModelPollTest : public testing::ServerFixture {
 protected:
  static void SetUpTestSuite() {
    StartSuiteServer({"tiny_cls"}, "model_control: {mode: poll, poll_s: 0.2}\n");
  }
  static void TearDownTestSuite() { StopSuiteServer(); }
  static fs::path Repo() { return fs::path(server()->model_repository()); }

  // Polls `done` until it holds (bounded: 20 s).
  bool Eventually(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
  }
  int64_t ServedVersion() {
    const std::string png = testing::ReadFile(testing::TestModelsDir() / "images" / "disk.png");
    HttpResponse r =
        Post("/predict/tiny_cls", "{\"image\":\"" + Base64Encode(png.data(), png.size()) + "\"}");
    if (r.status != 200) return -1;
    return json::parse(r.body).value("version", int64_t{-1});
  }
  json IndexRow(const std::string& name) {
    HttpResponse r = Post("/v2/repository/index", "");
    for (const json& row : json::parse(r.body)) {
      if (row["name"] == name) return row;
    }
    return json();
  }
};

TEST_F(ModelPollTest, RepositoryChangesAreFollowed) {
  ASSERT_EQ(ServedVersion(), 1);
  // A new version folder: built, warmed, then served instead of version 1.
  fs::create_directories(Repo() / "tiny_cls" / "2");
  fs::copy_file(Repo() / "tiny_cls" / "1" / "model.pt", Repo() / "tiny_cls" / "2" / "model.pt");
  EXPECT_TRUE(Eventually([&] { return ServedVersion() == 2; }));

  // A new model folder is loaded.
  testing::CopyModel("slow_model", Repo());
  EXPECT_TRUE(Eventually([&] { return Get("/v2/models/slow_model/ready").status == 200; }));

  // A broken version 3: version 2 keeps serving, the index says why.
  testing::WriteFile(Repo() / "tiny_cls" / "3" / "model.pt", "not a model");
  EXPECT_TRUE(Eventually([&] {
    return IndexRow("tiny_cls")["reason"].get<std::string>().find("cannot load") !=
           std::string::npos;
  }));
  EXPECT_EQ(ServedVersion(), 2);
  fs::remove_all(Repo() / "tiny_cls" / "3");
  EXPECT_TRUE(Eventually([&] { return IndexRow("tiny_cls")["reason"] == ""; }));
  EXPECT_EQ(ServedVersion(), 2);

  // A removed folder is unloaded.
  fs::remove_all(Repo() / "slow_model");
  EXPECT_TRUE(Eventually([&] { return Get("/v2/models/slow_model").status == 404; }));
  EXPECT_TRUE(Eventually([&] { return IndexRow("slow_model")["state"] == "UNAVAILABLE"; }));

  // Explicit control is refused: the files are the control.
  HttpResponse load = Post("/v2/repository/models/tiny_cls/load", "");
  EXPECT_EQ(load.status, 409);
  EXPECT_THAT(load.body, HasSubstr("poll"));
  EXPECT_EQ(Post("/v2/repository/models/tiny_cls/unload", "").status, 409);
}

}  // namespace
}  // namespace infera
