// ModelManager's versions API on a real repository with the real tiny_cls model:
// versions added held back or live, activated forward and back, kept across a restart,
// followed by a second manager polling the same repository (another node), and refused
// with the documented errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/model_config.h"
#include "models/model_manager.h"
#include "models/model_sources.h"
#include "models/model_upload.h"
#include "support/status_matchers.h"
#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ::testing::HasSubstr;

class ModelManagerVersionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = tmp_.path() / "repo";
    fs::create_directories(repo_);
    repo_ = fs::canonical(repo_);
    testing::CopyModel("tiny_cls", repo_);
    artifact_ = tmp_.path() / "trained.pt";
    fs::copy_file(repo_ / "tiny_cls" / "1" / "model.pt", artifact_);
  }

  // A manager (a node) over the repository, its models loaded.
  std::unique_ptr<ModelManager> Start(ModelRegistry* registry,
                                      ModelControlMode mode = ModelControlMode::kNone) {
    ModelSources sources;
    StatusOr<std::vector<ModelConfig>> models = ScanModelRepository(repo_);
    EXPECT_TRUE(models.ok()) << models.status();
    if (models.ok()) sources.models = *models;
    sources.repository = repo_;
    sources.control = mode;
    sources.batch_timing_cache = tmp_.path() / "timings";
    auto manager = std::make_unique<ModelManager>(sources, registry, nullptr);
    EXPECT_TRUE(manager->LoadAll().ok());
    return manager;
  }

  // The versions of `name` the registry serves, ascending.
  static std::vector<int64_t> Served(const ModelRegistry& registry, const std::string& name) {
    std::vector<int64_t> out;
    for (const auto& m : registry.List()) {
      if (m->config().name == name) out.push_back(m->config().version);
    }
    return out;
  }
  int64_t Pinned() {
    StatusOr<ModelConfig> config = LoadModelFolder(repo_ / "tiny_cls");
    EXPECT_TRUE(config.ok()) << config.status();
    return config.ok() ? config->version : -1;
  }

  testing::TempDir tmp_;
  fs::path repo_;
  fs::path artifact_;
};

TEST_F(ModelManagerVersionsTest, HeldBackVersionIsWrittenButNotServed) {
  ModelRegistry registry;
  auto manager = Start(&registry);
  ASSERT_OK_AND_ASSIGN(
      int64_t v,
      manager->AddVersion("tiny_cls", artifact_,
                          json{{"parent_version", 1}, {"best_score", 0.4}, {"parent_score", 0.6}},
                          /*activate=*/false));
  EXPECT_EQ(v, 2);
  EXPECT_TRUE(fs::is_regular_file(repo_ / "tiny_cls" / "2" / "model.pt"));
  EXPECT_EQ(Served(registry, "tiny_cls"), std::vector<int64_t>{1});
  EXPECT_EQ(Pinned(), 1);  // the pin keeps version 1 active on every node

  ASSERT_OK_AND_ASSIGN(std::vector<ModelVersionInfo> versions, manager->Versions("tiny_cls"));
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0].version, 1);
  EXPECT_TRUE(versions[0].active);
  EXPECT_EQ(versions[0].parent, std::nullopt);
  EXPECT_TRUE(versions[0].training.is_null());
  EXPECT_EQ(versions[1].version, 2);
  EXPECT_FALSE(versions[1].active);
  EXPECT_EQ(versions[1].parent, 1);
  EXPECT_EQ(versions[1].training["held_back"], true);
  EXPECT_EQ(versions[1].training["best_score"], 0.4);
  EXPECT_TRUE(versions[1].training["created_at"].is_string());

  // A restart serves the pinned version, not the newest folder.
  ModelRegistry after;
  auto restarted = Start(&after);
  EXPECT_EQ(Served(after, "tiny_cls"), std::vector<int64_t>{1});
}

TEST_F(ModelManagerVersionsTest, ActivateRollsForwardAndBackAndSurvivesRestart) {
  ModelRegistry registry;
  auto manager = Start(&registry);
  ASSERT_OK_AND_ASSIGN(
      int64_t v, manager->AddVersion("tiny_cls", artifact_, json{{"parent_version", 1}}, false));
  std::shared_ptr<Model> held = registry.Get("tiny_cls");  // a request in flight on v1
  ASSERT_OK(manager->ActivateVersion("tiny_cls", v));
  EXPECT_EQ(Served(registry, "tiny_cls"), std::vector<int64_t>{2});
  EXPECT_EQ(Pinned(), 2);
  EXPECT_EQ(held->config().version, 1);  // still alive for its holder
  {
    ModelRegistry after;
    auto restarted = Start(&after);
    EXPECT_EQ(Served(after, "tiny_cls"), std::vector<int64_t>{2});
  }
  // Activating the active version again changes nothing.
  std::shared_ptr<Model> two = registry.Get("tiny_cls");
  ASSERT_OK(manager->ActivateVersion("tiny_cls", 2));
  EXPECT_EQ(registry.Get("tiny_cls"), two);

  ASSERT_OK(manager->ActivateVersion("tiny_cls", 1));  // roll back
  EXPECT_EQ(Served(registry, "tiny_cls"), std::vector<int64_t>{1});
  EXPECT_EQ(Pinned(), 1);
  ASSERT_OK_AND_ASSIGN(std::vector<ModelVersionInfo> versions, manager->Versions("tiny_cls"));
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_TRUE(versions[0].active);
  EXPECT_FALSE(versions[1].active);
  const std::vector<ModelState> index = manager->Index(false);
  ASSERT_EQ(index.size(), 1u);
  EXPECT_EQ(index[0].state, "READY");
  EXPECT_EQ(index[0].version, 1);
}

