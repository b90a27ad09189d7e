// Annotation sets on the real server with auth on: sets of a dataset, masks PUT as label
// PNGs (shape and labels checked) making numbered revisions, ownership (another user
// gets 404, an admin sees), a job's masks becoming a set, and import / export in every
// format with pixel-for-pixel round trips (Cellpose's own label images as the ground
// truth), bad uploads refused per file with reasons and nothing left behind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <thread>

#include "archive/zip_reader.h"
#include "archive/zip_writer.h"
#include "imaging/codec.h"
#include "support/auth_server_fixture.h"
#include "support/multipart_body.h"

namespace infera::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kAdminPassword = "admin-test-password";

std::span<const std::byte> Bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

Image Decode(const std::string& bytes) {
  StatusOr<Image> image = DecodeImage(Bytes(bytes));
  EXPECT_TRUE(image.ok()) << image.status();
  return image.ok() ? *image : Image{};
}

std::vector<int> Pixels(const Image& m) {
  std::vector<int> out;
  const size_t n = static_cast<size_t>(m.width) * m.height * m.channels;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(m.type == PixelType::kUInt8 ? m.pixels<uint8_t>()[i] : m.pixels<uint16_t>()[i]);
  }
  return out;
}

std::string Png(const Image& m) {
  auto bytes = EncodePng(m);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size())
                    : std::string();
}

// A ZIP of (name, bytes) entries.
std::string Zip(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out;
  ZipWriter writer([&](std::string_view bytes) {
    out.append(bytes);
    return absl::OkStatus();
  });
  for (const auto& [name, bytes] : entries) EXPECT_TRUE(writer.AddFile(name, bytes).ok());
  EXPECT_TRUE(writer.Finish().ok());
  return out;
}

// The entries of a ZIP body.
std::map<std::string, std::string> Unzip(const std::string& body, const fs::path& scratch) {
  const fs::path file = scratch / "download.zip";
  WriteFile(file, body);
  std::map<std::string, std::string> out;
  StatusOr<ZipReader> reader = ZipReader::Open(file, ZipLimits{});
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return out;
  fs::create_directories(scratch / "x");
  auto refused =
      reader->ForEachFile(scratch / "x", [&](const ZipEntryInfo& info, const fs::path& p) {
        out[info.name] = ReadFile(p);
        return absl::OkStatus();
      });
  EXPECT_TRUE(refused.ok() && refused->empty());
  return out;
}

class AnnotationsTest : public AuthServerFixture {
 protected:
  static void SetUpTestSuite() {
    StartSuiteServerWithUsers({"tiny_multiclass"}, "auth: {enabled: true, access_ttl_s: 600}\n",
                              kAdminPassword);
  }
  static void TearDownTestSuite() { StopSuiteServer(); }

  json JsonOf(const HttpResponse& r) { return json::parse(r.body, nullptr, false); }

  // A dataset of bob's with `files` (name -> bytes); returns its id and file ids by name.
  int64_t Dataset(const std::vector<std::pair<std::string, std::string>>& files,
                  std::map<std::string, int64_t>* ids) {
    HttpResponse d = As(bob_, "POST", "/api/datasets", json{{"name", "annotated"}}.dump());
    EXPECT_EQ(d.status, 201) << d.body;
    const int64_t id = JsonOf(d)["id"];
    std::vector<FormPart> parts;
    for (const auto& [name, bytes] : files) parts.push_back({"files", name, bytes});
    HttpResponse up = As(bob_, "POST", "/api/datasets/" + std::to_string(id) + "/files",
                         MultipartBody(parts), {{"Content-Type", MultipartContentType()}});
    EXPECT_EQ(up.status, 201) << up.body;
    const json uploaded = JsonOf(up);
    for (const json& f : uploaded["files"]) (*ids)[f["filename"].get<std::string>()] = f["id"];
    return id;
  }

