// Annotation sets of kind image_labels ("image labels": one class per image) on the real
// server with auth on: labels PUT / GET / cleared as numbered revisions, checked against
// the set's label map; mask routes refused on a labels set and label routes on a mask
// set; the listing's per-image labels and counts; labels_csv import (per-row refusals)
// and export round trip; a classification job's top-1 classes as a set; "annotate next"
// skipping labelled images; and tiny_cls retrained through POST /api/retraining/start
// from an image_labels set — on images whose labels it gets wrong before — to a version
// that is served and scores higher on held-out images.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "common/base64.h"
#include "imaging/codec.h"
#include "support/auth_server_fixture.h"
#include "support/multipart_body.h"

namespace infera::testing {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kAdminPassword = "labels-admin-password";
const std::vector<std::string> kShapes = {"disk", "square", "stripes"};  // tiny_cls's labels

// A 64x64 RGB image of `shape` as tiny_cls was trained on (model_tools/make_test_models.py's
// synth_image): a dark background, a bright shape, noise; seeded.
std::string ShapePng(const std::string& shape, int seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  auto uniform = [&](double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
  };
  const int n = 64;
  double bg[3], fg[3];
  for (double& c : bg) c = uniform(0, 90);
  for (double& c : fg) c = uniform(150, 255);
  const double noise = uniform(4, 12);
  const double r = uniform(0.17, 0.38) * n, cx = uniform(r, n - r), cy = uniform(r, n - r);
  const double s = uniform(0.3, 0.7) * n, x0 = uniform(0, n - s), y0 = uniform(0, n - s);
  const double period = uniform(0.12, 0.3) * n, phase = uniform(0, period),
               duty = uniform(0.35, 0.65);
  std::normal_distribution<double> jitter(0, noise);
  Image image = MakeImage(n, n, 3, PixelType::kUInt8);
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      double alpha = 0;
      if (shape == "disk") {
        const double d = std::hypot(x + 0.5 - cx, y + 0.5 - cy);
        alpha = std::clamp(r - d + 0.5, 0.0, 1.0);
      } else if (shape == "square") {
        alpha = std::clamp(std::min(x + 1 - x0, x0 + s - x), 0.0, 1.0) *
                std::clamp(std::min(y + 1 - y0, y0 + s - y), 0.0, 1.0);
      } else {
        alpha = std::fmod(y + phase, period) < duty * period ? 1.0 : 0.0;
      }
      for (int c = 0; c < 3; ++c) {
        const double v = bg[c] * (1 - alpha) + fg[c] * alpha + jitter(rng);
        image.pixels<uint8_t>()[(y * n + x) * 3 + c] =
            static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
      }
    }
  }
  auto png = EncodePng(image);
  EXPECT_TRUE(png.ok()) << png.status();
  return png.ok() ? std::string(reinterpret_cast<const char*>(png->data()), png->size()) : "";
}

json JsonOf(const HttpResponse& r) { return json::parse(r.body, nullptr, false); }

class ImageLabelsTest : public AuthServerFixture {
 protected:
  static void SetUpTestSuite() {
    StartSuiteServerWithUsers({"tiny_cls", "tiny_unet"},
                              "auth: {enabled: true, access_ttl_s: 600}\ntraining: {threads: 2}\n",
                              kAdminPassword);
  }
  static void TearDownTestSuite() { StopSuiteServer(); }

  json Ok(const std::string& method, const std::string& target, const json& body, int want) {
    HttpResponse r = As(bob_, method, target, body.is_null() ? "" : body.dump());
    EXPECT_EQ(r.status, want) << method << " " << target << ": " << r.body;
    return JsonOf(r);
  }