TEST_F(ModelManagerVersionsTest, ActiveVersionIsBuiltAndSwappedIn) {
  ModelRegistry registry;
  auto manager = Start(&registry);
  ASSERT_OK_AND_ASSIGN(
      int64_t v, manager->AddVersion("tiny_cls", artifact_, json{{"parent_version", 1}}, true));
  EXPECT_EQ(v, 2);
  EXPECT_EQ(Served(registry, "tiny_cls"), std::vector<int64_t>{2});
  EXPECT_EQ(Pinned(), 2);
  ASSERT_OK_AND_ASSIGN(std::vector<ModelVersionInfo> versions, manager->Versions("tiny_cls"));
  EXPECT_EQ(versions[1].training["held_back"], false);
  // Without a record (an uploaded-like version): no training.json, no parent.
  ASSERT_OK_AND_ASSIGN(int64_t three, manager->AddVersion("tiny_cls", artifact_, json(), true));
  EXPECT_EQ(three, 3);
  EXPECT_FALSE(fs::exists(repo_ / "tiny_cls" / "3" / "training.json"));
  ASSERT_OK_AND_ASSIGN(versions, manager->Versions("tiny_cls"));
  ASSERT_EQ(versions.size(), 3u);
  EXPECT_EQ(versions[2].parent, std::nullopt);
  EXPECT_TRUE(versions[2].training.is_null());
  EXPECT_TRUE(versions[2].active);
}

TEST_F(ModelManagerVersionsTest, VersionThatDoesNotLoadIsRemovedAndTheOldOneServes) {
  ModelRegistry registry;
  auto manager = Start(&registry);
  const fs::path broken = tmp_.path() / "broken.pt";
  testing::WriteFile(broken, "not a TorchScript module");
  StatusOr<int64_t> v = manager->AddVersion("tiny_cls", broken, json{{"parent_version", 1}}, true);
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(std::string(v.status().message()), HasSubstr("version 2"));
  EXPECT_THAT(std::string(v.status().message()), HasSubstr("keeps serving"));
  EXPECT_FALSE(fs::exists(repo_ / "tiny_cls" / "2"));
  EXPECT_EQ(Served(registry, "tiny_cls"), std::vector<int64_t>{1});
  EXPECT_EQ(Pinned(), 1);

  // Held back, it is written (it is only built when activated), and activating it fails
  // with version 1 still served and pinned.
  ASSERT_OK_AND_ASSIGN(int64_t held, manager->AddVersion("tiny_cls", broken, json(), false));
  EXPECT_FALSE(manager->ActivateVersion("tiny_cls", held).ok());
  EXPECT_EQ(Served(registry, "tiny_cls"), std::vector<int64_t>{1});
  EXPECT_EQ(Pinned(), 1);
  EXPECT_TRUE(manager->Ready(nullptr));
}