  int64_t NewSet(int64_t dataset, const json& body) {
    HttpResponse r =
        As(bob_, "POST", "/api/datasets/" + std::to_string(dataset) + "/annotations", body.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return JsonOf(r).value("id", int64_t{0});
  }

  HttpResponse Import(int64_t set, const std::vector<FormPart>& parts) {
    return As(bob_, "POST", "/api/annotations/" + std::to_string(set) + "/import",
              MultipartBody(parts), {{"Content-Type", MultipartContentType()}});
  }

  // Bob's job at `job_url` once it is no longer queued or running (at most 60 s).
  json WaitForBobsJob(const std::string& job_url) {
    json job;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      job = JsonOf(As(bob_, "GET", job_url));
      if (job["status"] != "queued" && job["status"] != "running") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
    return job;
  }

  std::string MaskUrl(int64_t set, int64_t file) {
    return "/api/annotations/" + std::to_string(set) + "/images/" + std::to_string(file) + "/mask";
  }
};

json Labels() {
  return json::array(
      {{{"id", 1}, {"name", "cell"}, {"colour", "#ff0000"}}, {{"id", 2}, {"name", "nucleus"}}});
}

TEST_F(AnnotationsTest, MasksMakeRevisionsAndOnlyTheOwnerAndAdminsSeeThem) {
  std::map<std::string, int64_t> ids;
  const std::string square = ReadFile(TestModelsDir() / "images" / "square.png");
  const int64_t dataset = Dataset({{"square.png", square}}, &ids);
  const Image source = Decode(square);
  const int64_t file = ids["square.png"];
  const std::string base = "/api/datasets/" + std::to_string(dataset) + "/annotations";

  ExpectError(As(bob_, "POST", base, json{{"name", "gt"}}.dump()), 400, "'kind' is required");
  ExpectError(As(bob_, "POST", base, json{{"name", "gt"}, {"kind", "panoptic"}}.dump()), 400,
              "panoptic");
  ExpectError(As(bob_, "POST", base,
                 json{{"name", "gt"}, {"kind", "semantic"}, {"labels", {{{"id", 0}}}}}.dump()),
              400, "label 0");
  ExpectError(As(bob_, "POST", "/api/datasets/999999/annotations",
                 json{{"name", "gt"}, {"kind", "semantic"}}.dump()),
              404, "dataset 999999 not found");
  const int64_t set = NewSet(dataset, {{"name", "gt"}, {"kind", "semantic"}, {"labels", Labels()}});
  ExpectError(As(bob_, "POST", base, json{{"name", "gt"}, {"kind", "semantic"}}.dump()), 409,
              "already has an annotation set named 'gt'");
  const std::string set_url = "/api/annotations/" + std::to_string(set);
  ExpectError(As(bob_, "GET", MaskUrl(set, file)), 404, "has no mask");

  // Shape, channels and labels are checked.
  ExpectError(As(bob_, "PUT", MaskUrl(set, file), Png(MakeImage(3, 3, 1, PixelType::kUInt8))), 400,
              "the image is");
  ExpectError(As(bob_, "PUT", MaskUrl(set, file),
                 Png(MakeImage(source.width, source.height, 3, PixelType::kUInt8))),
              400, "3 channel(s)");
  Image mask = MakeImage(source.width, source.height, 1, PixelType::kUInt8);
  mask.pixels<uint8_t>()[0] = 7;
  ExpectError(As(bob_, "PUT", MaskUrl(set, file), Png(mask)), 400, "label 7");
  ExpectError(As(bob_, "PUT", MaskUrl(set, file), "not a png"), 400, "PNG or a TIFF");

  mask.pixels<uint8_t>()[0] = 1;
  HttpResponse put = As(bob_, "PUT", MaskUrl(set, file), Png(mask));
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(JsonOf(put)["revision"], 1);
  EXPECT_EQ(JsonOf(put)["origin"], "edit");
  EXPECT_EQ(JsonOf(put)["bit_depth"], 8);
  Image mask16 = MakeImage(source.width, source.height, 1, PixelType::kUInt16);
  mask16.pixels<uint16_t>()[5] = 2;
  put = As(bob_, "PUT", MaskUrl(set, file), Png(mask16));
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(JsonOf(put)["revision"], 2);

  HttpResponse got = As(bob_, "GET", MaskUrl(set, file));
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.content_type, "image/png");
  EXPECT_EQ(Pixels(Decode(got.body)), Pixels(mask16));
  got = As(bob_, "GET", MaskUrl(set, file) + "?revision=1");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(Pixels(Decode(got.body)), Pixels(mask));
  ExpectError(As(bob_, "GET", MaskUrl(set, file) + "?revision=9"), 404, "no revision 9");