  // A dataset of bob's with the named images; their ids by name.
  int64_t Dataset(const std::vector<std::pair<std::string, std::string>>& images,
                  std::map<std::string, int64_t>* ids) {
    const int64_t dataset = Ok("POST", "/api/datasets", {{"name", "shapes"}}, 201)["id"];
    std::vector<FormPart> parts;
    for (const auto& [name, bytes] : images) parts.push_back({"files", name, bytes, "image/png"});
    HttpResponse up = As(bob_, "POST", "/api/datasets/" + std::to_string(dataset) + "/files",
                         MultipartBody(parts), {{"Content-Type", MultipartContentType()}});
    EXPECT_EQ(up.status, 201) << up.body;
    const json stored = JsonOf(up);
    for (const json& f : stored["files"]) (*ids)[f["filename"].get<std::string>()] = f["id"];
    return dataset;
  }
  int64_t LabelSet(int64_t dataset, const std::string& name, const json& labels) {
    return Ok("POST", "/api/datasets/" + std::to_string(dataset) + "/annotations",
              {{"name", name}, {"kind", "image_labels"}, {"labels", labels}}, 201)["id"];
  }
  static std::string LabelUrl(int64_t set, int64_t file) {
    return "/api/annotations/" + std::to_string(set) + "/images/" + std::to_string(file) + "/label";
  }
  json WaitForRetraining(int64_t id, seconds limit) {
    json j;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      j = JsonOf(As(bob_, "GET", "/api/retraining/" + std::to_string(id)));
      const std::string s = j.value("status", "");
      if (s == "completed" || s == "failed" || s == "canceled") return j;
      std::this_thread::sleep_for(milliseconds(50));
    }
    ADD_FAILURE() << "retraining " << id << " did not end in time: " << j.dump();
    return j;
  }
  // The top-1 label /predict gives for an image on `target` (/predict/tiny_cls...).
  std::string Predict(const std::string& target, const std::string& png, int64_t* version) {
    HttpResponse r =
        As(bob_, "POST", target, json{{"image", Base64Encode(png.data(), png.size())}}.dump(),
           {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 200) << r.body;
    const json j = JsonOf(r);
    if (version != nullptr) *version = j.value("version", int64_t{0});
    if (!j.contains("predictions") || j["predictions"].empty()) return "";
    return j["predictions"][0].value("label", "");
  }
};

