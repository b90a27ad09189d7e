// DICOM SEG output over HTTP (issue 21): a job on DICOM uploads writes one Segmentation
// object per series; the job's JSON lists them, /export?format=dicom_seg and the job's
// ZIP carry them. Each SEG passes dicom3tools' dciodvfy without an "Error" line (its
// warnings are printed) and reads back with pydicom into the job's PNG class masks, pixel
// for pixel and segment by segment. Real models from build/test-models: tiny_unet
// (binary), tiny_multiclass (labels background/red/green), tiny_cls (no mask). A missing
// tool (dciodvfy, python3 with pydicom) fails the suite; nothing here is skipped.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "archive/zip_reader.h"
#include "imaging/codec.h"
#include "support/dicom_fixtures.h"
#include "support/dicom_seg_check.h"
#include "support/multipart_body.h"
#include "support/pydicom_files.h"
#include "support/server_fixture.h"

namespace infera::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A MakeDicomFiles script (support/dicom_fixtures.h) that writes into OUT: ct_1..ct_3.dcm
// (CT_small's pixels as three slices of one series, uploaded out of slice order), mr.dcm
// (MR_small, another series) and sc.dcm (a 2-frame RGB multi-frame true colour secondary
// capture, RLE: no frame of reference).
constexpr char kMakeFiles[] = R"(
write_ct_series([10.0, -20.0, 0.0], numbers=[1, 2, 3], PatientName='DOE^JANE')
read('MR_small.dcm').save_as(os.path.join(OUT, 'mr.dcm'))
multiframe_true_colour_sc().save_as(os.path.join(OUT, 'sc.dcm'))
)";

class DicomSegTest : public ServerFixture {
 protected:
  static void SetUpTestSuite() {
    StartSuiteServer({"tiny_unet", "tiny_multiclass", "tiny_cls"}, "jobs: {lease_s: 5}\n");
    files_ = new TempDir();
    made_ = MakeDicomFiles(files_->path(), kMakeFiles);
  }
  static void TearDownTestSuite() {
    StopSuiteServer();
    delete files_;
  }
  void SetUp() override {
    ServerFixture::SetUp();
    // Never skipped: the checks need these tools.
    ASSERT_TRUE(HavePydicom()) << "needs /usr/bin/python3 with pydicom and numpy";
    ASSERT_TRUE(fs::exists("/usr/bin/dciodvfy")) << "needs dicom3tools' dciodvfy";
    ASSERT_TRUE(made_);
  }

  static std::string File(const std::string& name) { return ReadFile(files_->path() / name); }

  // A dataset holding `names` (uploaded with `anonymize`).
  int64_t Dataset(const std::vector<std::string>& names, bool anonymize) {
    HttpResponse created = Post("/api/datasets", json{{"name", "seg"}}.dump());
    EXPECT_EQ(created.status, 201) << created.body;
    const int64_t id = json::parse(created.body).value("id", int64_t{0});
    std::vector<FormPart> parts;
    if (anonymize) parts.push_back({"anonymize", "", "true"});
    for (const std::string& n : names) parts.push_back({"files", n, File(n)});
    HttpResponse up = Post("/api/datasets/" + std::to_string(id) + "/files", MultipartBody(parts),
                           {{"Content-Type", MultipartContentType()}});
    EXPECT_EQ(up.status, 201) << up.body;
    EXPECT_EQ(json::parse(up.body)["files"].size(), names.size()) << up.body;
    return id;
  }

  json Run(int64_t dataset, const std::string& model) {
    HttpResponse r =
        Post("/api/inferences/start", json{{"dataset_id", dataset}, {"model_id", model}}.dump());
    EXPECT_EQ(r.status, 202) << r.body;
    json job = WaitForJob(json::parse(r.body).value("inference_id", int64_t{0}));
    EXPECT_EQ(job["status"], "completed") << job;
    return job;
  }