  HttpResponse revisions =
      As(bob_, "GET", set_url + "/images/" + std::to_string(file) + "/revisions");
  ASSERT_EQ(revisions.status, 200);
  const json history = JsonOf(revisions)["revisions"];
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0]["revision"], 1);
  EXPECT_EQ(history[1]["bit_depth"], 16);
  EXPECT_EQ(history[0]["author_id"], history[1]["author_id"]);
  EXPECT_GT(history[0]["author_id"].get<int64_t>(), 0);

  const json listed = JsonOf(As(bob_, "GET", base));
  ASSERT_EQ(listed["annotation_sets"].size(), 1u);
  EXPECT_EQ(listed["annotation_sets"][0]["mask_count"], 1);
  EXPECT_EQ(listed["annotation_sets"][0]["labels"][1]["colour"], "#008000");  // VOC 2
  const json detail = JsonOf(As(bob_, "GET", set_url));
  ASSERT_EQ(detail["masks"].size(), 1u);
  EXPECT_EQ(detail["masks"][0]["revision"], 2);

  // Another user: every route answers as for an unknown id; an admin sees the set.
  ExpectError(As(eve_, "GET", set_url), 404, "annotation set");
  ExpectError(As(eve_, "GET", MaskUrl(set, file)), 404, "annotation set");
  ExpectError(As(eve_, "PUT", MaskUrl(set, file), Png(mask)), 404, "annotation set");
  ExpectError(As(eve_, "DELETE", set_url), 404, "annotation set");
  ExpectError(As(eve_, "GET", base), 404, "dataset");
  ExpectError(As(eve_, "GET", set_url + "/export?format=coco"), 404, "annotation set");
  EXPECT_EQ(As(admin_, "GET", set_url).status, 200);
  EXPECT_EQ(Send("GET", set_url).status, 401);

  // Unknown ids, files of other datasets, bad ids.
  ExpectError(As(bob_, "GET", "/api/annotations/999999"), 404, "annotation set 999999");
  ExpectError(As(bob_, "GET", MaskUrl(set, 999999)), 404, "file 999999");
  std::map<std::string, int64_t> other_ids;
  Dataset({{"other.png", square}}, &other_ids);
  ExpectError(As(bob_, "GET", MaskUrl(set, other_ids["other.png"])), 404, "not found");
  ExpectError(As(bob_, "GET", "/api/annotations/abc"), 400, "invalid annotation set id");

  // Deleting the set; then the dataset's deletion finds nothing of it.
  HttpResponse deleted = As(bob_, "DELETE", set_url);
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(JsonOf(deleted)["blobs_removed"], 2);
  ExpectError(As(bob_, "GET", set_url), 404, "annotation set");
}

TEST_F(AnnotationsTest, DeletingTheDatasetDeletesItsSets) {
  std::map<std::string, int64_t> ids;
  const std::string square = ReadFile(TestModelsDir() / "images" / "disk.png");  // this test's
  const int64_t dataset = Dataset({{"square.png", square}}, &ids);
  const Image source = Decode(square);
  const int64_t set = NewSet(dataset, {{"name", "gt"}, {"kind", "instances"}});
  Image mask = MakeImage(source.width, source.height, 1, PixelType::kUInt16);
  mask.pixels<uint16_t>()[3] = 4242;
  ASSERT_EQ(As(bob_, "PUT", MaskUrl(set, ids["square.png"]), Png(mask)).status, 201);
  HttpResponse deleted = As(bob_, "DELETE", "/api/datasets/" + std::to_string(dataset));
  ASSERT_EQ(deleted.status, 200);
  EXPECT_EQ(JsonOf(deleted)["blobs_removed"], 2);  // the image and the mask
  ExpectError(As(bob_, "GET", "/api/annotations/" + std::to_string(set)), 404, "annotation set");
}

