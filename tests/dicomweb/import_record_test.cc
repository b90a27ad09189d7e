#include "dicomweb/import_record.h"

#include <gtest/gtest.h>

#include "support/status_matchers.h"

namespace infera {
namespace {

TEST(DicomwebImportRecordTest, SpecRoundTripsAndTheJsonNeverShowsTheSealedCredentials) {
  DicomwebImportSpec spec;
  spec.url = "http://pacs:8042/dicom-web";
  spec.series_uid = "1.2.3";
  spec.anonymize = true;
  spec.auth_type = "basic";
  spec.auth_sealed = "SEALED-BLOB";
  ASSERT_OK_AND_ASSIGN(JobRecord job, DicomwebImportJob(spec, 4, 9));
  EXPECT_EQ(job.kind, "dicomweb_import");
  EXPECT_EQ(job.dataset_id, 9);
  ASSERT_OK_AND_ASSIGN(DicomwebImportSpec read, DicomwebImportSpecOf(job));
  EXPECT_EQ(read.url, spec.url);
  EXPECT_EQ(read.series_uid, "1.2.3");
  EXPECT_TRUE(read.anonymize);
  EXPECT_EQ(read.auth_sealed, "SEALED-BLOB");

  job.id = 5;
  job.done = 2;
  job.total = 3;
  job.report_json = R"({"listed": true, "instances": 3,
      "imported": [{"sop_instance_uid": "1.1", "file_id": 11, "already_stored": false},
                   {"sop_instance_uid": "1.2", "file_id": 12, "already_stored": true}],
      "refused": [{"sop_instance_uid": "1.3", "error": "truncated"}]})";
  const nlohmann::json j = DicomwebImportJson(job);
  EXPECT_EQ(j["import_id"], 5);
  EXPECT_EQ(j["auth"], nlohmann::json({{"type", "basic"}, {"redacted", true}}));
  EXPECT_EQ(j.dump().find("SEALED-BLOB"), std::string::npos);
  EXPECT_EQ(j["progress"], nlohmann::json({{"instances_done", 2}, {"instances", 3}}));
  EXPECT_EQ(j["imported"], 2);
  EXPECT_EQ(j["already_stored"], 1);
  EXPECT_EQ(j["file_ids"], nlohmann::json({11, 12}));
  EXPECT_EQ(j["refused"].size(), 1u);
  EXPECT_TRUE(j["study_uid"].is_null());

  // Before the instances are listed: no count yet.
  job.report_json = "{}";
  EXPECT_TRUE(DicomwebImportJson(job)["progress"]["instances"].is_null());
}

TEST(DicomwebImportRecordTest, RefusesIncompleteSpecsAndOtherKinds) {
  DicomwebImportSpec spec;
  spec.url = "http://pacs";
  EXPECT_FALSE(DicomwebImportJob(spec, 1, 1).ok());  // no UID
  spec.study_uid = "1.2";
  EXPECT_FALSE(DicomwebImportJob(spec, 1, 0).ok());  // no dataset
  JobRecord other;
  other.kind = "inference";
  EXPECT_FALSE(DicomwebImportSpecOf(other).ok());
  JobRecord broken;
  broken.kind = "dicomweb_import";
  broken.spec_json = R"({"url": 3})";
  EXPECT_FALSE(DicomwebImportSpecOf(broken).ok());
}

}  // namespace
}  // namespace infera
