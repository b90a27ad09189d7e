// DICOM in datasets over HTTP: uploads of .dcm files and ZIPs of series, the per-series
// view (grouped by SeriesInstanceUID, ordered along the slice normal), anonymisation on
// upload, per-file refusals (truncated, JPEG 2000, a size that does not fit its series)
// with nothing half stored, and jobs that run the model on the windowed image.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "support/dicom_fixtures.h"
#include "support/multipart_body.h"
#include "support/pydicom_files.h"
#include "support/server_fixture.h"

namespace infera::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A MakeDicomFiles script (support/dicom_fixtures.h) that writes into OUT: ct_1..ct_3.dcm
// (CT_small's pixels as three slices of one series, InstanceNumber against the position
// order), mr.dcm (another series), odd.dcm (MR's 64x64 pixels claiming the CT series),
// phi.dcm (CT with patient data) and series.zip.
constexpr char kMakeFiles[] = R"(
import zipfile
write_ct_series([10.0, -20.0, 0.0], numbers=[3, 1, 2], SeriesDescription='AXIAL 5MM')
mr = read('MR_small.dcm')
mr.save_as(os.path.join(OUT, 'mr.dcm'))
mr.SeriesInstanceUID = CT.SeriesInstanceUID
mr.SOPInstanceUID = mr.SOPInstanceUID + '.9'
mr.save_as(os.path.join(OUT, 'odd.dcm'))
phi = copy.deepcopy(CT)
phi.PatientName = 'DOE^JANE'
phi.PatientID = 'MRN-0042'
phi.InstitutionName = 'General Hospital'
phi.save_as(os.path.join(OUT, 'phi.dcm'))
with zipfile.ZipFile(os.path.join(OUT, 'series.zip'), 'w') as z:
    for name in ['ct_1.dcm', 'ct_2.dcm', 'ct_3.dcm', 'mr.dcm']:
        z.write(os.path.join(OUT, name), 'study/' + name)
)";

class DicomDatasetsTest : public ServerFixture {
 protected:
  static void SetUpTestSuite() {
    StartSuiteServer({"tiny_cls"}, "jobs: {lease_s: 5}\n");
    files_ = new TempDir();
    made_ = MakeDicomFiles(files_->path(), kMakeFiles);
  }
  static void TearDownTestSuite() {
    StopSuiteServer();
    delete files_;
  }
  void SetUp() override {
    ServerFixture::SetUp();
    if (!HavePydicom()) GTEST_SKIP() << "needs /usr/bin/python3 with pydicom";
    ASSERT_TRUE(made_);
  }

  static std::string File(const std::string& name) { return ReadFile(files_->path() / name); }
  static std::string TestFile(const std::string& name) {
    return ReadFile(PydicomTestFiles() / name);
  }

  int64_t CreateDataset(const std::string& name) {
    HttpResponse r = Post("/api/datasets", json{{"name", name}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body).value("id", int64_t{0});
  }
  HttpResponse Upload(int64_t dataset, const std::vector<FormPart>& parts,
                      const std::string& query = "") {
    return Post("/api/datasets/" + std::to_string(dataset) + "/files" + query, MultipartBody(parts),
                {{"Content-Type", MultipartContentType()}});
  }
  json Series(int64_t dataset) {
    HttpResponse r = Get("/api/datasets/" + std::to_string(dataset) + "/series");
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body);
  }
  json Files(int64_t dataset) {
    HttpResponse r = Get("/api/datasets/" + std::to_string(dataset));
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body)["files"];
  }

  static TempDir* files_;
  static bool made_;
};

TempDir* DicomDatasetsTest::files_ = nullptr;
bool DicomDatasetsTest::made_ = false;