  // The dataset's series: series uid -> {study uid, file id -> SOP instance uid}.
  struct Series {
    std::string study;
    std::map<int64_t, std::string> sops;
  };
  std::map<std::string, Series> SeriesOf(int64_t dataset) {
    HttpResponse r = Get("/api/datasets/" + std::to_string(dataset) + "/series");
    EXPECT_EQ(r.status, 200) << r.body;
    std::map<std::string, Series> out;
    const json body = json::parse(r.body);
    for (const json& s : body["series"]) {
      Series& series = out[s["series_instance_uid"].get<std::string>()];
      series.study = s["study_instance_uid"].get<std::string>();
      for (const json& f : s["files"]) {
        series.sops[f["id"].get<int64_t>()] = f["sop_instance_uid"].get<std::string>();
      }
    }
    return out;
  }

  // The job's class masks by source file id.
  std::map<int64_t, Image> Masks(const json& job) {
    std::map<int64_t, Image> out;
    for (const json& r : job["results"]) {
      EXPECT_TRUE(r["class_mask_id"].is_number()) << r;
      if (!r["class_mask_id"].is_number()) continue;
      HttpResponse png = Get("/api/files/" + std::to_string(r["class_mask_id"].get<int64_t>()));
      EXPECT_EQ(png.status, 200);
      StatusOr<Image> mask =
          DecodeImage(std::as_bytes(std::span(png.body.data(), png.body.size())));
      EXPECT_TRUE(mask.ok()) << mask.status();
      if (mask.ok()) out[r["source_file_id"].get<int64_t>()] = std::move(*mask);
    }
    return out;
  }

  // Writes `bytes` as `name`, runs dciodvfy (no Error line) and reads it with pydicom.
  PydicomSeg Check(const std::string& bytes, const std::string& name) {
    const fs::path path = work_.path() / name;
    WriteFile(path, bytes);
    const DciodvfyReport report = RunDciodvfy(path);
    EXPECT_TRUE(report.ran) << "dciodvfy did not run";
    EXPECT_TRUE(report.errors.empty()) << report.output;
    for (const std::string& w : report.warnings)
      std::cout << "[dciodvfy " << name << "] " << w << "\n";
    PydicomSeg seg = ReadSegWithPydicom(path);
    EXPECT_TRUE(seg.ok) << seg.error;
    return seg;
  }

  // The entries of a ZIP body: name -> bytes.
  std::map<std::string, std::string> Unzip(const std::string& body) {
    const fs::path zip = work_.path() / "body.zip";
    WriteFile(zip, body);
    std::map<std::string, std::string> out;
    StatusOr<ZipReader> reader = ZipReader::Open(zip, ZipLimits{});
    EXPECT_TRUE(reader.ok()) << reader.status();
    if (!reader.ok()) return out;
    const fs::path tmp = work_.path() / "unzip";
    fs::create_directories(tmp);
    StatusOr<std::vector<ZipRefusal>> refused =
        reader->ForEachFile(tmp, [&](const ZipEntryInfo& info, const fs::path& file) -> Status {
          out[info.name] = ReadFile(file);
          return absl::OkStatus();
        });
    EXPECT_TRUE(refused.ok() && refused->empty());
    return out;
  }

  // Every segment's mask in `seg` equals the job's class mask == value, for every source
  // instance of the series (frames left out are all zero).
  void ExpectMasks(const PydicomSeg& seg, const Series& series, std::map<int64_t, Image>& masks,
                   const json& segments, int64_t* foreground) {
    for (const json& s : segments) {
      const int number = s["number"].get<int>();
      const uint32_t value = s["value"].get<uint32_t>();
      auto by_source = seg.masks.find(number);
      for (const auto& [file_id, sop] : series.sops) {
        ASSERT_TRUE(masks.count(file_id)) << file_id;
        const Image& mask = masks[file_id];
        std::vector<uint8_t> expected(static_cast<size_t>(mask.width) * mask.height);
        for (size_t i = 0; i < expected.size(); ++i) {
          const uint32_t v = mask.type == PixelType::kUInt8 ? mask.pixels<uint8_t>()[i]
                                                            : mask.pixels<uint16_t>()[i];
          expected[i] = v == value ? 1 : 0;
          *foreground += expected[i];
        }
        std::vector<uint8_t> actual(expected.size(), 0);
        if (by_source != seg.masks.end()) {
          auto it = by_source->second.find(sop);
          if (it != by_source->second.end()) actual = it->second;
        }
        EXPECT_EQ(actual, expected) << "segment " << number << " of source file " << file_id;
      }
    }
  }

