#include "models/model_versions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "models/model_config.h"
#include "support/status_matchers.h"
#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

TEST(ModelVersionsTest, PinReplacesThePolicyAndKeepsEveryOtherKey) {
  testing::TempDir tmp;
  const fs::path dir = tmp.path() / "m";
  testing::WriteFile(dir / "model.yaml",
                     "# a comment\nrunner: classify\nversion_policy: all\n"
                     "input: {size: [64, 64], color: rgb}\nbatching: {max_batch_size: 4}\n");
  for (int v : {1, 2, 3}) testing::WriteFile(dir / std::to_string(v) / "model.pt", "x");
  ASSERT_OK_AND_ASSIGN(std::vector<ModelConfig> all, LoadModelFolderVersions(dir));
  EXPECT_EQ(all.size(), 3u);

  ASSERT_OK(WriteVersionPin(dir, 2));
  const YAML::Node y = YAML::LoadFile((dir / "model.yaml").string());
  EXPECT_EQ(y["version"].as<int>(), 2);
  EXPECT_FALSE(y["version_policy"].IsDefined());
  EXPECT_EQ(y["runner"].as<std::string>(), "classify");
  EXPECT_EQ(y["input"]["size"][1].as<int>(), 64);
  EXPECT_EQ(y["batching"]["max_batch_size"].as<int>(), 4);
  ASSERT_OK_AND_ASSIGN(std::vector<ModelConfig> pinned, LoadModelFolderVersions(dir));
  ASSERT_EQ(pinned.size(), 1u);
  EXPECT_EQ(pinned[0].version, 2);
  EXPECT_EQ(pinned[0].batching.max_batch_size, 4);

  // Pinning again moves it; no leftover files beside model.yaml.
  ASSERT_OK(WriteVersionPin(dir, 3));
  ASSERT_OK_AND_ASSIGN(ModelConfig served, LoadModelFolder(dir));
  EXPECT_EQ(served.version, 3);
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) files += entry.is_regular_file() ? 1 : 0;
  EXPECT_EQ(files, 1);
}

TEST(ModelVersionsTest, PinOfAFolderWithoutModelYamlFails) {
  testing::TempDir tmp;
  EXPECT_FALSE(WriteVersionPin(tmp.path() / "none", 1).ok());
  testing::WriteFile(tmp.path() / "list" / "model.yaml", "- 1\n- 2\n");
  Status s = WriteVersionPin(tmp.path() / "list", 1);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
}

TEST(ModelVersionsTest, OneVersionIsLoadedWhateverThePolicy) {
  testing::TempDir tmp;
  const fs::path dir = tmp.path() / "m";
  testing::WriteFile(dir / "model.yaml", "runner: classify\nversion: 1\n");
  for (int v : {1, 2}) testing::WriteFile(dir / std::to_string(v) / "model.pt", "x");
  testing::WriteFile(dir / "3" / "other.bin", "x");  // no artifact: not a version
  ASSERT_OK_AND_ASSIGN(ModelConfig two, LoadModelFolderVersion(dir, 2));
  EXPECT_EQ(two.version, 2);
  EXPECT_EQ(two.artifact, dir / "2" / "model.pt");
  EXPECT_EQ(LoadModelFolderVersion(dir, 3).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(LoadModelFolderVersion(dir, 0).status().code(), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(std::vector<int64_t> versions, ModelFolderVersions(dir));
  EXPECT_EQ(versions, (std::vector<int64_t>{1, 2}));
}

TEST(ModelVersionsTest, TrainingRecordsAndTheirSummary) {
  testing::TempDir tmp;
  const fs::path dir = tmp.path() / "m";
  testing::WriteFile(dir / "1" / "model.pt", "x");
  ASSERT_OK_AND_ASSIGN(json none, ReadTrainingRecord(dir, 1));
  EXPECT_TRUE(none.is_null());
  EXPECT_TRUE(TrainingSummary(none).is_null());
  EXPECT_EQ(ParentVersion(none), std::nullopt);

  testing::WriteFile(dir / "2" / "training.json",
                     R"({"parent_version": 1, "created_at": "2026-12-07T03:00:00Z",
                         "annotation_sets": [4], "best_score": 0.9, "parent_score": 0.4,
                         "held_back": false, "epochs": [{"epoch": 0}]})");
  ASSERT_OK_AND_ASSIGN(json record, ReadTrainingRecord(dir, 2));
  EXPECT_EQ(ParentVersion(record), 1);
  EXPECT_EQ(TrainingSummary(record), json({{"created_at", "2026-12-07T03:00:00Z"},
                                           {"annotation_sets", {4}},
                                           {"best_score", 0.9},
                                           {"parent_score", 0.4},
                                           {"held_back", false}}));
  EXPECT_EQ(TrainingSummary(json{{"parent_version", 1}})["best_score"], nullptr);
  EXPECT_EQ(ParentVersion(json{{"parent_version", "1"}}), std::nullopt);
  EXPECT_EQ(ParentVersion(json{{"parent_version", 0}}), std::nullopt);

  testing::WriteFile(dir / "3" / "training.json", "[1, 2]");
  EXPECT_EQ(ReadTrainingRecord(dir, 3).status().code(), absl::StatusCode::kInvalidArgument);
  testing::WriteFile(dir / "4" / "training.json", "{not json");
  EXPECT_EQ(ReadTrainingRecord(dir, 4).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ModelVersionsTest, UtcTimeIsIso8601) {
  EXPECT_THAT(UtcNowIso8601(),
              ::testing::MatchesRegex("20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:"
                                      "[0-9][0-9]Z"));
}

}  // namespace
}  // namespace infera
