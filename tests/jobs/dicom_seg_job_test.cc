// The job side of DICOM SEG output on a real SQLite store and blob store: which segments
// a runner's masks make, one SEG per series from the results' class masks, and a second
// run of the same job (a resume after a crash) writing nothing twice.
#include "jobs/dicom_seg_job.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "datasets/ingest.h"
#include "dicom/dicom_image.h"
#include "imaging/codec.h"
#include "jobs/inference_jobs.h"
#include "jobs/inference_record.h"
#include "store/sqlite_store.h"
#include "support/dicom_fixtures.h"
#include "support/dicom_seg_check.h"
#include "support/pydicom_files.h"
#include "support/status_matchers.h"
#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using testing::ReadBytes;

ModelDescription Model(std::vector<std::string> labels) {
  ModelDescription m;
  m.name = "m";
  m.labels = std::move(labels);
  return m;
}

TEST(MaskSegmentsTest, ByRunnerAndLabels) {
  Image mask = MakeImage(4, 1, 1, PixelType::kUInt8);
  mask.pixels<uint8_t>()[0] = 1;
  mask.pixels<uint8_t>()[1] = 7;
  const std::vector<const Image*> masks = {&mask};

  auto binary = MaskSegments("binary_sigmoid", Model({}), masks);
  ASSERT_EQ(binary.size(), 1u);
  EXPECT_EQ(binary[0].value, 255u);
  EXPECT_EQ(binary[0].label, "foreground");
  EXPECT_EQ(MaskSegments("binary_sigmoid", Model({"bg", "tumour"}), masks)[0].label, "tumour");
  EXPECT_EQ(MaskSegments("binary_sigmoid", Model({"lesion"}), masks)[0].label, "lesion");
  auto cells = MaskSegments("cellpose", Model({}), masks);
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].label, "cell");
  EXPECT_EQ(cells[0].value, 255u);

  // Every label after the background, present or not; values above the labels named.
  auto classes = MaskSegments("multiclass_argmax", Model({"background", "red", "green"}), masks);
  ASSERT_EQ(classes.size(), 3u);
  EXPECT_EQ(classes[0].label, "red");
  EXPECT_EQ(classes[0].value, 1u);
  EXPECT_EQ(classes[1].label, "green");
  EXPECT_EQ(classes[1].value, 2u);
  EXPECT_EQ(classes[2].label, "class 7");
  EXPECT_EQ(classes[2].value, 7u);
  EXPECT_EQ(classes[0].color, LabelColor(1));
  // Without labels: the values present.
  auto unlabeled = MaskSegments("custom_tiff", Model({}), masks);
  ASSERT_EQ(unlabeled.size(), 2u);
  EXPECT_EQ(unlabeled[0].label, "class 1");
  EXPECT_EQ(unlabeled[1].label, "class 7");
  Image empty = MakeImage(4, 1, 1, PixelType::kUInt8);
  EXPECT_TRUE(MaskSegments("custom_tiff", Model({}), {&empty}).empty());
  EXPECT_TRUE(MaskSegments("multiclass_argmax", Model({"background"}), {&empty}).empty());
}

// A MakeDicomFiles script (support/dicom_fixtures.h): ct_1..ct_3.dcm, one series at
// z = 10, -20, 0 (stored out of order); mr.dcm another.
constexpr char kMakeFiles[] = R"(
write_ct_series([10.0, -20.0, 0.0])
read('MR_small.dcm').save_as(os.path.join(OUT, 'mr.dcm'))
)";

class DicomSegJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(testing::HavePydicom()) << "needs /usr/bin/python3 with pydicom and numpy";
    ASSERT_TRUE(testing::MakeDicomFiles(tmp_.path(), kMakeFiles));
    ASSERT_OK_AND_ASSIGN(store_, OpenSqliteStore(tmp_.path() / "infera.db"));
    ASSERT_OK_AND_ASSIGN(blobs_, OpenFsBlobStore(tmp_.path() / "blobs"));
    DatasetRecord d;
    d.name = "d";
    ASSERT_OK_AND_ASSIGN(DatasetRecord dataset, store_->CreateDataset(d));
    dataset_ = dataset.id;
  }

  FileRecord AddSource(const std::string& name, const std::string& content_type) {
    const std::vector<std::byte> bytes = ReadBytes(tmp_.path() / name);
    StatusOr<BlobInfo> blob = blobs_->Put(bytes);
    EXPECT_TRUE(blob.ok()) << blob.status();
    FileRecord f;
    f.dataset_id = dataset_;
    f.filename = name;
    f.content_type = content_type;
    f.sha256 = blob->sha256;
    f.size = blob->size;
    StatusOr<FileRecord> added = store_->AddFile(f);
    EXPECT_TRUE(added.ok()) << added.status();
    return *added;
  }

  // A claimed inference job of `runner` over the dataset.
  int64_t StartJob(const std::string& runner) {
    InferenceRecord job;
    job.dataset_id = dataset_;
    job.model_name = "tiny";
    job.model_version = 2;
    job.runner_name = runner;
    StatusOr<InferenceRecord> created = CreateInference(*store_, job);
    EXPECT_TRUE(created.ok()) << created.status();
    StatusOr<std::optional<JobRecord>> claimed = store_->ClaimJob("w", 60000, {});
    EXPECT_TRUE(claimed.ok() && claimed->has_value());
    return created->id;
  }

  // A result for `source` with a class mask of `width` x `height` where the pixels
  // [0, n) are `value`.
  Image AddResult(int64_t job, const FileRecord& source, int width, int height, int n,
                  uint8_t value, const std::string& error = "") {
    Image mask = MakeImage(width, height, 1, PixelType::kUInt8);
    for (int i = 0; i < n; ++i) mask.pixels<uint8_t>()[i] = value;
    JobResultRecord result;
    result.job_id = job;
    result.source_file_id = source.id;
    result.error = error;
    std::vector<FileRecord> outputs;
    if (error.empty()) {
      StatusOr<std::vector<std::byte>> png = EncodePng(mask);
      EXPECT_TRUE(png.ok());
      StatusOr<BlobInfo> blob = blobs_->Put(*png);
      FileRecord f;
      f.role = "class_mask";
      f.filename = source.filename + "_mask.png";
      f.content_type = "image/png";
      f.sha256 = blob->sha256;
      f.size = blob->size;
      outputs.push_back(f);
    }
    EXPECT_TRUE(store_->AddJobResult(result, outputs, "w").ok());
    return mask;
  }

  DicomSegJob Job(int64_t id, const std::string& runner) {
    DicomSegJob job;
    job.job_id = id;
    job.dataset_id = dataset_;
    job.runner = runner;
    job.model_name = "tiny";
    job.model_version = 2;
    job.model = &model_;
    job.worker = "w";
    return job;
  }

  testing::TempDir tmp_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<BlobStore> blobs_;
  int64_t dataset_ = 0;
  ModelDescription model_ = Model({});
};

