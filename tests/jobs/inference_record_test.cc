// InferenceRecord <-> JobRecord, the inference wrappers over the job queue, and the
// API's JSON of a result (result files as rows, the four legacy keys always present).
#include "jobs/inference_record.h"

#include <gtest/gtest.h>

#include "store/sqlite_store.h"
#include "support/status_matchers.h"
#include "support/test_env.h"

namespace infera {
namespace {

using absl::StatusCode;

InferenceRecord Seg(int64_t dataset_id) {
  InferenceRecord r;
  r.owner_id = 4;
  r.dataset_id = dataset_id;
  r.model_name = "seg";
  r.model_version = 3;
  r.runner_name = "binary_sigmoid";
  r.params_json = R"({"threshold":0.4})";
  return r;
}

TEST(InferenceRecordTest, RoundTripsThroughAJobOfKindInference) {
  ASSERT_OK_AND_ASSIGN(JobRecord job, InferenceJob(Seg(7)));
  EXPECT_EQ(job.kind, "inference");
  EXPECT_EQ(job.owner_id, 4);
  EXPECT_EQ(job.dataset_id, 7);
  job.id = 12;
  job.failed_items = 2;
  job.report_json = R"({"wall_ms":5})";
  ASSERT_OK_AND_ASSIGN(InferenceRecord back, InferenceOf(job));
  EXPECT_EQ(back.id, 12);
  EXPECT_EQ(back.model_name, "seg");
  EXPECT_EQ(back.model_version, 3);
  EXPECT_EQ(back.runner_name, "binary_sigmoid");
  EXPECT_EQ(back.params_json, R"({"threshold":0.4})");
  EXPECT_EQ(back.failed_images, 2);
  EXPECT_EQ(back.timings_json, R"({"wall_ms":5})");
}

TEST(InferenceRecordTest, RefusesWhatIsNotAnInference) {
  InferenceRecord no_model = Seg(1);
  no_model.model_name.clear();
  EXPECT_EQ(StatusOf(InferenceJob(no_model)).code(), StatusCode::kInvalidArgument);
  InferenceRecord bad_params = Seg(1);
  bad_params.params_json = "[1]";
  EXPECT_EQ(StatusOf(InferenceJob(bad_params)).code(), StatusCode::kInvalidArgument);
  JobRecord other;
  other.kind = "retraining";
  other.spec_json = R"({"model":"seg"})";
  EXPECT_EQ(StatusOf(InferenceOf(other)).code(), StatusCode::kInvalidArgument);
  JobRecord no_spec;
  no_spec.kind = "inference";
  EXPECT_EQ(StatusOf(InferenceOf(no_spec)).code(), StatusCode::kInvalidArgument);
}

TEST(InferenceRecordTest, WrappersSeeOnlyInferencesAndNameThemSo) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenSqliteStore(dir.path() / "infera.db"));
  DatasetRecord d;
  d.name = "d";
  ASSERT_OK_AND_ASSIGN(DatasetRecord ds, store->CreateDataset(d));
  ASSERT_OK_AND_ASSIGN(InferenceRecord created, CreateInference(*store, Seg(ds.id)));
  JobRecord other;
  other.kind = "retraining";
  ASSERT_OK_AND_ASSIGN(JobRecord retrain, store->CreateJob(other));

  ASSERT_OK_AND_ASSIGN(InferenceRecord got, GetInference(*store, created.id));
  EXPECT_EQ(got.model_name, "seg");
  EXPECT_EQ(got.status, JobStatus::kQueued);
  // Another kind of job is no inference: the same answer as an unknown id.
  for (int64_t id : {retrain.id, int64_t{999}}) {
    Status s = GetInference(*store, id).status();
    EXPECT_EQ(s.code(), StatusCode::kNotFound);
    EXPECT_EQ(std::string(s.message()), "inference " + std::to_string(id) + " not found");
    EXPECT_EQ(CancelInference(*store, id).status().code(), StatusCode::kNotFound);
  }
  ASSERT_OK_AND_ASSIGN(std::vector<InferenceRecord> listed, ListInferences(*store, {}));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id, created.id);

  ASSERT_OK_AND_ASSIGN(InferenceRecord canceled, CancelInference(*store, created.id));
  EXPECT_EQ(canceled.status, JobStatus::kCanceled);
  Status again = CancelInference(*store, created.id).status();
  EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(again.message()),
            "inference " + std::to_string(created.id) + " is already canceled");
}

TEST(InferenceRecordTest, ResultJsonNamesEveryResultFileByKind) {
  JobResultRecord r;
  r.source_file_id = 3;
  r.source_filename = "a.png";
  FileRecord mask;
  mask.id = 10;
  mask.role = "class_mask";
  FileRecord seg;
  seg.id = 11;
  seg.role = "dicom_seg";
  r.files = {mask, seg};
  const nlohmann::json j = ResultJson(r);
  EXPECT_EQ(j["class_mask_id"], 10);
  EXPECT_EQ(j["dicom_seg_id"], 11);
  EXPECT_TRUE(j["instance_mask_id"].is_null());
  EXPECT_TRUE(j["preview_id"].is_null());
  EXPECT_TRUE(j["probability_id"].is_null());
  EXPECT_TRUE(j["error"].is_null());
}

// Issue 22 item 1: stored text that is not UTF-8 never makes a job's JSON fail.
TEST(InferenceRecordTest, StoredTextThatIsNotUtf8IsRepairedOnRead) {
  InferenceRecord job;
  job.note = "failed on \xFF";
  job.model_name = "m\xFE";
  EXPECT_NO_THROW((void)InferenceJson(job).dump());
  EXPECT_EQ(InferenceJson(job)["note"], "failed on \xEF\xBF\xBD");
  JobResultRecord r;
  r.source_filename = "\xFE.png";
  r.error = "cannot decode \xFE.png";
  EXPECT_NO_THROW((void)ResultJson(r).dump());
  EXPECT_EQ(ResultJson(r)["source_filename"], "\xEF\xBF\xBD.png");
}

}  // namespace
}  // namespace infera