  TempDir work_;
  static TempDir* files_;
  static bool made_;
};

TempDir* DicomSegTest::files_ = nullptr;
bool DicomSegTest::made_ = false;

TEST_F(DicomSegTest, BinaryModelWritesOneValidSegPerSeries) {
  const int64_t dataset =
      Dataset({"ct_1.dcm", "ct_2.dcm", "ct_3.dcm", "mr.dcm"}, /*anonymize=*/true);
  const std::map<std::string, Series> series = SeriesOf(dataset);
  ASSERT_EQ(series.size(), 2u);
  json job = Run(dataset, "tiny_unet");
  const int64_t id = job["id"];
  std::map<int64_t, Image> masks = Masks(job);
  ASSERT_EQ(masks.size(), 4u);

  // The job's JSON: one entry per series.
  ASSERT_EQ(job["dicom_seg"].size(), 2u) << job["dicom_seg"];
  std::map<std::string, json> entries;
  for (const json& e : job["dicom_seg"]) {
    EXPECT_TRUE(series.count(e["series_uid"].get<std::string>())) << e;
    EXPECT_EQ(e["filename"], e["series_uid"].get<std::string>() + ".seg.dcm");
    EXPECT_EQ(e["segments"], json::parse(R"([{"number":1,"label":"foreground","value":255}])"));
    entries[e["filename"].get<std::string>()] = e;
  }
  EXPECT_FALSE(job["timings"].contains("dicom_seg"));
  // Its export formats: the masks' and the SEG files (job_export_formats).
  EXPECT_EQ(job["export_formats"],
            json::array({"label_images", "coco", "cvat_xml", "cvat_seg_zip", "dicom_seg"}));

  // /export: several series, a ZIP of the SEG files.
  HttpResponse exported = Get("/api/inferences/" + std::to_string(id) + "/export?format=dicom_seg");
  ASSERT_EQ(exported.status, 200) << exported.body.substr(0, 300);
  EXPECT_EQ(exported.headers["content-type"], "application/zip");
  std::map<std::string, std::string> segs = Unzip(exported.body);
  ASSERT_EQ(segs.size(), 2u);
  int64_t foreground = 0;
  for (const auto& [name, bytes] : segs) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(entries.count(name));
    const json& entry = entries[name];
    const Series& s = series.at(entry["series_uid"].get<std::string>());
    // The same bytes as the stored file.
    HttpResponse file = Get("/api/files/" + std::to_string(entry["file_id"].get<int64_t>()));
    ASSERT_EQ(file.status, 200);
    EXPECT_EQ(file.body, bytes);
    EXPECT_EQ(file.headers["content-type"], "application/dicom");

    PydicomSeg seg = Check(bytes, name);
    ASSERT_TRUE(seg.ok);
    const json& h = seg.header;
    EXPECT_EQ(h["modality"], "SEG");
    EXPECT_EQ(h["sop_class_uid"], "1.2.840.10008.5.1.4.1.1.66.4");
    // The stored (anonymised) headers' patient and study.
    EXPECT_EQ(h["patient_name"], "ANONYMIZED");
    EXPECT_EQ(h["study_instance_uid"], s.study);
    EXPECT_NE(h["series_instance_uid"], entry["series_uid"]);
    std::set<std::string> referenced;
    for (const json& r : h["referenced_instances"]) referenced.insert(r.get<std::string>());
    std::set<std::string> sops;
    for (const auto& [file_id, sop] : s.sops) sops.insert(sop);
    EXPECT_EQ(referenced, sops);
    ASSERT_EQ(h["segments"].size(), 1u);
    EXPECT_EQ(h["segments"][0]["label"], "foreground");
    EXPECT_EQ(h["segments"][0]["algorithm_type"], "AUTOMATIC");
    EXPECT_EQ(h["segments"][0]["algorithm_name"], "tiny_unet");
    EXPECT_EQ(h["segments"][0]["algorithm_version"], "1");
    EXPECT_EQ(h["frames"], entry["frames"]);
    ExpectMasks(seg, s, masks, entry["segments"], &foreground);
  }
  EXPECT_GT(foreground, 0) << "the model segmented nothing: the comparison proves little";

  // The job's ZIP holds them under dicom_seg/.
  HttpResponse zip = Get("/api/inferences/" + std::to_string(id) + "/download");
  ASSERT_EQ(zip.status, 200);
  std::map<std::string, std::string> all = Unzip(zip.body);
  for (const auto& [name, bytes] : segs) {
    ASSERT_TRUE(all.count("dicom_seg/" + name)) << name;
    EXPECT_EQ(all["dicom_seg/" + name], bytes);
  }
}

