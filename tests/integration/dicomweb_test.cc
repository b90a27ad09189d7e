// DICOMweb with a real PACS (issue 21): Orthanc with its DICOMweb plugin, started by the
// test (tests/support/orthanc_server.h), holds pydicom's CT_small and MR_small and a
// multi-instance CT series made with pydicom at test time. infera imports them with the
// durable dicomweb_import job (QIDO-RS + WADO-RS), the dataset's series and decoded pixel
// values are checked against pydicom, a model job runs on them and its DICOM objects are
// stored in a second Orthanc with STOW-RS and found there with QIDO-RS. Also: a wrong
// password fails the job with the PACS's 401 (the credentials never shown), an
// unreachable PACS and an unknown study fail with their reasons, a cancel mid-import
// stops it, and dicomweb.allowed_hosts refuses other hosts.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "dicomweb/import_job_handler.h"
#include "store/blob_store.h"
#include "store/sqlite_store.h"
#include "support/dicom_fixtures.h"
#include "support/orthanc_server.h"
#include "support/pydicom_files.h"
#include "support/server_fixture.h"
#include "support/status_matchers.h"

namespace infera::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A MakeDicomFiles script (support/dicom_fixtures.h) that writes into OUT: CT_small.dcm
// and MR_small.dcm (as pydicom ships them), multi_1..4.dcm (CT_small's pixels, each slice
// offset by its index, as a new series of CT_small's study; InstanceNumber against the
// position order), big/NNN.dcm (120 instances of one series of another study, for the
// cancel) and uids.json.
constexpr char kMakeFiles[] = R"(
import json, shutil
for name in ['CT_small.dcm', 'MR_small.dcm']:
    shutil.copy(os.path.join(SRC, name), os.path.join(OUT, name))
mr = read('MR_small.dcm')
multi = CT.SeriesInstanceUID + '.7'
for i, ds in ct_slices([5.0 * i for i in range(1, 5)], '.7%d'):
    ds.SeriesInstanceUID = multi
    ds.InstanceNumber = 5 - i
    ds.PixelData = (CT.pixel_array + i).astype(CT.pixel_array.dtype).tobytes()
    ds.save_as(os.path.join(OUT, 'multi_%d.dcm' % i))
os.makedirs(os.path.join(OUT, 'big'))
big_study, big_series = CT.StudyInstanceUID + '.8', CT.SeriesInstanceUID + '.8'
for i in range(120):
    ds = ct_copy('.8%03d' % i)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = big_study, big_series
    ds.InstanceNumber = i + 1
    ds.save_as(os.path.join(OUT, 'big', '%03d.dcm' % i))
json.dump({'ct_study': CT.StudyInstanceUID, 'ct_series': CT.SeriesInstanceUID,
           'ct_sop': CT.SOPInstanceUID,
           'multi_series': multi, 'mr_study': mr.StudyInstanceUID,
           'mr_series': mr.SeriesInstanceUID, 'big_study': big_study,
           'big_series': big_series}, open(os.path.join(OUT, 'uids.json'), 'w'))
)";

// argv[1:]: pairs of files; exits 1 unless each pair has the same modality values
// (pixel_array with the modality LUT applied) and the same SOP Instance UID.
constexpr char kSamePixels[] = R"(
import sys, numpy, pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut
args = sys.argv[1:]
for a, b in zip(args[0::2], args[1::2]):
    x, y = pydicom.dcmread(a), pydicom.dcmread(b)
    if x.SOPInstanceUID != y.SOPInstanceUID:
        sys.exit('%s: SOP Instance UID %s != %s' % (b, x.SOPInstanceUID, y.SOPInstanceUID))
    vx, vy = apply_modality_lut(x.pixel_array, x), apply_modality_lut(y.pixel_array, y)
    if vx.shape != vy.shape or not numpy.array_equal(vx, vy):
        sys.exit('%s: modality values differ from %s' % (b, a))
)";

class DicomwebTest : public ServerFixture {
 protected:
  static void SetUpTestSuite() {
    StartSuiteServer({"tiny_cls", "tiny_unet"}, "jobs: {lease_s: 5}\n");
    files_ = new TempDir();
    made_ = MakeDicomFiles(files_->path(), kMakeFiles);
    if (made_) uids_ = new json(json::parse(ReadFile(files_->path() / "uids.json")));
  }
  static void TearDownTestSuite() {
    StopSuiteServer();
    delete files_;
    delete uids_;
  }
  void SetUp() override {
    ServerFixture::SetUp();
    ASSERT_TRUE(HavePydicom()) << "needs /usr/bin/python3 with pydicom (python3-pydicom)";
    ASSERT_TRUE(made_);
  }