TEST_F(DicomDatasetsTest, ZipOfSeriesIsGroupedAndOrdered) {
  const int64_t id = CreateDataset("series");
  HttpResponse r = Post("/api/datasets/" + std::to_string(id) + "/archive", File("series.zip"),
                        {{"Content-Type", "application/zip"}});
  ASSERT_EQ(r.status, 201) << r.body;
  json body = json::parse(r.body);
  EXPECT_EQ(body["files"].size(), 4u);
  EXPECT_TRUE(body["errors"].empty()) << body["errors"];
  for (const json& f : body["files"]) {
    EXPECT_EQ(f["type"], "application/dicom") << f;
  }
  json series = Series(id)["series"];
  ASSERT_EQ(series.size(), 2u) << series;
  const json* ct = nullptr;
  for (const json& s : series) {
    if (s["modality"] == "CT") ct = &s;
  }
  ASSERT_NE(ct, nullptr);
  EXPECT_EQ((*ct)["ordered_by"], "position");
  EXPECT_EQ((*ct)["series_description"], "AXIAL 5MM");
  EXPECT_EQ((*ct)["rows"], 128);
  ASSERT_EQ((*ct)["pixel_spacing"].size(), 2u);
  ASSERT_EQ((*ct)["files"].size(), 3u);
  // z = -20, 0, 10: ct_2, ct_3, ct_1 (InstanceNumber 1, 2, 3 here, by construction).
  EXPECT_EQ((*ct)["files"][0]["filename"], "ct_2.dcm");
  EXPECT_EQ((*ct)["files"][1]["filename"], "ct_3.dcm");
  EXPECT_EQ((*ct)["files"][2]["filename"], "ct_1.dcm");
  EXPECT_EQ((*ct)["files"][0]["image_position"][2], -20.0);
  // The thumbnail of a slice, windowed.
  const std::string slice = std::to_string((*ct)["files"][0]["id"].get<int64_t>());
  HttpResponse png = Get("/api/files/" + slice + "/thumbnail?window=lung");
  EXPECT_EQ(png.status, 200);
  EXPECT_EQ(png.body.substr(1, 3), "PNG");
  // Its modality values: HU, as pydicom's pixel_array * RescaleSlope + RescaleIntercept
  // (CT_small.dcm: -849 at (0, 0), -839 at row 10 column 20, 647 at row 64 column 50).
  HttpResponse values = Get("/api/files/" + slice + "/values");
  ASSERT_EQ(values.status, 200) << values.body;
  EXPECT_EQ(values.headers["x-width"], "128");
  EXPECT_EQ(values.headers["x-height"], "128");
  EXPECT_EQ(values.headers["x-channels"], "1");
  EXPECT_EQ(values.headers["x-unit"], "HU");
  ASSERT_EQ(values.body.size(), 128u * 128u * 4u);
  auto hu = [&](int row, int column) {
    float v = 0;
    std::memcpy(&v, values.body.data() + (static_cast<size_t>(row) * 128 + column) * 4, 4);
    return v;
  };
  EXPECT_EQ(hu(0, 0), -849.f);
  EXPECT_EQ(hu(10, 20), -839.f);
  EXPECT_EQ(hu(64, 50), 647.f);
  ExpectError(Get("/api/files/" + slice + "/values?frame=1"), 400, "out of range");
  ExpectError(Get("/api/files/" + slice + "/values?frame=x"), 400, "frame must be");
  HttpResponse own = Get("/api/files/" + slice + "/thumbnail?window=40,400");
  EXPECT_EQ(own.status, 200);
  EXPECT_NE(own.body, png.body);
  ExpectError(Get("/api/files/" + slice + "/thumbnail?window=liver"), 400, "unknown window");
  ExpectError(Get("/api/files/" + slice + "/thumbnail?frame=3"), 400, "out of range");
}