TEST_F(DicomSegJobTest, OneSegPerSeriesWrittenOnceAcrossRuns) {
  const FileRecord ct1 = AddSource("ct_1.dcm", std::string(kDicomContentType));
  const FileRecord ct2 = AddSource("ct_2.dcm", std::string(kDicomContentType));
  const FileRecord ct3 = AddSource("ct_3.dcm", std::string(kDicomContentType));
  const FileRecord mr = AddSource("mr.dcm", std::string(kDicomContentType));
  const int64_t job = StartJob("binary_sigmoid");
  AddResult(job, ct1, 128, 128, 100, 255);
  AddResult(job, ct2, 128, 128, 0, 0);
  AddResult(job, ct3, 128, 128, 0, 0, "cannot decode");  // left out of the SEG
  AddResult(job, mr, 64, 64, 64 * 64, 255);

  ASSERT_OK_AND_ASSIGN(DicomSegOutput first,
                       WriteJobDicomSegs(*store_, *blobs_, Job(job, "binary_sigmoid")));
  EXPECT_TRUE(first.skipped.empty());
  ASSERT_EQ(first.files.size(), 2u) << first.files;
  ASSERT_OK_AND_ASSIGN(std::vector<FileRecord> files, store_->ListJobFiles(job, "dicom_seg"));
  ASSERT_EQ(files.size(), 2u);
  ASSERT_OK_AND_ASSIGN(DicomInstanceInfo ct_info,
                       ReadDicomInfo(ReadBytes(tmp_.path() / "ct_1.dcm")));
  const nlohmann::json& ct = first.files[0];
  EXPECT_EQ(ct["series_uid"], ct_info.series_instance_uid);
  EXPECT_EQ(ct["filename"], ct_info.series_instance_uid + ".seg.dcm");
  EXPECT_EQ(ct["frames"], 1);  // only ct_1 has foreground
  EXPECT_EQ(ct["segments"],
            nlohmann::json::parse(R"([{"number":1,"label":"foreground","value":255}])"));
  for (const FileRecord& f : files) {
    EXPECT_EQ(f.content_type, "application/dicom");
    EXPECT_EQ(f.result_id, 0);
    EXPECT_EQ(f.job_id, job);
  }

  // The CT series' SEG: valid, two of its three instances (ct_3 failed), pixel for pixel.
  ASSERT_OK_AND_ASSIGN(fs::path ct_path, blobs_->LocalPath(files[0].sha256));
  testing::DciodvfyReport report = testing::RunDciodvfy(ct_path);
  ASSERT_TRUE(report.ran);
  EXPECT_TRUE(report.errors.empty()) << report.output;
  testing::PydicomSeg read = testing::ReadSegWithPydicom(ct_path);
  ASSERT_TRUE(read.ok) << read.error;
  EXPECT_EQ(read.header["referenced_instances"].size(), 2u);
  EXPECT_EQ(read.header["segments"][0]["algorithm_name"], "tiny");
  EXPECT_EQ(read.header["segments"][0]["algorithm_version"], "2");
  ASSERT_EQ(read.masks[1].size(), 1u);
  std::vector<uint8_t> expected(128 * 128, 0);
  std::fill(expected.begin(), expected.begin() + 100, 1);
  EXPECT_EQ(read.masks[1][ct_info.sop_instance_uid], expected);

  // A second run (the job resumed after a crash): nothing new, the same entries.
  ASSERT_OK_AND_ASSIGN(DicomSegOutput second,
                       WriteJobDicomSegs(*store_, *blobs_, Job(job, "binary_sigmoid")));
  EXPECT_EQ(second.files, first.files);
  ASSERT_OK_AND_ASSIGN(std::vector<FileRecord> after, store_->ListJobFiles(job, "dicom_seg"));
  EXPECT_EQ(after.size(), 2u);
  // The SEG's UIDs are the job's: derived, not random.
  testing::PydicomSeg again = testing::ReadSegWithPydicom(ct_path);
  EXPECT_EQ(again.header["sop_instance_uid"], read.header["sop_instance_uid"]);

  // Without the lease: FailedPrecondition, nothing written.
  ASSERT_OK(store_->FinishJob(job, "w", JobStatus::kCompleted, "", "{}"));
  const FileRecord ct_again = ct1;
  const int64_t job2 = StartJob("binary_sigmoid");
  AddResult(job2, ct_again, 128, 128, 5, 255);
  DicomSegJob lost = Job(job2, "binary_sigmoid");
  lost.worker = "someone else";
  EXPECT_EQ(WriteJobDicomSegs(*store_, *blobs_, lost).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_OK_AND_ASSIGN(std::vector<FileRecord> none, store_->ListJobFiles(job2, "dicom_seg"));
  EXPECT_TRUE(none.empty());
}

TEST_F(DicomSegJobTest, NoSegWithoutDicomInputOrClassMasks) {
  const FileRecord png = AddSource("ct_1.dcm", "image/png");  // not DICOM as far as the store knows
  const int64_t job = StartJob("binary_sigmoid");
  AddResult(job, png, 128, 128, 10, 255);
  ASSERT_OK_AND_ASSIGN(DicomSegOutput out,
                       WriteJobDicomSegs(*store_, *blobs_, Job(job, "binary_sigmoid")));
  EXPECT_TRUE(out.files.empty());

  // A mask that does not fit its image: that series is skipped, with the reason.
  const FileRecord mr = AddSource("mr.dcm", std::string(kDicomContentType));
  AddResult(job, mr, 32, 32, 10, 255);
  ASSERT_OK_AND_ASSIGN(DicomSegOutput skipped,
                       WriteJobDicomSegs(*store_, *blobs_, Job(job, "binary_sigmoid")));
  EXPECT_TRUE(skipped.files.empty());
  ASSERT_EQ(skipped.skipped.size(), 1u);
  EXPECT_NE(skipped.skipped[0].find("32 x 32"), std::string::npos) << skipped.skipped[0];
}

// InferenceJobs::DicomSegFiles, which /export?format=dicom_seg answers with.
TEST_F(DicomSegJobTest, TheExportRulesOfTheJobService) {
  ModelRegistry models;
  InferenceJobs jobs(store_.get(), &models, /*workers=*/nullptr);
  const Caller anyone;  // auth off
  EXPECT_EQ(jobs.DicomSegFiles(anyone, 987654).status().code(), absl::StatusCode::kNotFound);

  // A dataset without DICOM: 400.
  DatasetRecord other;
  other.name = "pngs";
  ASSERT_OK_AND_ASSIGN(DatasetRecord pngs, store_->CreateDataset(other));
  InferenceRecord on_pngs;
  on_pngs.dataset_id = pngs.id;
  on_pngs.model_name = "tiny";
  on_pngs.model_version = 1;
  on_pngs.runner_name = "binary_sigmoid";
  ASSERT_OK_AND_ASSIGN(InferenceRecord png_job, CreateInference(*store_, on_pngs));
  Status not_dicom = jobs.DicomSegFiles(anyone, png_job.id).status();
  EXPECT_EQ(not_dicom.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(not_dicom.message()).find("did not run on DICOM input"), std::string::npos)
      << not_dicom;

  // On DICOM, not completed yet: 409; completed with files: the files; completed without:
  // 404.
  const FileRecord mr = AddSource("mr.dcm", std::string(kDicomContentType));
  InferenceRecord on_dicom = on_pngs;
  on_dicom.dataset_id = dataset_;
  ASSERT_OK_AND_ASSIGN(InferenceRecord queued, CreateInference(*store_, on_dicom));
  Status running = jobs.DicomSegFiles(anyone, queued.id).status();
  EXPECT_EQ(running.code(), absl::StatusCode::kFailedPrecondition) << running;
  EXPECT_NE(std::string(running.message()).find("when it completes"), std::string::npos);

  // The oldest queued job (the PNG one) is claimed first.
  ASSERT_OK_AND_ASSIGN(std::optional<JobRecord> first, store_->ClaimJob("w", 60000, {}));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->id, png_job.id);
  ASSERT_OK(store_->FinishJob(png_job.id, "w", JobStatus::kCompleted, "", "{}"));
  ASSERT_OK_AND_ASSIGN(std::optional<JobRecord> claimed, store_->ClaimJob("w", 60000, {}));
  ASSERT_TRUE(claimed.has_value());
  EXPECT_EQ(claimed->id, queued.id);
  AddResult(queued.id, mr, 64, 64, 10, 255);
  ASSERT_OK(WriteJobDicomSegs(*store_, *blobs_, Job(queued.id, "binary_sigmoid")).status());
  ASSERT_OK(store_->FinishJob(queued.id, "w", JobStatus::kCompleted, "", "{}"));
  ASSERT_OK_AND_ASSIGN(std::vector<FileRecord> files, jobs.DicomSegFiles(anyone, queued.id));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].role, "dicom_seg");

  ASSERT_OK_AND_ASSIGN(InferenceRecord classifier, CreateInference(*store_, on_dicom));
  ASSERT_OK_AND_ASSIGN(std::optional<JobRecord> c, store_->ClaimJob("w", 60000, {}));
  ASSERT_TRUE(c.has_value());
  ASSERT_OK(store_->FinishJob(classifier.id, "w", JobStatus::kCompleted, "", "{}"));
  Status none = jobs.DicomSegFiles(anyone, classifier.id).status();
  EXPECT_EQ(none.code(), absl::StatusCode::kNotFound) << none;
  EXPECT_NE(std::string(none.message()).find("made no class mask"), std::string::npos);
}

}  // namespace
}  // namespace infera