  static std::string File(const std::string& name) { return ReadFile(files_->path() / name); }
  static std::string Uid(const std::string& key) { return (*uids_)[key].get<std::string>(); }

  // Orthanc holding CT_small, MR_small and the multi series (and `big` when asked).
  std::unique_ptr<OrthancServer> StartPacs(const OrthancOptions& options = {}, bool big = false) {
    StatusOr<std::unique_ptr<OrthancServer>> pacs = OrthancServer::Start(options);
    EXPECT_TRUE(pacs.ok()) << pacs.status();
    if (!pacs.ok()) return nullptr;
    std::vector<std::string> names = {"CT_small.dcm", "MR_small.dcm", "multi_1.dcm",
                                      "multi_2.dcm",  "multi_3.dcm",  "multi_4.dcm"};
    if (big) {
      for (int i = 0; i < 120; ++i) {
        char name[32];
        std::snprintf(name, sizeof(name), "big/%03d.dcm", i);
        names.push_back(name);
      }
    }
    for (const std::string& name : names) {
      StatusOr<std::string> id = (*pacs)->Upload(File(name));
      EXPECT_TRUE(id.ok()) << name << ": " << id.status();
    }
    return std::move(*pacs);
  }

  int64_t CreateDataset(const std::string& name) {
    HttpResponse r = Post("/api/datasets", json{{"name", name}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body).value("id", int64_t{0});
  }
  // Starts an import; its id (0 when refused).
  int64_t StartImport(int64_t dataset, const json& body) {
    HttpResponse r = Post("/api/datasets/" + std::to_string(dataset) + "/import/dicomweb",
                          body.dump(), {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 202) << r.body;
    return json::parse(r.body, nullptr, false).value("import_id", int64_t{0});
  }
  json WaitForImport(int64_t id, std::chrono::seconds limit = std::chrono::seconds(60)) {
    json job;
    for (auto until = std::chrono::steady_clock::now() + limit;
         std::chrono::steady_clock::now() < until;
         std::this_thread::sleep_for(std::chrono::milliseconds(20))) {
      HttpResponse r = Get("/api/dicomweb/imports/" + std::to_string(id));
      EXPECT_EQ(r.status, 200) << r.body;
      job = json::parse(r.body, nullptr, false);
      const std::string status = job.is_object() ? job.value("status", "") : "";
      if (status == "completed" || status == "failed" || status == "canceled") return job;
    }
    ADD_FAILURE() << "import " << id << " did not finish: " << job.dump();
    return job;
  }
  json Series(int64_t dataset) {
    HttpResponse r = Get("/api/datasets/" + std::to_string(dataset) + "/series");
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body)["series"];
  }

  static TempDir* files_;
  static bool made_;
  static json* uids_;
};

TempDir* DicomwebTest::files_ = nullptr;
bool DicomwebTest::made_ = false;
json* DicomwebTest::uids_ = nullptr;

TEST_F(DicomwebTest, ImportRunAndStowBackRoundTrip) {
  std::unique_ptr<OrthancServer> pacs = StartPacs();
  ASSERT_NE(pacs, nullptr);
  const int64_t dataset = CreateDataset("from pacs");

  // The CT study (CT_small's series and the multi series) by study UID ...
  const int64_t study =
      StartImport(dataset, {{"url", pacs->dicomweb_url()}, {"study_uid", Uid("ct_study")}});
  json job = WaitForImport(study);
  ASSERT_EQ(job["status"], "completed") << job;
  EXPECT_EQ(job["progress"]["instances"], 5);
  EXPECT_EQ(job["progress"]["instances_done"], 5);
  EXPECT_EQ(job["imported"], 5);
  EXPECT_TRUE(job["refused"].empty()) << job;
  EXPECT_EQ(job["auth"], nullptr);
  // ... and MR_small by series UID alone (its study looked up).
  const int64_t mr =
      StartImport(dataset, {{"url", pacs->dicomweb_url()}, {"series_uid", Uid("mr_series")}});
  json mr_job = WaitForImport(mr);
  ASSERT_EQ(mr_job["status"], "completed") << mr_job;
  EXPECT_EQ(mr_job["imported"], 1);

  // The imports are listed with the dataset.
  HttpResponse list = Get("/api/dicomweb/imports?dataset_id=" + std::to_string(dataset));
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(json::parse(list.body)["imports"].size(), 2u);

  // Three series; the multi series in slice order (position, not InstanceNumber).
  json series = Series(dataset);
  ASSERT_EQ(series.size(), 3u) << series;
  const json* multi = nullptr;
  for (const json& s : series) {
    if (s["series_instance_uid"] == Uid("multi_series")) multi = &s;
  }
  ASSERT_NE(multi, nullptr) << series;
  EXPECT_EQ((*multi)["ordered_by"], "position");
  ASSERT_EQ((*multi)["files"].size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ((*multi)["files"][i]["image_position"][2], 5.0 * (i + 1)) << *multi;
  }

  // Stored files hold the PACS's instances: the same modality values as pydicom reads
  // from the files the test made.
  std::vector<std::string> pairs;
  TempDir got;
  for (const json& s : series) {
    for (const json& f : s["files"]) {
      HttpResponse bytes = Get("/api/files/" + std::to_string(f["id"].get<int64_t>()));
      ASSERT_EQ(bytes.status, 200);
      const fs::path path = got.path() / (f["sop_instance_uid"].get<std::string>() + ".dcm");
      WriteFile(path, bytes.body);
      std::string original = "CT_small.dcm";
      if (s["series_instance_uid"] == Uid("mr_series")) original = "MR_small.dcm";
      if (s["series_instance_uid"] == Uid("multi_series")) {
        const std::string uid = f["sop_instance_uid"];
        original = "multi_" + uid.substr(uid.size() - 1) + ".dcm";
      }
      pairs.push_back((files_->path() / original).string());
      pairs.push_back(path.string());
    }
  }
  ASSERT_EQ(pairs.size(), 12u);
  EXPECT_TRUE(RunPython(got.path(), kSamePixels, pairs));

  // Importing the study again stores nothing twice (same bytes, same name).
  json again = WaitForImport(
      StartImport(dataset, {{"url", pacs->dicomweb_url()}, {"study_uid", Uid("ct_study")}}));
  ASSERT_EQ(again["status"], "completed") << again;
  EXPECT_EQ(again["already_stored"], 5);
  HttpResponse ds = Get("/api/datasets/" + std::to_string(dataset));
  EXPECT_EQ(json::parse(ds.body)["files"].size(), 6u);

  // A model job on the imported series.
  HttpResponse start =
      Post("/api/inferences/start", json{{"dataset_id", dataset}, {"model_id", "tiny_cls"}}.dump());
  ASSERT_EQ(start.status, 202) << start.body;
  const int64_t inference = json::parse(start.body)["inference_id"];
  json done = WaitForJob(inference);
  ASSERT_EQ(done["status"], "completed") << done;

  // STOW-RS into a second PACS, found there with QIDO-RS.
  StatusOr<std::unique_ptr<OrthancServer>> other = OrthancServer::Start();
  ASSERT_OK(other.status());
  HttpResponse exported = Post("/api/inferences/" + std::to_string(inference) + "/export/dicomweb",
                               json{{"url", (*other)->dicomweb_url()}, {"role", "source"}}.dump());
  ASSERT_EQ(exported.status, 200) << exported.body;
  json report = json::parse(exported.body);
  EXPECT_EQ(report["stored"], 6) << report;
  EXPECT_EQ(report["failed"], 0) << report;
  ASSERT_EQ(report["objects"].size(), 6u);
  for (const json& o : report["objects"]) EXPECT_EQ(o["status"], "stored") << o;
  StatusOr<HttpResponse> found =
      (*other)->Send("GET", "/dicom-web/series?SeriesInstanceUID=" + Uid("multi_series"), "",
                     {{"Accept", "application/dicom+json"}});
  ASSERT_OK(found.status());
  ASSERT_EQ(found->status, 200) << found->body;
  json qido = json::parse(found->body);
  ASSERT_EQ(qido.size(), 1u) << qido;
  EXPECT_EQ(qido[0]["0020000E"]["Value"][0], Uid("multi_series"));
  StatusOr<HttpResponse> instances = (*other)->Send(
      "GET",
      "/dicom-web/studies/" + Uid("ct_study") + "/series/" + Uid("multi_series") + "/instances", "",
      {{"Accept", "application/dicom+json"}});
  ASSERT_OK(instances.status());
  EXPECT_EQ(json::parse(instances->body).size(), 4u);

  // A segmentation job writes a DICOM SEG per series; STOW-RS sends them (the default
  // role, dicom_seg) back to the PACS the images came from, where QIDO-RS finds them.
  HttpResponse seg_start = Post("/api/inferences/start",
                                json{{"dataset_id", dataset}, {"model_id", "tiny_unet"}}.dump());
  ASSERT_EQ(seg_start.status, 202) << seg_start.body;
  const int64_t seg_job = json::parse(seg_start.body)["inference_id"];
  json seg_done = WaitForJob(seg_job);
  ASSERT_EQ(seg_done["status"], "completed") << seg_done;
  const json segs =
      json::parse(Get("/api/inferences/" + std::to_string(seg_job)).body)["dicom_seg"];
  ASSERT_GE(segs.size(), 1u) << seg_done;
  HttpResponse seg_export = Post("/api/inferences/" + std::to_string(seg_job) + "/export/dicomweb",
                                 json{{"url", pacs->dicomweb_url()}}.dump());
  ASSERT_EQ(seg_export.status, 200) << seg_export.body;
  json seg_report = json::parse(seg_export.body);
  EXPECT_EQ(seg_report["stored"], segs.size()) << seg_report;
  EXPECT_EQ(seg_report["failed"], 0) << seg_report;
  StatusOr<HttpResponse> seg_found = pacs->Send("GET", "/dicom-web/series?Modality=SEG", "",
                                                {{"Accept", "application/dicom+json"}});
  ASSERT_OK(seg_found.status());
  ASSERT_EQ(seg_found->status, 200) << seg_found->body;
  json seg_series = json::parse(seg_found->body);
  ASSERT_EQ(seg_series.size(), segs.size()) << seg_series;
  for (const json& s : seg_series) EXPECT_EQ(s["00080060"]["Value"][0], "SEG") << s;

  // Exporting to a PACS that is not there: 502 with the reason.
  HttpResponse gone =
      Post("/api/inferences/" + std::to_string(inference) + "/export/dicomweb",
           json{{"url", "http://127.0.0.1:9/dicom-web"}, {"role", "source"}}.dump());
  ExpectError(gone, 502, "cannot reach the PACS");
}

TEST_F(DicomwebTest, WrongPasswordFailsTheJobWithThe401AndCredentialsStayHidden) {
  std::unique_ptr<OrthancServer> pacs = StartPacs({.users = {{"alice", "s3cret-pw"}}});
  ASSERT_NE(pacs, nullptr);
  const int64_t dataset = CreateDataset("auth");
  const int64_t wrong = StartImport(
      dataset, {{"url", pacs->dicomweb_url()},
                {"series_uid", Uid("mr_series")},
                {"auth", {{"type", "basic"}, {"username", "alice"}, {"password", "wrong-pw"}}}});
  json failed = WaitForImport(wrong);
  EXPECT_EQ(failed["status"], "failed") << failed;
  EXPECT_NE(failed["note"].get<std::string>().find("401"), std::string::npos) << failed;
  EXPECT_NE(failed["note"].get<std::string>().find("credentials"), std::string::npos) << failed;
  EXPECT_EQ(failed["auth"], json({{"type", "basic"}, {"redacted", true}}));

  const int64_t right = StartImport(
      dataset, {{"url", pacs->dicomweb_url()},
                {"series_uid", Uid("mr_series")},
                {"auth", {{"type", "basic"}, {"username", "alice"}, {"password", "s3cret-pw"}}}});
  json ok = WaitForImport(right);
  EXPECT_EQ(ok["status"], "completed") << ok;
  EXPECT_EQ(ok["imported"], 1);
  // No answer shows the password (nor the base64 of user:password).
  for (const std::string& target :
       {"/api/dicomweb/imports/" + std::to_string(right),
        "/api/dicomweb/imports/" + std::to_string(wrong), std::string("/api/dicomweb/imports")}) {
    HttpResponse r = Get(target);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body.find("s3cret-pw"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("wrong-pw"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("YWxpY2U6"), std::string::npos) << r.body;  // base64("alice:")
  }
  // Without credentials: 401 too.
  json none = WaitForImport(
      StartImport(dataset, {{"url", pacs->dicomweb_url()}, {"series_uid", Uid("mr_series")}}));
  EXPECT_EQ(none["status"], "failed");
  EXPECT_NE(none["note"].get<std::string>().find("401"), std::string::npos) << none;
}

TEST_F(DicomwebTest, UnreachablePacsAndUnknownUidsFailWithTheirReason) {
  std::unique_ptr<OrthancServer> pacs = StartPacs();
  ASSERT_NE(pacs, nullptr);
  const int64_t dataset = CreateDataset("errors");
  json unreachable = WaitForImport(StartImport(
      dataset, {{"url", "http://127.0.0.1:9/dicom-web"}, {"study_uid", Uid("ct_study")}}));
  EXPECT_EQ(unreachable["status"], "failed");
  EXPECT_NE(unreachable["note"].get<std::string>().find("cannot reach the PACS"), std::string::npos)
      << unreachable;
  json study = WaitForImport(
      StartImport(dataset, {{"url", pacs->dicomweb_url()}, {"study_uid", "1.2.3.4.5.6.7"}}));
  EXPECT_EQ(study["status"], "failed");
  EXPECT_NE(study["note"].get<std::string>().find("1.2.3.4.5.6.7"), std::string::npos) << study;
  json series = WaitForImport(
      StartImport(dataset, {{"url", pacs->dicomweb_url()}, {"series_uid", "1.2.3.4.5.6.8"}}));
  EXPECT_EQ(series["status"], "failed");
  EXPECT_NE(series["note"].get<std::string>().find("no series 1.2.3.4.5.6.8"), std::string::npos)
      << series;
  // Not a DICOMweb service (Orthanc's root without /dicom-web): the job says what came back.
  json wrong =
      WaitForImport(StartImport(dataset, {{"url", pacs->url()}, {"study_uid", Uid("ct_study")}}));
  EXPECT_EQ(wrong["status"], "failed") << wrong;
  HttpResponse ds = Get("/api/datasets/" + std::to_string(dataset));
  EXPECT_TRUE(json::parse(ds.body)["files"].empty());
}

TEST_F(DicomwebTest, CancelMidImportStopsItAndKeepsWhatWasImported) {
  std::unique_ptr<OrthancServer> pacs = StartPacs({}, /*big=*/true);
  ASSERT_NE(pacs, nullptr);
  const int64_t dataset = CreateDataset("cancel");
  const int64_t id =
      StartImport(dataset, {{"url", pacs->dicomweb_url()}, {"series_uid", Uid("big_series")}});
  // Cancel once the first instances are in.
  json job;
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       std::chrono::steady_clock::now() < until;
       std::this_thread::sleep_for(std::chrono::milliseconds(2))) {
    job = json::parse(Get("/api/dicomweb/imports/" + std::to_string(id)).body);
    if (job["progress"]["instances_done"].get<int64_t>() >= 1 ||
        (job["status"] != "queued" && job["status"] != "running")) {
      break;
    }
  }
  ASSERT_EQ(job["status"], "running") << job;
  HttpResponse cancel = Post("/api/dicomweb/imports/" + std::to_string(id) + "/cancel", "");
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  json end = WaitForImport(id);
  EXPECT_EQ(end["status"], "canceled") << end;
  const int64_t imported = end["imported"];
  EXPECT_GE(imported, 1);
  EXPECT_LT(imported, 120) << end;
  EXPECT_EQ(end["progress"]["instances"], 120);
  HttpResponse ds = Get("/api/datasets/" + std::to_string(dataset));
  EXPECT_EQ(json::parse(ds.body)["files"].size(), static_cast<size_t>(imported));
  // A finished import cannot be canceled again.
  EXPECT_EQ(Post("/api/dicomweb/imports/" + std::to_string(id) + "/cancel", "").status, 409);
}

TEST_F(DicomwebTest, AnonymizedImportStoresNoPatientData) {
  std::unique_ptr<OrthancServer> pacs = StartPacs();
  ASSERT_NE(pacs, nullptr);
  const int64_t dataset = CreateDataset("anon");
  json job = WaitForImport(StartImport(
      dataset,
      {{"url", pacs->dicomweb_url()}, {"series_uid", Uid("mr_series")}, {"anonymize", true}}));
  ASSERT_EQ(job["status"], "completed") << job;
  EXPECT_EQ(job["anonymize"], true);
  json series = Series(dataset);
  ASSERT_EQ(series.size(), 1u);
  // Pseudonymous UIDs: neither the series nor the instance keeps the PACS's.
  EXPECT_NE(series[0]["series_instance_uid"], Uid("mr_series"));
  EXPECT_TRUE(series[0]["files"][0]["filename"].get<std::string>().starts_with("2.25."));
  HttpResponse bytes =
      Get("/api/files/" + std::to_string(series[0]["files"][0]["id"].get<int64_t>()));
  const std::string original = File("MR_small.dcm");
  EXPECT_EQ(bytes.body.find("CompressedSamples^MR1"), std::string::npos);
  EXPECT_NE(original.find("CompressedSamples^MR1"), std::string::npos);
}

// A job that comes back (its worker died or the server stopped) skips the instances its
// report names: they are not fetched again. Run on the handler itself, with the report a
// killed first run would have left.
TEST_F(DicomwebTest, ResumedImportDoesNotFetchWhatItAlreadyDid) {
  std::unique_ptr<OrthancServer> pacs = StartPacs();
  ASSERT_NE(pacs, nullptr);
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenSqliteStore(dir.path() / "infera.db"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobStore> blobs, OpenFsBlobStore(dir.path() / "blobs"));
  DatasetRecord d;
  d.name = "resume";
  ASSERT_OK_AND_ASSIGN(DatasetRecord dataset, store->CreateDataset(d));
  CredentialSealer sealer("a test secret of enough bytes");
  DicomwebImportJobHandler handler(store.get(), blobs.get(), &sealer,
                                   {.dicomweb = {}, .ingest = {}, .tmp_dir = dir.path() / "tmp"});
  DicomwebImportSpec spec;
  spec.url = pacs->dicomweb_url();
  spec.study_uid = Uid("ct_study");
  ASSERT_OK_AND_ASSIGN(JobRecord job, DicomwebImportJob(spec, 0, dataset.id));
  ASSERT_OK_AND_ASSIGN(JobRecord created, store->CreateJob(job));
  ASSERT_OK_AND_ASSIGN(std::optional<JobRecord> claimed,
                       store->ClaimJob("w", 60000, {std::string(kDicomwebImportJobKind)}));
  ASSERT_TRUE(claimed.has_value());
  const json earlier = {
      {"listed", true},
      {"instances", 5},
      {"imported", {{{"sop_instance_uid", Uid("ct_sop")}, {"file_id", 999}}}},
      {"refused", {{{"sop_instance_uid", Uid("ct_sop") + ".71"}, {"error", "earlier"}}}}};
  ASSERT_OK(store->UpdateJobProgress(created.id, "w", 2, 5, earlier.dump()));
  ASSERT_OK_AND_ASSIGN(JobRecord resumed, store->GetJob(created.id));
  JobContext ctx(
      store.get(), &SystemClock(), "w", resumed, {}, [] { return uint64_t{0}; },
      [] { return false; });
  JobOutcome outcome = handler.Run(ctx);
  EXPECT_EQ(outcome.status, JobStatus::kCompleted) << outcome.note;
  const json report = json::parse(outcome.report_json);
  EXPECT_EQ(report["imported"].size(), 4u) << report;  // 1 earlier + 3 fetched now
  EXPECT_EQ(report["refused"].size(), 1u) << report;
  // Only the three instances not named were fetched and stored.
  ASSERT_OK_AND_ASSIGN(std::vector<FileRecord> files, store->ListDatasetFiles(dataset.id));
  ASSERT_EQ(files.size(), 3u);
  for (const FileRecord& f : files) {
    EXPECT_NE(f.filename, Uid("ct_sop") + ".dcm");
    EXPECT_NE(f.filename, Uid("ct_sop") + ".71.dcm");
  }
}

TEST(DicomwebAllowedHostsTest, HostsOutsideTheListAreRefused) {
  TempDir dir;
  std::unique_ptr<Server> server = StartServer(
      dir.path(), "dicomweb: {allowed_hosts: [pacs.example.org]}\nstorage: {path: data}\n");
  ASSERT_NE(server, nullptr);
  HttpClient client;
  ASSERT_OK(client.Connect("127.0.0.1", server->port()));
  ASSERT_OK_AND_ASSIGN(HttpResponse created,
                       client.Send("POST", "/api/datasets", R"({"name": "d"})"));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = std::to_string(json::parse(created.body)["id"].get<int64_t>());
  ASSERT_OK_AND_ASSIGN(
      HttpResponse refused,
      client.Send("POST", "/api/datasets/" + id + "/import/dicomweb",
                  R"({"url": "http://127.0.0.1:8042/dicom-web", "study_uid": "1.2.3"})"));
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_NE(refused.body.find("allowed_hosts"), std::string::npos) << refused.body;
  ASSERT_OK_AND_ASSIGN(
      HttpResponse allowed,
      client.Send("POST", "/api/datasets/" + id + "/import/dicomweb",
                  R"({"url": "http://PACS.example.org/dicom-web", "study_uid": "1.2.3"})"));
  EXPECT_EQ(allowed.status, 202) << allowed.body;
}

}  // namespace
}  // namespace infera::testing