TEST_F(ImageLabelsTest, LabelsAreCheckedRevisionsAndTheSetListsThem) {
  std::map<std::string, int64_t> ids;
  const int64_t dataset = Dataset({{"a.png", ShapePng("disk", 1)},
                                   {"b.png", ShapePng("square", 2)},
                                   {"c.png", ShapePng("stripes", 3)}},
                                  &ids);
  const std::string sets = "/api/datasets/" + std::to_string(dataset) + "/annotations";
  ExpectError(As(bob_, "POST", sets, json{{"name", "x"}, {"kind", "image_labels"}}.dump()), 400,
              "at least one label");
  ExpectError(As(bob_, "POST", sets, json{{"name", "x"}, {"kind", "tags"}}.dump()), 400,
              "image_labels");
  const int64_t set = LabelSet(dataset, "shapes",
                               {{{"id", 1}, {"name", "stripes"}}, {{"id", 2}, {"name", "disk"}}});
  const int64_t a = ids["a.png"], b = ids["b.png"];

  // Never labelled: null, revision 0.
  json got = Ok("GET", LabelUrl(set, a), json(), 200);
  EXPECT_TRUE(got["label"].is_null()) << got.dump();
  EXPECT_EQ(got["revision"], 0);

  json put = Ok("PUT", LabelUrl(set, a), {{"label", 1}}, 201);
  EXPECT_EQ(put["revision"], 1);
  EXPECT_EQ(put["label_name"], "stripes");
  EXPECT_EQ(put["origin"], "edit");
  put = Ok("PUT", LabelUrl(set, a), {{"label", 2}}, 201);
  EXPECT_EQ(put["revision"], 2);
  Ok("PUT", LabelUrl(set, b), {{"label", 2}}, 201);
  got = Ok("GET", LabelUrl(set, a), json(), 200);
  EXPECT_EQ(got["label"], 2);
  EXPECT_EQ(got["label_name"], "disk");

  // Refused with the reason, and nothing written.
  ExpectError(As(bob_, "PUT", LabelUrl(set, a), json{{"label", 7}}.dump()), 400,
              "label 7 is not in the set's label map (its labels: 1 stripes, 2 disk)");
  ExpectError(As(bob_, "PUT", LabelUrl(set, a), json{{"label", "disk"}}.dump()), 400,
              "'label' must be a label id");
  ExpectError(As(bob_, "PUT", LabelUrl(set, a), "{}"), 400, "'label' is required");
  ExpectError(As(bob_, "PUT", LabelUrl(set, a), json{{"label", 1}, {"x", 1}}.dump()), 400,
              "unknown field 'x'");
  ExpectError(As(bob_, "PUT", LabelUrl(set, 999999), json{{"label", 1}}.dump()), 404, "file");
  ExpectError(As(eve_, "PUT", LabelUrl(set, a), json{{"label", 1}}.dump()), 404, "annotation set");
  ExpectError(As(eve_, "GET", LabelUrl(set, a)), 404, "annotation set");

  // The listing: each labelled image, counts per label, the unlabelled.
  json listed = Ok("GET", "/api/annotations/" + std::to_string(set), json(), 200);
  EXPECT_EQ(listed["kind"], "image_labels");
  EXPECT_EQ(listed["mask_count"], 2);
  ASSERT_EQ(listed["image_labels"].size(), 2u) << listed.dump();
  EXPECT_EQ(listed["image_labels"][0]["file_id"], a);
  EXPECT_EQ(listed["image_labels"][0]["filename"], "a.png");
  EXPECT_EQ(listed["label_counts"], (json{{"disk", 2}, {"stripes", 0}}));
  EXPECT_EQ(listed["unlabelled"], 1);

  // null clears (a revision too); the history keeps every step.
  put = Ok("PUT", LabelUrl(set, a), {{"label", nullptr}}, 201);
  EXPECT_TRUE(put["label"].is_null());
  EXPECT_EQ(put["revision"], 3);
  got = Ok("GET", LabelUrl(set, a), json(), 200);
  EXPECT_TRUE(got["label"].is_null());
  EXPECT_EQ(got["revision"], 3);
  const json revisions =
      Ok("GET",
         "/api/annotations/" + std::to_string(set) + "/images/" + std::to_string(a) + "/revisions",
         json(), 200)["revisions"];
  ASSERT_EQ(revisions.size(), 3u);
  EXPECT_EQ(revisions[0]["label"], 1);
  EXPECT_EQ(revisions[1]["label"], 2);
  EXPECT_TRUE(revisions[2]["label"].is_null());
  listed = Ok("GET", "/api/annotations/" + std::to_string(set), json(), 200);
  EXPECT_EQ(listed["mask_count"], 1);

  // Masks are not labels and labels are not masks.
  const std::string mask_url =
      "/api/annotations/" + std::to_string(set) + "/images/" + std::to_string(a) + "/mask";
  ExpectError(As(bob_, "GET", mask_url), 400, "is of kind image_labels");
  ExpectError(As(bob_, "PUT", mask_url, ShapePng("disk", 1), {{"Content-Type", "image/png"}}), 400,
              "is of kind image_labels");
  const int64_t semantic =
      Ok("POST", sets, {{"name", "masks"}, {"kind", "semantic"}, {"labels", json::array()}},
         201)["id"];
  ExpectError(As(bob_, "PUT", LabelUrl(semantic, a), json{{"label", 1}}.dump()), 400,
              "it holds masks, not image labels");
  ExpectError(As(bob_, "GET", LabelUrl(semantic, a)), 400, "it holds masks");
}

