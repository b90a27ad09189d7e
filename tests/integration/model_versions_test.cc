// Model versions on the real server with real TorchScript weights: version 2 of tiny_cls
// is tiny_cls with perturbed weights (model_tools/perturb_weights.py, run here with
// /usr/bin/python3 and Debian's python3-torch), so the two versions answer differently.
// A version added live and a roll back under /predict load from several threads fail no
// request; rolling back restores the parent's outputs byte for byte; a held-back version
// is not served until activated; POST /api/models/{id}/versions/{v}/activate answers its
// refusals; /api/models shows the lineage.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <vector>

#include "common/base64.h"
#include "support/server_fixture.h"
#include "support/status_matchers.h"

namespace infera::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using json = nlohmann::json;

class ModelVersionsTest : public ServerFixture {
 protected:
  static void SetUpTestSuite() {
    const fs::path listed = TestModelsDir() / "repo" / "tiny_cls" / "1" / "model.pt";
    StartSuiteServer({"tiny_cls"}, "models:\n  - {name: listed, path: " + listed.string() + "}\n");
    trained_ = new TempDir();
    const std::string command = "timeout 300 /usr/bin/python3 " + std::string(INFERA_SOURCE_DIR) +
                                "/model_tools/perturb_weights.py " +
                                (TestModelsDir() / "repo/tiny_cls/1/model.pt").string() + " " +
                                Trained().string() + " --seed 7 > " +
                                (trained_->path() / "log").string() + " 2>&1";
    python_rc_ = std::system(command.c_str());
  }
  static void TearDownTestSuite() {
    StopSuiteServer();
    delete trained_;
    trained_ = nullptr;
  }
  void SetUp() override {
    ServerFixture::SetUp();
    ASSERT_EQ(python_rc_, 0) << "perturb_weights.py failed: " << ReadFile(trained_->path() / "log");
    ASSERT_TRUE(fs::is_regular_file(Trained()));
  }

  static fs::path Trained() { return trained_->path() / "trained.pt"; }
  static ModelManager& Manager() { return server()->model_manager(); }

  static std::string PredictBody() {
    const std::string png = ReadFile(TestModelsDir() / "images" / "disk.png");
    return json{{"image", Base64Encode(png.data(), png.size())}}.dump();
  }
  // /predict/tiny_cls: {version, predictions (as sent, byte for byte)}.
  std::pair<int64_t, std::string> Predict() {
    HttpResponse r = Post("/predict/tiny_cls", PredictBody());
    EXPECT_EQ(r.status, 200) << r.body;
    const json body = json::parse(r.body, nullptr, false);
    if (r.status != 200 || !body.contains("predictions")) return {-1, ""};
    return {body["version"].get<int64_t>(), body["predictions"].dump()};
  }
  json Model(const std::string& name) {
    HttpResponse r = Get("/api/models/" + name);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  HttpResponse Activate(const std::string& name, const std::string& version) {
    return Post("/api/models/" + name + "/versions/" + version + "/activate", "");
  }
  // The version the registry serves now.
  static int64_t Active() { return server()->models().Get("tiny_cls")->config().version; }

  static TempDir* trained_;
  static int python_rc_;
};

TempDir* ModelVersionsTest::trained_ = nullptr;
int ModelVersionsTest::python_rc_ = -1;

TEST_F(ModelVersionsTest, RollbackRestoresTheParentsOutputsExactly) {
  const int64_t parent = Active();
  const auto [v_parent, before] = Predict();
  ASSERT_EQ(v_parent, parent);

  ASSERT_OK_AND_ASSIGN(int64_t child, Manager().AddVersion("tiny_cls", Trained(),
                                                           json{{"parent_version", parent},
                                                                {"annotation_sets", {3}},
                                                                {"best_score", 0.91},
                                                                {"parent_score", 0.42}},
                                                           /*activate=*/true));
  const auto [v_child, trained] = Predict();
  EXPECT_EQ(v_child, child);
  EXPECT_NE(trained, before) << "the perturbed weights answer as the parent's";

  // The lineage: the child names its parent and its training summary.
  json entry = Model("tiny_cls");
  EXPECT_EQ(entry["version"], child);
  bool seen_child = false;
  for (const json& v : entry["versions"]) {
    EXPECT_EQ(v["active"], v["version"] == child) << v.dump();
    if (v["version"] != child) continue;
    seen_child = true;
    EXPECT_EQ(v["parent"], parent);
    EXPECT_EQ(v["training"]["best_score"], 0.91);
    EXPECT_EQ(v["training"]["parent_score"], 0.42);
    EXPECT_EQ(v["training"]["annotation_sets"], json::array({3}));
    EXPECT_EQ(v["training"]["held_back"], false);
    EXPECT_TRUE(v["training"]["created_at"].is_string());
  }
  EXPECT_TRUE(seen_child) << entry.dump();

  HttpResponse r = Activate("tiny_cls", std::to_string(parent));  // roll back
  ASSERT_EQ(r.status, 200) << r.body;
  const json activated = json::parse(r.body);
  EXPECT_EQ(activated["name"], "tiny_cls");
  EXPECT_EQ(activated["version"], parent);
  const auto [v_back, after] = Predict();
  EXPECT_EQ(v_back, parent);
  EXPECT_EQ(after, before);  // byte for byte
  // The list shows the same entry as the single model route.
  const json list = json::parse(Get("/api/models").body);
  bool listed = false;
  for (const json& m : list["models"]) {
    if (m["name"] == "tiny_cls") {
      EXPECT_EQ(m, Model("tiny_cls"));
      listed = true;
    }
  }
  EXPECT_TRUE(listed);
}

TEST_F(ModelVersionsTest, NoRequestFailsWhileVersionsAreAddedAndRolledBack) {
  const int64_t parent = Active();
  const auto [v_parent, parent_out] = Predict();
  ASSERT_EQ(v_parent, parent);
  const std::string body = PredictBody();

  std::atomic<bool> stop{false};
  std::atomic<int> done{0}, failed{0};
  std::mutex mu;
  std::map<int64_t, std::set<std::string>> outputs;  // version -> predictions seen
  std::vector<std::string> failures;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      HttpClient client;
      if (!client.Connect("127.0.0.1", server()->port()).ok()) {
        ++failed;
        return;
      }
      while (!stop && std::chrono::steady_clock::now() < deadline) {
        StatusOr<HttpResponse> r = client.Send("POST", "/predict/tiny_cls", body);
        const json j = r.ok() ? json::parse(r->body, nullptr, false) : json();
        if (!r.ok() || r->status != 200 || !j.contains("predictions")) {
          ++failed;
          std::lock_guard<std::mutex> lock(mu);
          failures.push_back(r.ok() ? r->body : std::string(r.status().message()));
          continue;
        }
        ++done;
        std::lock_guard<std::mutex> lock(mu);
        outputs[j["version"].get<int64_t>()].insert(j["predictions"].dump());
      }
    });
  }
  // Waits (bounded by the deadline) until `n` more requests have been answered.
  auto answered = [&](int n) {
    const int target = done + n;
    while (done < target && failed == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return done >= target;
  };
  EXPECT_TRUE(answered(50));
  StatusOr<int64_t> child = Manager().AddVersion(
      "tiny_cls", Trained(), json{{"parent_version", parent}}, /*activate=*/true);
  EXPECT_TRUE(child.ok()) << child.status();
  EXPECT_TRUE(answered(50));
  HttpClient admin;
  ASSERT_TRUE(admin.Connect("127.0.0.1", server()->port()).ok());
  StatusOr<HttpResponse> back = admin.Send(
      "POST", "/api/models/tiny_cls/versions/" + std::to_string(parent) + "/activate", "");
  EXPECT_TRUE(back.ok() && back->status == 200) << (back.ok() ? back->body : "no answer");
  EXPECT_TRUE(answered(50));
  stop = true;
  for (std::thread& t : clients) t.join();

  EXPECT_EQ(failed, 0) << (failures.empty() ? "" : failures.front());
  ASSERT_TRUE(child.ok());
  // Both versions answered, each with its own outputs, the parent's unchanged.
  EXPECT_EQ(outputs[parent], std::set<std::string>{parent_out});
  ASSERT_EQ(outputs[*child].size(), 1u);
  EXPECT_NE(*outputs[*child].begin(), parent_out);
  EXPECT_EQ(Predict(), std::make_pair(parent, parent_out));
}

