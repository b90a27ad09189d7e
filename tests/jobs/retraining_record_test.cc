// RetrainingSpec <-> JobRecord, GetRetraining over a real queue (other kinds are "not
// found"), and the API's JSON of a retraining as its report grows.
#include "jobs/retraining_record.h"

#include <gtest/gtest.h>

#include "store/sqlite_store.h"
#include "support/status_matchers.h"
#include "support/test_env.h"

namespace infera {
namespace {

using absl::StatusCode;
using nlohmann::json;

RetrainingSpec Spec() {
  RetrainingSpec s;
  s.model = "tiny_unet";
  s.version = 3;
  s.runner = "binary_sigmoid";
  s.annotation_set_ids = {5, 9};
  s.params = {{"epochs", 4}, {"lr", 0.01}};
  return s;
}

TEST(RetrainingRecordTest, RoundTripsThroughAJobOfKindRetraining) {
  ASSERT_OK_AND_ASSIGN(JobRecord job, RetrainingJob(Spec(), /*owner_id=*/7, /*epochs=*/4));
  EXPECT_EQ(job.kind, "retraining");
  EXPECT_EQ(job.owner_id, 7);
  EXPECT_EQ(job.dataset_id, 0);  // its sets may be of several datasets
  EXPECT_EQ(job.total, 4);
  ASSERT_OK_AND_ASSIGN(RetrainingSpec back, RetrainingSpecOf(job));
  EXPECT_EQ(back.model, "tiny_unet");
  EXPECT_EQ(back.version, 3);
  EXPECT_EQ(back.runner, "binary_sigmoid");
  EXPECT_EQ(back.annotation_set_ids, (std::vector<int64_t>{5, 9}));
  EXPECT_EQ(back.params, (json{{"epochs", 4}, {"lr", 0.01}}));
}

TEST(RetrainingRecordTest, RefusesIncompleteSpecsAndOtherKinds) {
  RetrainingSpec s = Spec();
  s.annotation_set_ids.clear();
  EXPECT_EQ(RetrainingJob(s, 1, 4).status().code(), StatusCode::kInvalidArgument);
  s = Spec();
  s.model.clear();
  EXPECT_EQ(RetrainingJob(s, 1, 4).status().code(), StatusCode::kInvalidArgument);
  s = Spec();
  s.params = json::array();
  EXPECT_EQ(RetrainingJob(s, 1, 4).status().code(), StatusCode::kInvalidArgument);

  JobRecord other;
  other.kind = "inference";
  other.spec_json = R"({"model": "m"})";
  EXPECT_EQ(RetrainingSpecOf(other).status().code(), StatusCode::kInvalidArgument);
  JobRecord broken;
  broken.kind = "retraining";
  broken.spec_json = R"({"model": "m", "runner": "r", "version": 1, "annotation_set_ids": ["x"]})";
  EXPECT_EQ(RetrainingSpecOf(broken).status().code(), StatusCode::kInvalidArgument);
}

TEST(RetrainingRecordTest, GetRetrainingFindsOnlyRetrainings) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenSqliteStore(dir.path() / "infera.db"));
  ASSERT_OK_AND_ASSIGN(JobRecord job, RetrainingJob(Spec(), 1, 4));
  ASSERT_OK_AND_ASSIGN(JobRecord created, store->CreateJob(job));
  ASSERT_OK_AND_ASSIGN(JobRecord got, GetRetraining(*store, created.id));
  EXPECT_EQ(got.id, created.id);
  JobRecord other;
  other.kind = "something_else";
  ASSERT_OK_AND_ASSIGN(JobRecord made, store->CreateJob(other));
  Status s = GetRetraining(*store, made.id).status();
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "retraining " + std::to_string(made.id) + " not found");
  EXPECT_EQ(GetRetraining(*store, 4242).status().code(), StatusCode::kNotFound);
}

TEST(RetrainingRecordTest, JsonShowsTheReportAsItGrows) {
  ASSERT_OK_AND_ASSIGN(JobRecord job, RetrainingJob(Spec(), 7, 4));
  job.id = 31;
  json j = RetrainingJson(job);
  EXPECT_EQ(j["retraining_id"], 31);
  EXPECT_EQ(j["status"], "queued");
  EXPECT_EQ(j["model"], "tiny_unet");
  EXPECT_EQ(j["parent_version"], 3);
  EXPECT_EQ(j["annotation_set_ids"], (json{5, 9}));
  EXPECT_EQ(j["progress"], (json{{"epochs_done", 0}, {"epochs", 4}}));
  EXPECT_EQ(j["epochs"], json::array());
  EXPECT_EQ(j["logs"], json::array());
  EXPECT_TRUE(j["new_version"].is_null());
  EXPECT_TRUE(j["held_back"].is_null());

  job.status = JobStatus::kCompleted;
  job.done = 2;
  job.report_json = json{
      {"epochs", {{{"epoch", 0}}, {{"epoch", 1}}, {{"epoch", 2}}}},
      {"logs", {"a", "b"}},
      {"checkpoint_epoch", 2},
      {"resumed_from_epoch", {1}},
      {"new_version", 4},
      {"held_back", true},
      {"best_score", 0.5},
      {"parent_score",
       0.7}}.dump();
  j = RetrainingJson(job);
  EXPECT_EQ(j["progress"]["epochs_done"], 2);
  EXPECT_EQ(j["epochs"].size(), 3u);
  EXPECT_EQ(j["logs"], (json{"a", "b"}));
  EXPECT_EQ(j["checkpoint_epoch"], 2);
  EXPECT_EQ(j["resumed_from_epoch"], (json{1}));
  EXPECT_EQ(j["new_version"], 4);
  EXPECT_EQ(j["held_back"], true);
  // Lists leave the log out.
  EXPECT_FALSE(RetrainingJson(job, /*with_logs=*/false).contains("logs"));
}

}  // namespace
}  // namespace infera