TEST_F(ModelManagerVersionsTest, ErrorsNameTheProblem) {
  ModelRegistry registry;
  auto manager = Start(&registry);
  EXPECT_EQ(manager->AddVersion("nope", artifact_, json(), true).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(manager->ActivateVersion("nope", 1).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(manager->Versions("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(manager->ActivateVersion("tiny_cls", 7).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(manager->ActivateVersion("../etc", 1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      manager->AddVersion("tiny_cls", tmp_.path() / "missing.pt", json(), true).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(manager->AddVersion("tiny_cls", artifact_, json::array({1}), true).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(repo_ / "tiny_cls" / "2"));

  // A model of the config's list form, and a server without a repository.
  ModelConfig listed = DefaultClassifierConfig();
  listed.name = "listed";
  listed.artifact = artifact_;  // outside the repository: a list-form model
  ModelSources sources;
  sources.models = {listed};
  ModelRegistry other;
  ModelManager no_repo(sources, &other, nullptr);
  EXPECT_EQ(no_repo.AddVersion("listed", artifact_, json(), true).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(no_repo.ActivateVersion("listed", 1).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(no_repo.CheckCanAddVersion("listed").code(), absl::StatusCode::kFailedPrecondition);
  sources.repository = repo_;
  ModelManager with_repo(sources, &other, nullptr);
  Status refused = with_repo.ActivateVersion("listed", 1);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.message()), HasSubstr("model list"));
  Status cannot_add = with_repo.CheckCanAddVersion("listed");
  EXPECT_EQ(cannot_add.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(cannot_add.message()), HasSubstr("model list"));
  EXPECT_EQ(with_repo.CheckCanAddVersion("nope").code(), absl::StatusCode::kNotFound);
  ASSERT_OK(with_repo.CheckCanAddVersion("tiny_cls"));
  ASSERT_OK_AND_ASSIGN(std::vector<ModelVersionInfo> versions, with_repo.Versions("listed"));
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_EQ(versions[0].version, 1);
  EXPECT_FALSE(versions[0].active);  // not loaded by this manager
}

TEST_F(ModelManagerVersionsTest, VersionPolicyAllIsReplacedByThePin) {
  testing::WriteFile(
      repo_ / "tiny_cls" / "model.yaml",
      testing::ReadFile(repo_ / "tiny_cls" / "model.yaml") + "version_policy: all\n");
  fs::create_directories(repo_ / "tiny_cls" / "2");
  fs::copy_file(artifact_, repo_ / "tiny_cls" / "2" / "model.pt");
  ModelRegistry registry;
  auto manager = Start(&registry);
  EXPECT_EQ(Served(registry, "tiny_cls"), (std::vector<int64_t>{1, 2}));
  ASSERT_OK_AND_ASSIGN(std::vector<ModelVersionInfo> versions, manager->Versions("tiny_cls"));
  EXPECT_TRUE(versions[0].active && versions[1].active);

  // Held back under `all`: the version served by default (the highest) is pinned first,
  // so the new folder is not served; the others stop.
  ASSERT_OK_AND_ASSIGN(int64_t v, manager->AddVersion("tiny_cls", artifact_, json(), false));
  EXPECT_EQ(v, 3);
  EXPECT_EQ(Served(registry, "tiny_cls"), std::vector<int64_t>{2});
  EXPECT_EQ(Pinned(), 2);
}

TEST_F(ModelManagerVersionsTest, UploadBelowAHeldBackVersionIsTheOneServed) {
  ModelRegistry registry;
  auto manager = Start(&registry);
  ASSERT_OK(manager->ActivateVersion("tiny_cls", 1));  // pins version 1
  fs::create_directories(repo_ / "tiny_cls" / "5");    // a held-back version 5
  fs::copy_file(artifact_, repo_ / "tiny_cls" / "5" / "model.pt");
  ModelUpload upload;
  upload.name = "tiny_cls";
  upload.runner = "classify";
  upload.yaml_text = testing::ReadFile(testing::TestModelsDir() / "repo/tiny_cls/model.yaml");
  upload.labels = testing::TestModelsDir() / "repo/tiny_cls/labels.txt";
  upload.artifact = artifact_;
  upload.version = 2;
  ASSERT_OK_AND_ASSIGN(ModelConfig served, manager->Install(upload));
  EXPECT_EQ(served.version, 2);
  EXPECT_EQ(Served(registry, "tiny_cls"), std::vector<int64_t>{2});
  EXPECT_EQ(Pinned(), 2);  // not the `latest` folder 5
}

TEST_F(ModelManagerVersionsTest, NodesPollingOneRepositoryFollowThePin) {
  ModelRegistry registry_a, registry_b;
  auto a = Start(&registry_a, ModelControlMode::kPoll);
  auto b = Start(&registry_b, ModelControlMode::kPoll);
  ASSERT_OK_AND_ASSIGN(int64_t two, a->AddVersion("tiny_cls", artifact_, json(), true));
  ASSERT_OK_AND_ASSIGN(int changed, a->Poll());
  EXPECT_EQ(changed, 0);  // a wrote it: nothing new for its own poller
  ASSERT_OK(b->Poll().status());
  EXPECT_EQ(Served(registry_b, "tiny_cls"), std::vector<int64_t>{two});

  ASSERT_OK_AND_ASSIGN(int64_t three, a->AddVersion("tiny_cls", artifact_, json(), false));
  ASSERT_OK(b->Poll().status());
  EXPECT_EQ(Served(registry_b, "tiny_cls"), std::vector<int64_t>{two});  // held back

  ASSERT_OK(a->ActivateVersion("tiny_cls", 1));
  ASSERT_OK(b->Poll().status());
  EXPECT_EQ(Served(registry_b, "tiny_cls"), std::vector<int64_t>{1});
  ASSERT_OK(b->ActivateVersion("tiny_cls", three));
  ASSERT_OK(a->Poll().status());
  EXPECT_EQ(Served(registry_a, "tiny_cls"), std::vector<int64_t>{three});
}

}  // namespace
}  // namespace infera