TEST_F(DicomDatasetsTest, BadFilesAreRefusedOneByOne) {
  const int64_t id = CreateDataset("bad");
  HttpResponse r = Upload(id, {{"files", "ct_1.dcm", File("ct_1.dcm")},
                               {"files", "MR_truncated.dcm", TestFile("MR_truncated.dcm")},
                               {"files", "JPEG2000.dcm", TestFile("JPEG2000.dcm")},
                               {"files", "odd.dcm", File("odd.dcm")},
                               {"files", "fake.dcm", std::string(128, '\0') + "DICMjunk"}});
  ASSERT_EQ(r.status, 201) << r.body;
  json body = json::parse(r.body);
  ASSERT_EQ(body["files"].size(), 1u);
  ASSERT_EQ(body["errors"].size(), 4u) << body;
  std::map<std::string, std::string> reasons;
  for (const json& e : body["errors"]) reasons[e["filename"]] = e["error"];
  EXPECT_NE(reasons["MR_truncated.dcm"].find("truncated"), std::string::npos);
  EXPECT_NE(reasons["JPEG2000.dcm"].find("JPEG 2000"), std::string::npos);
  EXPECT_NE(reasons["odd.dcm"].find("does not fit its series"), std::string::npos);
  EXPECT_NE(reasons["fake.dcm"].find("DICOM"), std::string::npos) << reasons["fake.dcm"];
  EXPECT_EQ(Files(id).size(), 1u);  // nothing of the refused files
  // All refused: 400, nothing stored.
  const int64_t empty = CreateDataset("none");
  HttpResponse none = Upload(empty, {{"files", "JPEG2000.dcm", TestFile("JPEG2000.dcm")}});
  EXPECT_EQ(none.status, 400);
  EXPECT_TRUE(Files(empty).empty());
}

TEST_F(DicomDatasetsTest, AnonymizeRemovesPatientDataOnUpload) {
  const int64_t id = CreateDataset("anon");
  HttpResponse r =
      Upload(id, {{"anonymize", "", "true"}, {"files", "DOE_JANE.dcm", File("phi.dcm")}});
  ASSERT_EQ(r.status, 201) << r.body;
  json file = json::parse(r.body)["files"][0];
  const std::string name = file["filename"];
  EXPECT_TRUE(name.starts_with("2.25.")) << name;  // the upload's name is not kept
  HttpResponse bytes = Get("/api/files/" + std::to_string(file["id"].get<int64_t>()));
  ASSERT_EQ(bytes.status, 200);
  for (const char* secret : {"DOE^JANE", "MRN-0042", "General Hospital"}) {
    EXPECT_EQ(bytes.body.find(secret), std::string::npos) << secret;
  }
  EXPECT_NE(bytes.body.find("ANONYMIZED"), std::string::npos);
  // Without the option the file is kept as sent.
  HttpResponse kept = Upload(id, {{"files", "plain.dcm", File("phi.dcm")}});
  ASSERT_EQ(kept.status, 201) << kept.body;
  EXPECT_EQ(json::parse(kept.body)["files"][0]["filename"], "plain.dcm");
  ExpectError(Upload(id, {{"anonymize", "", "maybe"}, {"files", "a.dcm", File("phi.dcm")}}), 400,
              "anonymize");
}

TEST_F(DicomDatasetsTest, JobsRunOnTheWindowedImage) {
  const int64_t id = CreateDataset("job");
  ASSERT_EQ(Upload(id, {{"files", "ct.dcm", File("ct_1.dcm")}}).status, 201);
  auto run = [&](const json& window) {
    json params = json::object();
    if (!window.is_null()) params["window"] = window;
    HttpResponse r =
        Post("/api/inferences/start",
             json{{"dataset_id", id}, {"model_id", "tiny_cls"}, {"params", params}}.dump());
    EXPECT_EQ(r.status, 202) << r.body;
    json job = WaitForJob(json::parse(r.body).value("inference_id", int64_t{0}));
    EXPECT_EQ(job["status"], "completed") << job;
    EXPECT_EQ(job["results"].size(), 1u);
    EXPECT_TRUE(job["results"][0]["error"].is_null() || job["results"][0]["error"] == "")
        << job["results"][0];
    return job;
  };
  const json lung = run("lung");
  const json bone = run(json::array({400, 1800}));
  const json file = run(nullptr);
  EXPECT_EQ(lung["params"]["window"], "lung");
  EXPECT_EQ(bone["params"]["window"], json::array({400.0, 1800.0}));
  // Different windows, different pixels for the model.
  EXPECT_NE(lung["results"][0]["summary"], bone["results"][0]["summary"]);
  HttpResponse bad = Post(
      "/api/inferences/start",
      json{{"dataset_id", id}, {"model_id", "tiny_cls"}, {"params", {{"window", "liver"}}}}.dump());
  ExpectError(bad, 400, "window");
}

}  // namespace
}  // namespace infera::testing