TEST_F(ImageLabelsTest, LabelsCsvImportsPerRowAndExportsWhatItImports) {
  std::map<std::string, int64_t> ids;
  const int64_t dataset = Dataset({{"a.png", ShapePng("disk", 4)},
                                   {"b, 2.png", ShapePng("square", 5)},
                                   {"c.png", ShapePng("stripes", 6)}},
                                  &ids);
  const int64_t set = LabelSet(dataset, "imported",
                               {{{"id", 3}, {"name", "disk"}}, {{"id", 5}, {"name", "square"}}});
  const std::string csv =
      "file,label\n"
      "folder/a.png,disk\n"    // matched by its last path component
      "\"b, 2.png\",square\n"  // quoted
      "c.png,triangle\n"       // not a label of the set
      "d.png,disk\n"           // not an image of the dataset
      "a.png,square\n"         // a second label for a.png
      "just one field\n";
  auto import = [&](int64_t into, const std::string& body_csv, const std::string& format) {
    std::vector<FormPart> parts = {{"file", "labels.csv", body_csv, "text/csv"}};
    if (!format.empty()) parts.push_back({"format", "", format, ""});
    return As(bob_, "POST", "/api/annotations/" + std::to_string(into) + "/import",
              MultipartBody(parts), {{"Content-Type", MultipartContentType()}});
  };
  HttpResponse r = import(set, csv, "");
  ASSERT_EQ(r.status, 200) << r.body;
  const json verdicts = JsonOf(r);
  ASSERT_EQ(verdicts["imported"].size(), 2u) << verdicts.dump(2);
  EXPECT_EQ(verdicts["imported"][0]["file_id"], ids["a.png"]);
  EXPECT_EQ(verdicts["imported"][0]["label"], 3);
  EXPECT_EQ(verdicts["imported"][1]["label_name"], "square");
  ASSERT_EQ(verdicts["refused"].size(), 4u) << verdicts.dump(2);
  const std::string refused = verdicts["refused"].dump();
  EXPECT_THAT(refused, ::testing::HasSubstr("label 'triangle' is not in the set's label map"));
  EXPECT_THAT(refused, ::testing::HasSubstr("no image 'd.png' in the dataset"));
  EXPECT_THAT(refused, ::testing::HasSubstr("labels.csv:2 already labels a.png"));
  EXPECT_THAT(refused, ::testing::HasSubstr("labels.csv:7"));
  const json revisions = Ok("GET",
                            "/api/annotations/" + std::to_string(set) + "/images/" +
                                std::to_string(ids["a.png"]) + "/revisions",
                            json(), 200)["revisions"];
  ASSERT_EQ(revisions.size(), 1u);
  EXPECT_EQ(revisions[0]["origin"], "import");

  // Nothing importable: 400, nothing written; mask formats are not for labels sets.
  EXPECT_EQ(import(set, "x.png,disk\n", "").status, 400);
  ExpectError(import(set, csv, "coco"), 400, "its import format is labels_csv");

  HttpResponse exported =
      As(bob_, "GET", "/api/annotations/" + std::to_string(set) + "/export?format=labels_csv");
  ASSERT_EQ(exported.status, 200) << exported.body;
  EXPECT_EQ(exported.body, "file,label\na.png,disk\n\"b, 2.png\",square\n");
  ExpectError(As(bob_, "GET", "/api/annotations/" + std::to_string(set) + "/export?format=coco"),
              400, "labels_csv");
  // The export imports into another set as the same labels.
  const int64_t copy =
      LabelSet(dataset, "copy", {{{"id", 1}, {"name", "square"}}, {{"id", 2}, {"name", "disk"}}});
  ASSERT_EQ(import(copy, exported.body, "labels_csv").status, 200);
  HttpResponse again =
      As(bob_, "GET", "/api/annotations/" + std::to_string(copy) + "/export?format=labels_csv");
  EXPECT_EQ(again.body, exported.body);

  // A mask set takes no labels_csv.
  const int64_t semantic =
      Ok("POST", "/api/datasets/" + std::to_string(dataset) + "/annotations",
         {{"name", "masks"}, {"kind", "semantic"}, {"labels", json::array()}}, 201)["id"];
  ExpectError(
      As(bob_, "GET", "/api/annotations/" + std::to_string(semantic) + "/export?format=labels_csv"),
      400, "image_labels");
  ExpectError(import(semantic, csv, "labels_csv"), 400, "image_labels");
}