TEST_F(AnnotationsTest, AJobsMasksBecomeASetAndExport) {
  std::map<std::string, int64_t> ids;
  const int64_t dataset =
      Dataset({{"rgb_regions.png", ReadFile(TestModelsDir() / "images" / "rgb_regions.png")},
               {"stripes.png", ReadFile(TestModelsDir() / "images" / "stripes.png")}},
              &ids);
  HttpResponse start = As(bob_, "POST", "/api/inferences/start",
                          json{{"dataset_id", dataset}, {"model_id", "tiny_multiclass"}}.dump());
  ASSERT_EQ(start.status, 202) << start.body;
  const int64_t job_id = JsonOf(start)["inference_id"];
  const std::string job_url = "/api/inferences/" + std::to_string(job_id);
  json job = WaitForBobsJob(job_url);
  ASSERT_EQ(job["status"], "completed") << job.dump();

  ExpectError(As(eve_, "POST", job_url + "/annotations", "{}"), 404, "inference");
  HttpResponse made = As(bob_, "POST", job_url + "/annotations", json{{"name", "pre"}}.dump());
  ASSERT_EQ(made.status, 201) << made.body;
  const json set = JsonOf(made)["annotation_set"];
  EXPECT_EQ(set["kind"], "semantic");
  EXPECT_EQ(set["name"], "pre");
  EXPECT_EQ(set["mask_count"], 2);
  // The model's labels (background, red, green) name the classes.
  ASSERT_EQ(set["labels"].size(), 2u);
  EXPECT_EQ(set["labels"][0]["name"], "red");
  EXPECT_EQ(set["labels"][1]["name"], "green");
  const json verdicts = JsonOf(made)["images"];
  for (const json& v : verdicts) EXPECT_EQ(v["status"], "added") << v.dump();

  const int64_t set_id = set["id"];
  for (const json& result : job["results"]) {
    const int64_t file = result["source_file_id"];
    HttpResponse mask = As(bob_, "GET", MaskUrl(set_id, file));
    ASSERT_EQ(mask.status, 200);
    HttpResponse job_mask =
        As(bob_, "GET", "/api/files/" + std::to_string(result["class_mask_id"].get<int64_t>()));
    EXPECT_EQ(mask.body, job_mask.body);  // the job's own blob
    const json revs = JsonOf(As(bob_, "GET",
                                "/api/annotations/" + std::to_string(set_id) + "/images/" +
                                    std::to_string(file) + "/revisions"));
    EXPECT_EQ(revs["revisions"][0]["origin"], "job:" + std::to_string(job_id));
  }

  // The job's masks exported straight away, as label images and as COCO.
  TempDir scratch;
  HttpResponse zip = As(bob_, "GET", job_url + "/export?format=label_images");
  ASSERT_EQ(zip.status, 200) << zip.body;
  const auto entries = Unzip(zip.body, scratch.path());
  ASSERT_TRUE(entries.count("masks/rgb_regions_mask.png"));
  ASSERT_TRUE(entries.count("labels.json"));
  HttpResponse coco = As(bob_, "GET", job_url + "/export?format=coco");
  ASSERT_EQ(coco.status, 200) << coco.body;
  EXPECT_EQ(JsonOf(coco)["images"].size(), 2u);
  ExpectError(As(bob_, "GET", job_url + "/export?format=png"), 400, "unknown format");
  ExpectError(As(bob_, "GET", job_url + "/export"), 400, "'format' is required");
  // The job names the formats its results export as: the mask formats.
  EXPECT_EQ(job["export_formats"],
            json::array({"label_images", "coco", "cvat_xml", "cvat_seg_zip"}));
}

// The job export's 400s name every format the route dispatches (one table,
// api/routes/job_export_formats), and each name they list is one the route knows: asked
// for it, the route answers it (a 200, or a 400 saying why not this job), never "unknown".
TEST_F(AnnotationsTest, TheJobExportErrorsListEveryFormatItTakes) {
  std::map<std::string, int64_t> ids;
  const int64_t dataset =
      Dataset({{"stripes.png", ReadFile(TestModelsDir() / "images" / "stripes.png")}}, &ids);
  HttpResponse start = As(bob_, "POST", "/api/inferences/start",
                          json{{"dataset_id", dataset}, {"model_id", "tiny_multiclass"}}.dump());
  ASSERT_EQ(start.status, 202) << start.body;
  const std::string job_url =
      "/api/inferences/" + std::to_string(JsonOf(start)["inference_id"].get<int64_t>());
  json job = WaitForBobsJob(job_url);
  ASSERT_EQ(job["status"], "completed") << job.dump();
  const std::vector<std::string> every = {"label_images", "coco",      "cvat_xml",
                                          "cvat_seg_zip", "dicom_seg", "labels_csv"};
  const std::string listed = "label_images, coco, cvat_xml, cvat_seg_zip, dicom_seg, labels_csv";
  HttpResponse unknown = As(bob_, "GET", job_url + "/export?format=pdf");
  ExpectError(unknown, 400, "unknown format 'pdf' (expected " + listed + ")");
  ExpectError(As(bob_, "GET", job_url + "/export"), 400, "'format' is required (" + listed + ")");
  ExpectError(As(bob_, "GET", job_url + "/export?format="), 400, "'format' is required");
  for (const std::string& format : every) {
    HttpResponse r = As(bob_, "GET", job_url + "/export?format=" + format);
    EXPECT_THAT(r.body, ::testing::Not(::testing::HasSubstr("unknown format"))) << format;
    EXPECT_TRUE(r.status == 200 || r.status == 400) << format << ": " << r.status << " " << r.body;
  }
  // Not a DICOM job, not a classifier: those two say why.
  ExpectError(As(bob_, "GET", job_url + "/export?format=dicom_seg"), 400, "DICOM");
  ExpectError(As(bob_, "GET", job_url + "/export?format=labels_csv"), 400,
              "not a classification job");
}