TEST_F(ModelVersionsTest, HeldBackVersionServesOnlyOnceActivated) {
  const int64_t parent = Active();
  const auto [v_parent, parent_out] = Predict();
  ASSERT_OK_AND_ASSIGN(int64_t held,
                       Manager().AddVersion("tiny_cls", Trained(), json{{"parent_version", parent}},
                                            /*activate=*/false));
  EXPECT_EQ(Predict(), std::make_pair(parent, parent_out));
  json entry = Model("tiny_cls");
  EXPECT_EQ(entry["version"], parent);
  const json& last = entry["versions"].back();
  EXPECT_EQ(last["version"], held);
  EXPECT_EQ(last["active"], false);
  EXPECT_EQ(last["training"]["held_back"], true);
  // /v2/models/{m} keeps its meaning: the versions loaded.
  EXPECT_EQ(json::parse(Get("/v2/models/tiny_cls").body)["versions"],
            json::array({std::to_string(parent)}));

  HttpResponse r = Activate("tiny_cls", std::to_string(held));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["version"], held);
  const auto [v_held, held_out] = Predict();
  EXPECT_EQ(v_held, held);
  EXPECT_NE(held_out, parent_out);
  ASSERT_EQ(Activate("tiny_cls", std::to_string(parent)).status, 200);
}

TEST_F(ModelVersionsTest, ActivateRefusesWhatItCannotDo) {
  const int64_t active = Active();
  ExpectError(Activate("no_such_model", "1"), 404, "no_such_model");
  ExpectError(Activate("tiny_cls", "999"), 404, "version 999");
  for (const char* bad : {"x", "0", "-1", "1.5", "99999999999999999999999"}) {
    ExpectError(Activate("tiny_cls", bad), 400, "model version");
  }
  ExpectError(Activate("listed", "1"), 409, "model list");
  ExpectError(Get("/api/models/no_such_model"), 404, "no_such_model");
  EXPECT_EQ(Active(), active);
  // A list-form model shows its one version, active.
  const json listed = Model("listed");
  ASSERT_EQ(listed["versions"].size(), 1u) << listed.dump();
  EXPECT_EQ(listed["versions"][0]["active"], true);
  EXPECT_EQ(listed["versions"][0]["parent"], nullptr);
  EXPECT_EQ(listed["versions"][0]["training"], nullptr);
}

}  // namespace
}  // namespace infera::testing