TEST_F(ImageLabelsTest, AClassifiersJobBecomesALabelsSetAndAnnotateNextSkipsLabelledImages) {
  std::map<std::string, int64_t> ids;
  const int64_t dataset =
      Dataset({{"disk.png", ReadFile(TestModelsDir() / "images" / "disk.png")},
               {"square.png", ReadFile(TestModelsDir() / "images" / "square.png")},
               {"stripes.png", ReadFile(TestModelsDir() / "images" / "stripes.png")}},
              &ids);
  const json start =
      Ok("POST", "/api/inferences/start", {{"dataset_id", dataset}, {"model_id", "tiny_cls"}}, 202);
  const int64_t job_id = start["inference_id"];
  const std::string job_url = "/api/inferences/" + std::to_string(job_id);
  json job;
  const auto deadline = std::chrono::steady_clock::now() + seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    job = JsonOf(As(bob_, "GET", job_url));
    if (job["status"] != "queued" && job["status"] != "running") break;
    std::this_thread::sleep_for(milliseconds(30));
  }
  ASSERT_EQ(job["status"], "completed") << job.dump();
  // A classifier's job exports as labels_csv only (no masks): the web page's CSV link.
  EXPECT_EQ(job["export_formats"], json::array({"labels_csv"}));
  // The job's own labels_csv export: each image's top-1 class.
  HttpResponse job_csv = As(bob_, "GET", job_url + "/export?format=labels_csv");
  ASSERT_EQ(job_csv.status, 200) << job_csv.body;
  EXPECT_EQ(job_csv.headers["content-type"], "text/csv; charset=utf-8");
  EXPECT_THAT(job_csv.headers["content-disposition"],
              ::testing::HasSubstr("inference_" + std::to_string(job_id) + "_labels.csv"));
  EXPECT_EQ(job_csv.body, "file,label\ndisk.png,disk\nsquare.png,square\nstripes.png,stripes\n");

  const json made = Ok("POST", job_url + "/annotations", {{"name", "pre"}}, 201);
  const json set = made["annotation_set"];
  EXPECT_EQ(set["kind"], "image_labels");
  EXPECT_EQ(set["mask_count"], 3);
  // The model's classes, class k as label k + 1.
  ASSERT_EQ(set["labels"].size(), 3u) << set.dump();
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(set["labels"][k]["id"], k + 1);
    EXPECT_EQ(set["labels"][k]["name"], kShapes[k]);
  }
  const int64_t set_id = set["id"];
  // The same CSV as the set made from the job exports.
  EXPECT_EQ(
      As(bob_, "GET", "/api/annotations/" + std::to_string(set_id) + "/export?format=labels_csv")
          .body,
      job_csv.body);
  // tiny_cls knows its own clean examples: each image labelled as its shape.
  for (const std::string& shape : kShapes) {
    const json label = Ok("GET", LabelUrl(set_id, ids[shape + ".png"]), json(), 200);
    EXPECT_EQ(label["label_name"], shape) << label.dump();
    EXPECT_EQ(label["origin"], "job:" + std::to_string(job_id));
  }

  // Annotate next: labelled images are annotated (skipped); a cleared one is not.
  const std::string rank = "/api/datasets/" + std::to_string(dataset) + "/rank";
  json ranked = Ok("POST", rank, {{"strategy", "first"}, {"annotation_set_id", set_id}}, 200);
  EXPECT_EQ(ranked["skipped_annotated"], 3);
  EXPECT_TRUE(ranked["images"].empty());
  Ok("PUT", LabelUrl(set_id, ids["square.png"]), {{"label", nullptr}}, 201);
  ranked = Ok(
      "POST", rank,
      {{"strategy", "uncertainty"}, {"model_id", "tiny_cls"}, {"annotation_set_id", set_id}}, 200);
  EXPECT_EQ(ranked["skipped_annotated"], 2);
  ASSERT_EQ(ranked["images"].size(), 1u) << ranked.dump();
  EXPECT_EQ(ranked["images"][0]["file"], ids["square.png"]);
  EXPECT_TRUE(ranked["images"][0]["score"].is_number());
}

TEST_F(ImageLabelsTest, RetrainingRefusesWhatTheModelCannotLearnFrom) {
  std::map<std::string, int64_t> ids;
  const int64_t dataset = Dataset({{"a.png", ShapePng("disk", 7)}}, &ids);
  const int64_t set = LabelSet(dataset, "odd",
                               {{{"id", 1}, {"name", "triangle"}},
                                {{"id", 2}, {"name", "hexagon"}},
                                {{"id", 3}, {"name", "disk"}}});
  const std::string start = "/api/retraining/start";
  // No labelled image yet.
  ExpectError(
      As(bob_, "POST", start, json{{"model_id", "tiny_cls"}, {"annotation_set_ids", {set}}}.dump()),
      400, "has no labelled images");
  Ok("PUT", LabelUrl(set, ids["a.png"]), {{"label", 1}}, 201);
  ExpectError(
      As(bob_, "POST", start, json{{"model_id", "tiny_cls"}, {"annotation_set_ids", {set}}}.dump()),
      400,
      "uses labels the model does not have: 'triangle' (the model's labels: 'disk', "
      "'square', 'stripes')");
  // Labels train classifiers only.
  ExpectError(As(bob_, "POST", start,
                 json{{"model_id", "tiny_unet"}, {"annotation_set_ids", {set}}}.dump()),
              400, "train only classifiers");
}