TEST_F(AnnotationsTest, ImportAndExportRoundTripInEveryFormat) {
  const json expected = json::parse(ReadFile(TestModelsDir() / "cellpose_expected.json"));
  std::vector<std::pair<std::string, std::string>> files;
  std::map<std::string, std::string> truth;  // image name -> its Cellpose label image
  for (size_t i = 0; i < 2; ++i) {
    const fs::path image = expected["images"][i]["image"].get<std::string>();
    files.push_back({image.filename().string(), ReadFile(TestModelsDir() / image)});
    truth[image.filename().string()] =
        ReadFile(TestModelsDir() / expected["images"][i]["masks"].get<std::string>());
  }
  std::map<std::string, int64_t> ids;
  const int64_t dataset = Dataset(files, &ids);
  const int64_t set = NewSet(dataset, {{"name", "cellpose truth"}, {"kind", "instances"}});

  // Cellpose's "<stem>_masks.png" in a ZIP, one entry outside the archive (a ZIP slip),
  // one for no image, one that is not an image.
  // The images themselves come along first (same stems): the masks win, the images are
  // refused.
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& [name, bytes] : files) entries.push_back({"images/" + name, bytes});
  for (const auto& [name, bytes] : truth) {
    entries.push_back({fs::path(name).stem().string() + "_masks.png", bytes});
  }
  entries.push_back({"xx/slip_masks.png", truth.begin()->second});
  entries.push_back({"nothing_masks.png", truth.begin()->second});
  std::string zip = Zip(entries);
  const size_t slip = zip.find("xx/slip_masks.png");
  ASSERT_NE(slip, std::string::npos);
  zip.replace(slip, 3, "../");
  const size_t central = zip.find("xx/slip_masks.png");
  ASSERT_NE(central, std::string::npos);
  zip.replace(central, 3, "../");
  HttpResponse imported = Import(set, {{"file", "masks.zip", zip, "application/zip"}});
  ASSERT_EQ(imported.status, 200) << imported.body;
  const json verdicts = JsonOf(imported);
  EXPECT_EQ(verdicts["imported"].size(), 2u) << verdicts.dump();
  ASSERT_EQ(verdicts["refused"].size(), 4u) << verdicts.dump();
  std::string reasons = verdicts["refused"].dump();
  EXPECT_NE(reasons.find("'..'"), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("no image of the dataset matches"), std::string::npos) << reasons;

  auto expect_truth = [&](int64_t set_id, const std::string& how) {
    for (const auto& [name, bytes] : truth) {
      HttpResponse mask = As(bob_, "GET", MaskUrl(set_id, ids[name]));
      ASSERT_EQ(mask.status, 200) << how << " " << mask.body;
      EXPECT_EQ(Pixels(Decode(mask.body)), Pixels(Decode(bytes))) << how << " " << name;
    }
  };
  expect_truth(set, "label images");

  const std::string set_url = "/api/annotations/" + std::to_string(set);
  TempDir scratch;
  const auto exported =
      Unzip(As(bob_, "GET", set_url + "/export?format=label_images").body, scratch.path());
  for (const auto& [name, bytes] : truth) {
    const std::string entry = "masks/" + fs::path(name).stem().string() + "_mask.png";
    ASSERT_TRUE(exported.count(entry)) << entry;
    EXPECT_EQ(Pixels(Decode(exported.at(entry))), Pixels(Decode(bytes)));
  }

  for (const std::string format : {"coco", "cvat_xml", "cvat_seg_zip"}) {
    HttpResponse out = As(bob_, "GET", set_url + "/export?format=" + format);
    ASSERT_EQ(out.status, 200) << out.body;
    const int64_t copy = NewSet(dataset, {{"name", "copy " + format}, {"kind", "instances"}});
    // The format guessed from the bytes, and named.
    HttpResponse back = Import(copy, {{"file", "annotations", out.body}});
    ASSERT_EQ(back.status, 200) << back.body;
    EXPECT_EQ(JsonOf(back)["imported"].size(), 2u) << back.body;
    expect_truth(copy, format);
    const int64_t named = NewSet(dataset, {{"name", "named " + format}, {"kind", "instances"}});
    back = Import(named, {{"format", "", format}, {"file", "annotations", out.body}});
    ASSERT_EQ(back.status, 200) << back.body;
    expect_truth(named, format + " (named)");
  }

  // An instance set keeps each instance's class across an edit of the mask.
  const std::string first = truth.begin()->first;
  const int64_t classed =
      NewSet(dataset, {{"name", "classed"}, {"kind", "instances"}, {"labels", Labels()}});
  json coco = JsonOf(As(bob_, "GET", set_url + "/export?format=coco"));
  for (json& a : coco["annotations"])
    a["category_id"] = a["attributes"]["instance_id"].get<int>() % 2 + 1;
  coco["categories"] = {{{"id", 1}, {"name", "cell"}}, {{"id", 2}, {"name", "nucleus"}}};
  ASSERT_EQ(Import(classed, {{"file", "c.json", coco.dump()}}).status, 200);
  const std::string revisions_url = "/api/annotations/" + std::to_string(classed) + "/images/" +
                                    std::to_string(ids[first]) + "/revisions";
  const json before = JsonOf(As(bob_, "GET", revisions_url))["revisions"][0]["classes"];
  ASSERT_FALSE(before.empty());
  EXPECT_EQ(before.begin().value().get<int>(), std::stoi(before.begin().key()) % 2 + 1);
  Image edited = Decode(truth.at(first));
  ASSERT_EQ(As(bob_, "PUT", MaskUrl(classed, ids[first]), Png(edited)).status, 201);
  const json after = JsonOf(As(bob_, "GET", revisions_url))["revisions"][1]["classes"];
  EXPECT_EQ(after, before);

  // Bad documents: refused with a reason, nothing written.
  const int64_t empty = NewSet(dataset, {{"name", "bad input"}, {"kind", "instances"}});
  HttpResponse bad = Import(empty, {{"file", "a.json", "{\"images\": "}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("not valid JSON"), std::string::npos) << bad.body;
  bad = Import(empty, {{"file", "a.xml",
                        "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x SYSTEM "
                        "\"file:///etc/passwd\">]><annotations>&x;</annotations>"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("DOCTYPE"), std::string::npos) << bad.body;
  const std::string name = truth.begin()->first;
  bad = Import(empty, {{"file", "c.json",
                        json{{"images", {{{"id", 1}, {"file_name", name}}}},
                             {"annotations",
                              {{{"id", 1},
                                {"image_id", 1},
                                {"category_id", 1},
                                {"segmentation", {{"size", {1, 1}}, {"counts", {1}}}}}}},
                             {"categories", {{{"id", 1}, {"name", "cell"}}}}}
                            .dump()}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("RLE size"), std::string::npos) << bad.body;
  ExpectError(Import(empty, {{"format", "", "voc"}, {"file", "a", "x"}}), 400, "unknown format");
  ExpectError(Import(empty, {{"format", "", "label_images"}}), 400, "holds no file");
  EXPECT_EQ(JsonOf(As(bob_, "GET", "/api/annotations/" + std::to_string(empty)))["mask_count"], 0);
}

}  // namespace
}  // namespace infera::testing

namespace infera::testing {
namespace {

// A 96 x 96 RGB PNG: a noisy red disk of radius 20 at (48, 44) on dark uniform noise.
std::string DiskOnNoisePng() {
  Image image = MakeImage(96, 96, 3, PixelType::kUInt8);
  uint32_t state = 12345;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return static_cast<int>(state >> 24);
  };
  for (int y = 0; y < 96; ++y) {
    for (int x = 0; x < 96; ++x) {
      const bool in = (x - 48) * (x - 48) + (y - 44) * (y - 44) <= 400;
      uint8_t* px = image.pixels<uint8_t>() + (y * 96 + x) * 3;
      for (int c = 0; c < 3; ++c) {
        px[c] = static_cast<uint8_t>(in ? (c == 0 ? 220 : 40) + next() % 16 : 30 + next() % 100);
      }
    }
  }
  return Png(image);
}

TEST_F(AnnotationsTest, AssistProposesGrabCutAndWatershedMasksWithoutStoringThem) {
  std::map<std::string, int64_t> ids;
  const int64_t dataset = Dataset({{"disk.png", DiskOnNoisePng()}}, &ids);
  const int64_t set =
      NewSet(dataset, {{"name", "assisted"}, {"kind", "semantic"}, {"labels", Labels()}});
  const int64_t file = ids["disk.png"];
  const std::string url =
      "/api/annotations/" + std::to_string(set) + "/images/" + std::to_string(file) + "/assist";
  auto disk_iou = [](const Image& m, int value) {
    int both = 0, either = 0;
    for (int y = 0; y < m.height; ++y) {
      for (int x = 0; x < m.width; ++x) {
        const bool a = m.pixels<uint8_t>()[y * m.width + x] == value;
        const bool b = (x - 48) * (x - 48) + (y - 44) * (y - 44) <= 400;
        both += a && b;
        either += a || b;
      }
    }
    return static_cast<double>(both) / either;
  };

  HttpResponse grabcut = As(
      bob_, "POST", url, json{{"tool", "grabcut"}, {"box", {22, 18, 52, 52}}, {"label", 2}}.dump());
  ASSERT_EQ(grabcut.status, 200) << grabcut.body;
  EXPECT_EQ(grabcut.content_type, "image/png");
  const Image proposed = Decode(grabcut.body);
  ASSERT_EQ(proposed.width, 96);
  ASSERT_EQ(proposed.channels, 1);
  EXPECT_GT(disk_iou(proposed, 2), 0.9);

  HttpResponse watershed = As(bob_, "POST", url,
                              json{{"tool", "watershed"},
                                   {"seeds",
                                    {{{"x", 48}, {"y", 44}, {"label", 1}},
                                     {{"x", 3}, {"y", 3}, {"label", 0}},
                                     {{"x", 92}, {"y", 92}, {"label", 0}},
                                     {{"x", 92}, {"y", 3}, {"label", 0}},
                                     {{"x", 3}, {"y", 92}, {"label", 0}}}}}
                                  .dump());
  ASSERT_EQ(watershed.status, 200) << watershed.body;
  EXPECT_GT(disk_iou(Decode(watershed.body), 1), 0.85);

  // Nothing was stored.
  ExpectError(As(bob_, "GET", MaskUrl(set, file)), 404, "has no mask");
  // Bad bodies, and another user's set.
  ExpectError(As(bob_, "POST", url, json{{"tool", "magic"}}.dump()), 400, "'magic'");
  ExpectError(As(bob_, "POST", url, json{{"tool", "grabcut"}}.dump()), 400, "'box'");
  ExpectError(As(bob_, "POST", url, json{{"tool", "grabcut"}, {"box", {90, 90, 20, 20}}}.dump()),
              400, "not inside");
  ExpectError(As(bob_, "POST", url, json{{"tool", "grabcut"}, {"box", {1, 1, "a", 2}}}.dump()), 400,
              "integer");
  ExpectError(As(bob_, "POST", url, json{{"tool", "watershed"}, {"seeds", {{{"x", 1}}}}}.dump()),
              400, "{x, y, label}");
  ExpectError(
      As(bob_, "POST", url,
         json{{"tool", "watershed"}, {"seeds", {{{"x", 1}, {"y", 1}, {"label", 1}}}}}.dump()),
      400, "two labels");
  ExpectError(As(bob_, "POST", url, json{{"tool", "grabcut"}, {"colour", 1}}.dump()), 400,
              "unknown field 'colour'");
  ExpectError(As(bob_, "POST", url, "not json"), 400, "");
  ExpectError(As(eve_, "POST", url, json{{"tool", "grabcut"}, {"box", {22, 18, 52, 52}}}.dump()),
              404, "annotation set");
}

// The mask PUT's X-Infera-Classes header: new instances get the class it names, the
// others keep theirs; the classes read back through the revisions and the COCO export;
// bad headers are 400 with a reason and write nothing.
TEST_F(AnnotationsTest, AMaskPutGivesNewInstancesTheirClasses) {
  std::map<std::string, int64_t> ids;
  const std::string square = ReadFile(TestModelsDir() / "images" / "square.png");
  const int64_t dataset = Dataset({{"square.png", square}}, &ids);
  const Image source = Decode(square);
  const int64_t file = ids["square.png"];
  const int64_t set =
      NewSet(dataset, {{"name", "objects"}, {"kind", "instances"}, {"labels", Labels()}});
  const std::string revisions_url =
      "/api/annotations/" + std::to_string(set) + "/images/" + std::to_string(file) + "/revisions";
  auto put = [&](const Image& m, const std::string& classes) {
    HttpHeaders headers = {{"Content-Type", "image/png"}};
    if (!classes.empty()) headers["X-Infera-Classes"] = classes;
    return As(bob_, "PUT", MaskUrl(set, file), Png(m), headers);
  };
  // Instance 1: the first row's first 4 pixels; instance 2: the last row's.
  Image mask = MakeImage(source.width, source.height, 1, PixelType::kUInt8);
  const size_t last_row = static_cast<size_t>(source.width) * (source.height - 1);
  for (size_t i = 0; i < 4; ++i) {
    mask.pixels<uint8_t>()[i] = 1;
    mask.pixels<uint8_t>()[last_row + i] = 2;
  }
  HttpResponse first = put(mask, R"({"1": 2, "2": 1})");
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(JsonOf(first)["classes"], json({{"1", 2}, {"2", 1}}));

  // Instance 3 drawn and given class 2; 1 and 2 keep theirs.
  for (size_t i = 10; i < 13; ++i) mask.pixels<uint8_t>()[i] = 3;
  HttpResponse second = put(mask, R"({"3": 2})");
  ASSERT_EQ(second.status, 201) << second.body;
  EXPECT_EQ(JsonOf(second)["classes"], json({{"1", 2}, {"2", 1}, {"3", 2}}));
  // A class changed: instance 1 becomes a cell.
  HttpResponse third = put(mask, R"({"1": 1})");
  ASSERT_EQ(third.status, 201) << third.body;
  EXPECT_EQ(JsonOf(third)["classes"], json({{"1", 1}, {"2", 1}, {"3", 2}}));
  // Without the header everything keeps its class (the behaviour before the header).
  HttpResponse fourth = put(mask, "");
  ASSERT_EQ(fourth.status, 201) << fourth.body;
  EXPECT_EQ(JsonOf(fourth)["classes"], json({{"1", 1}, {"2", 1}, {"3", 2}}));

  // Bad headers: 400 with the reason, no revision written.
  ExpectError(put(mask, "{1: 2"), 400, "X-Infera-Classes is not JSON");
  ExpectError(put(mask, R"({"3": "nucleus"})"), 400, "is not a label id");
  ExpectError(put(mask, R"({"3": 1.5})"), 400, "is not a label id");
  ExpectError(put(mask, R"({"three": 1})"), 400, "is not an instance id");
  ExpectError(put(mask, R"([1, 2])"), 400, "must be an object");
  ExpectError(put(mask, R"({"3": 7})"), 400, "class 7 of instance 3 is not in the set's label map");
  ExpectError(put(mask, R"({"9": 1})"), 400, "instance 9 is not in the mask");
  const json history = JsonOf(As(bob_, "GET", revisions_url))["revisions"];
  ASSERT_EQ(history.size(), 4u);
  EXPECT_EQ(history[1]["classes"], json({{"1", 2}, {"2", 1}, {"3", 2}}));

  // The COCO export gives each instance its class as the category.
  HttpResponse out =
      As(bob_, "GET", "/api/annotations/" + std::to_string(set) + "/export?format=coco");
  ASSERT_EQ(out.status, 200) << out.body;
  const json coco = JsonOf(out);
  std::map<int, int> category_of;
  for (const json& a : coco["annotations"]) {
    category_of[a["attributes"]["instance_id"].get<int>()] = a["category_id"].get<int>();
  }
  EXPECT_EQ(category_of, (std::map<int, int>{{1, 1}, {2, 1}, {3, 2}})) << coco.dump();

  // A semantic set has no instances to classify.
  const int64_t semantic =
      NewSet(dataset, {{"name", "classes"}, {"kind", "semantic"}, {"labels", Labels()}});
  ExpectError(As(bob_, "PUT", MaskUrl(semantic, file), Png(mask),
                 {{"Content-Type", "image/png"}, {"X-Infera-Classes", R"({"1": 1})"}}),
              400, "applies to instance sets");
}

}  // namespace
}  // namespace infera::testing