TEST_F(DicomSegTest, LabelledModelOnAMultiFrameColourImageIsOneFile) {
  const int64_t dataset = Dataset({"sc.dcm"}, /*anonymize=*/false);
  const std::map<std::string, Series> series = SeriesOf(dataset);
  ASSERT_EQ(series.size(), 1u);
  json job = Run(dataset, "tiny_multiclass");
  std::map<int64_t, Image> masks = Masks(job);
  ASSERT_EQ(job["dicom_seg"].size(), 1u) << job["dicom_seg"];
  const json entry = job["dicom_seg"][0];
  EXPECT_EQ(entry["segments"], json::parse(R"([{"number":1,"label":"red","value":1},
                                               {"number":2,"label":"green","value":2}])"));
  // One series: the SEG file itself.
  HttpResponse exported = Get("/api/inferences/" + std::to_string(job["id"].get<int64_t>()) +
                              "/export?format=dicom_seg");
  ASSERT_EQ(exported.status, 200) << exported.body.substr(0, 300);
  EXPECT_EQ(exported.headers["content-type"], "application/dicom");
  EXPECT_NE(exported.headers["content-disposition"].find(entry["filename"].get<std::string>()),
            std::string::npos);
  PydicomSeg seg = Check(exported.body, "sc.seg.dcm");
  ASSERT_TRUE(seg.ok);
  ASSERT_EQ(seg.header["segments"].size(), 2u);
  EXPECT_EQ(seg.header["segments"][1]["label"], "green");
  EXPECT_EQ(seg.header["frame_of_reference_uid"], "");
  for (const json& f : seg.header["frame_info"]) {
    EXPECT_EQ(f["referenced_frames"], json::array({1})) << f;  // the frame the job ran
  }
  int64_t foreground = 0;
  ExpectMasks(seg, series.begin()->second, masks, entry["segments"], &foreground);
  EXPECT_GT(foreground, 0);
}

TEST_F(DicomSegTest, NoSegWithoutAClassMask) {
  const int64_t dataset = Dataset({"mr.dcm"}, /*anonymize=*/false);
  json job = Run(dataset, "tiny_cls");
  EXPECT_EQ(job["dicom_seg"], json::array());
  EXPECT_EQ(job["export_formats"], json::array({"labels_csv"}));  // no SEG to export
  const std::string target =
      "/api/inferences/" + std::to_string(job["id"].get<int64_t>()) + "/export?format=dicom_seg";
  ExpectError(Get(target), 404, "made no class mask");
}

}  // namespace
}  // namespace infera::testing