TEST_F(ImageLabelsTest, AClassifierRetrainedFromImageLabelsScoresHigherOnHeldOutImages) {
  // Images tiny_cls gets wrong: its own shapes under other names (disk is called square,
  // square stripes, stripes disk) — what a lab whose classes mean something else would
  // annotate. The set's label ids are in another order than the model's classes: the
  // names are what matches.
  const std::map<std::string, std::string> renamed = {
      {"disk", "square"}, {"square", "stripes"}, {"stripes", "disk"}};
  std::vector<std::pair<std::string, std::string>> train_images, held_out;
  std::map<std::string, std::string> truth;  // file name -> the label wanted
  for (int i = 0; i < 36; ++i) {
    const std::string& shape = kShapes[i % 3];
    const std::string name = "train" + std::to_string(i) + ".png";
    train_images.push_back({name, ShapePng(shape, 1000 + i)});
    truth[name] = renamed.at(shape);
  }
  for (int i = 0; i < 15; ++i) {
    const std::string& shape = kShapes[i % 3];
    const std::string name = "held" + std::to_string(i) + ".png";
    held_out.push_back({name, ShapePng(shape, 5000 + i)});
    truth[name] = renamed.at(shape);
  }
  // Two images without a label: skipped and counted.
  train_images.push_back({"unlabelled0.png", ShapePng("disk", 77)});
  train_images.push_back({"unlabelled1.png", ShapePng("square", 78)});
  std::map<std::string, int64_t> ids;
  const int64_t dataset = Dataset(train_images, &ids);
  const int64_t set = LabelSet(dataset, "renamed",
                               {{{"id", 1}, {"name", "stripes"}},
                                {{"id", 2}, {"name", "disk"}},
                                {{"id", 3}, {"name", "square"}}});
  const std::map<std::string, int> label_ids = {{"stripes", 1}, {"disk", 2}, {"square", 3}};
  std::string csv = "file,label\n";
  for (const auto& [name, png] : train_images) {
    if (truth.count(name)) csv += name + "," + truth[name] + "\n";
  }
  HttpResponse imported = As(bob_, "POST", "/api/annotations/" + std::to_string(set) + "/import",
                             MultipartBody({{"file", "labels.csv", csv, "text/csv"}}),
                             {{"Content-Type", MultipartContentType()}});
  ASSERT_EQ(imported.status, 200) << imported.body;
  ASSERT_EQ(JsonOf(imported)["imported"].size(), 36u);

  auto accuracy = [&](const std::string& target, int64_t want_version) {
    int right = 0;
    for (const auto& [name, png] : held_out) {
      int64_t version = 0;
      right += Predict(target, png, &version) == truth[name] ? 1 : 0;
      EXPECT_EQ(version, want_version);
    }
    return static_cast<double>(right) / static_cast<double>(held_out.size());
  };
  const double before = accuracy("/predict/tiny_cls", 1);
  ASSERT_LE(before, 0.34) << "tiny_cls should get the renamed shapes wrong before training";

  const json started =
      Ok("POST", "/api/retraining/start",
         {{"model_id", "tiny_cls"},
          {"annotation_set_ids", {set}},
          {"params",
           {{"epochs", 40}, {"lr", 0.003}, {"batch_size", 8}, {"seed", 3}, {"augment", false}}}},
         202);
  const json done = WaitForRetraining(started["retraining_id"], seconds(240));
  ASSERT_EQ(done.value("status", ""), "completed") << done.dump(2);
  EXPECT_THAT(done["logs"].dump(), ::testing::HasSubstr("2 images without a label skipped"));
  ASSERT_EQ(done["new_version"], 2) << done.dump(2);
  EXPECT_FALSE(done["held_back"].get<bool>()) << done.dump(2);
  EXPECT_GT(done["best_score"].get<double>(), done["parent_score"].get<double>());
  // The version is active (an admin may activate it again: it stays served).
  HttpResponse activated = As(admin_, "POST", "/api/models/tiny_cls/versions/2/activate");
  EXPECT_EQ(activated.status, 200) << activated.body;
  const double after = accuracy("/predict/tiny_cls", 2);
  EXPECT_GE(after, 0.8) << "held-out accuracy before " << before << ", after " << after;
  // The training record names the set and its label revisions.
  const json record = json::parse(
      ReadFile(server_dir() / "repo" / "tiny_cls" / "2" / "training.json"), nullptr, false);
  const json sets = record["sources"]["annotation_sets"];
  ASSERT_EQ(sets.size(), 1u) << record.dump();
  EXPECT_EQ(sets[0]["kind"], "image_labels");
  EXPECT_EQ(sets[0]["revisions"].size(), 36u);
  EXPECT_EQ(sets[0]["unlabelled"], 2);
}

}  // namespace
}  // namespace infera::testing
