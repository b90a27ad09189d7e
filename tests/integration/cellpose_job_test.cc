// The cellpose runner through the /api workflow: 16-bit 2-channel TIFFs uploaded over
// HTTP, a dataset inference job with Cellpose's params, instance masks stored and
// matching the ground truth (AP@0.5), the object count in each result, and the masks
// drawn for the web page by GET /api/files/{id}/overlay (instances and classes palettes).
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>

#include "cellpose/average_precision.h"
#include "imaging/codec.h"
#include "imaging/overlay.h"
#include "support/multipart_body.h"
#include "support/server_fixture.h"

namespace infera::testing {
namespace {

using cellpose::ApResult;
using cellpose::AveragePrecision;
using nlohmann::json;

Image Decode(const std::string& bytes) {
  StatusOr<Image> image = DecodeImage(
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
  EXPECT_TRUE(image.ok()) << image.status();
  return image.ok() ? std::move(*image) : Image{};
}

cellpose::LabelImage Labels(const Image& image) {
  cellpose::LabelImage labels;
  labels.width = image.width;
  labels.height = image.height;
  const size_t n = static_cast<size_t>(image.width) * image.height;
  for (size_t i = 0; i < n; ++i) {
    labels.labels.push_back(image.type == PixelType::kUInt16 ? image.pixels<uint16_t>()[i]
                                                             : image.pixels<uint8_t>()[i]);
  }
  return labels;
}

class CellposeJobTest : public ServerFixture {
 protected:
  static void SetUpTestSuite() { StartSuiteServer({"cellpose_tiny"}); }
  static void TearDownTestSuite() { StopSuiteServer(); }
};

TEST_F(CellposeJobTest, SegmentsUploadedCellsAndDrawsTheMasks) {
  const json expected = json::parse(ReadFile(TestModelsDir() / "cellpose_expected.json"));
  HttpResponse created = Post("/api/datasets", R"({"name": "cells"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const int64_t dataset = json::parse(created.body)["id"];

  std::vector<FormPart> parts;
  std::map<std::string, std::string> truth_of;  // uploaded name -> ground-truth mask path
  for (size_t i = 0; i < 4; ++i) {
    const json& img = expected["images"][i];
    const std::filesystem::path path = img["image"].get<std::string>();
    parts.push_back(
        {"files", path.filename().string(), ReadFile(TestModelsDir() / path), "image/tiff"});
    truth_of[path.filename().string()] = img["masks"].get<std::string>();
  }
  HttpResponse uploaded = Post("/api/datasets/" + std::to_string(dataset) + "/files",
                               MultipartBody(parts), {{"Content-Type", MultipartContentType()}});
  ASSERT_EQ(uploaded.status, 201) << uploaded.body;
  const json stored = json::parse(uploaded.body);
  for (const json& f : stored["files"]) {
    EXPECT_EQ(f["bit_depth"], 16);
    EXPECT_EQ(f["channels"], 2);
  }

  // Unknown and ill-typed Cellpose params are refused before a job exists.
  ExpectError(Post("/api/inferences/start", json{{"dataset_id", dataset},
                                                 {"model_id", "cellpose_tiny"},
                                                 {"params", {{"flow_treshold", 0.4}}}}
                                                .dump()),
              400, "flow_treshold");
  ExpectError(Post("/api/inferences/start", json{{"dataset_id", dataset},
                                                 {"model_id", "cellpose_tiny"},
                                                 {"params", {{"channels", "green"}}}}
                                                .dump()),
              400, "channels");

  HttpResponse started =
      Post("/api/inferences/start",
           json{{"dataset_id", dataset},
                {"model_id", "cellpose_tiny"},
                {"params", {{"channels", {1, 2}}, {"flow_threshold", 0.4}, {"min_size", 15}}}}
               .dump());
  ASSERT_EQ(started.status, 202) << started.body;
  const json job = WaitForJob(json::parse(started.body)["inference_id"], std::chrono::seconds(120));
  ASSERT_EQ(job["status"], "completed") << job.dump();
  EXPECT_EQ(job["runner_name"], "cellpose");
  ASSERT_EQ(job["results"].size(), 4u);

  double ap_sum = 0;
  for (const json& result : job["results"]) {
    const std::string name = result["source_filename"];
    SCOPED_TRACE(name);
    ASSERT_TRUE(result["error"].is_null()) << result.dump();
    HttpResponse mask_bytes =
        Get("/api/files/" + std::to_string(result["instance_mask_id"].get<int64_t>()));
    ASSERT_EQ(mask_bytes.status, 200);
    EXPECT_EQ(mask_bytes.headers["content-type"], "image/png");
    const Image mask = Decode(mask_bytes.body);
    ASSERT_EQ(mask.type, PixelType::kUInt16);  // Cellpose's format: uint16 labels
    const cellpose::LabelImage predicted = Labels(mask);
    std::set<uint32_t> ids(predicted.labels.begin(), predicted.labels.end());
    ids.erase(0);
    // The count in the record is the number of objects in the mask, labelled 1..N.
    EXPECT_EQ(result["summary"]["count"].get<size_t>(), ids.size());
    if (!ids.empty()) {
      EXPECT_EQ(*ids.rbegin(), ids.size());
    }
    const cellpose::LabelImage truth = Labels(Decode(ReadFile(TestModelsDir() / truth_of[name])));
    const ApResult ap = AveragePrecision(truth, predicted, 0.5);
    EXPECT_GE(ap.ap, 0.6) << "true " << ap.true_masks << " predicted " << ap.predicted_masks;
    ap_sum += ap.ap;

    // The overlay: opaque exactly on objects, one colour per object (instances palette).
    HttpResponse overlay =
        Get("/api/files/" + std::to_string(result["instance_mask_id"].get<int64_t>()) + "/overlay");
    ASSERT_EQ(overlay.status, 200) << overlay.body;
    EXPECT_EQ(overlay.headers["content-type"], "image/png");
    const Image rgba = Decode(overlay.body);
    ASSERT_EQ(rgba.channels, 4);
    ASSERT_EQ(rgba.width, mask.width);
    ASSERT_EQ(rgba.height, mask.height);
    for (size_t i = 0; i < predicted.labels.size(); ++i) {
      const uint8_t* p = rgba.pixels<uint8_t>() + 4 * i;
      const Rgb8 want = InstanceColor(predicted.labels[i]);
      ASSERT_EQ(p[3], predicted.labels[i] == 0 ? 0 : 255) << i;
      if (predicted.labels[i] != 0) {
        ASSERT_EQ((Rgb8{p[0], p[1], p[2]}), want) << i;
      }
    }
    // The class mask (0/255) in the classes palette: every object red, the legend colour.
    HttpResponse classes =
        Get("/api/files/" + std::to_string(result["class_mask_id"].get<int64_t>()) + "/overlay");
    ASSERT_EQ(classes.status, 200) << classes.body;
    const Image red = Decode(classes.body);
    for (size_t i = 0; i < predicted.labels.size(); ++i) {
      const uint8_t* p = red.pixels<uint8_t>() + 4 * i;
      if (predicted.labels[i] != 0) {
        ASSERT_EQ((Rgb8{p[0], p[1], p[2]}), LabelColor(1)) << i;
      }
    }
    // The source is not a mask; a bad palette is named.
    ExpectError(
        Get("/api/files/" + std::to_string(result["source_file_id"].get<int64_t>()) + "/overlay"),
        400, "not a mask");
    ExpectError(Get("/api/files/" + std::to_string(result["class_mask_id"].get<int64_t>()) +
                    "/overlay?palette=rainbow"),
                400, "palette");
  }
  EXPECT_GE(ap_sum / 4, 0.8);
  ExpectError(Get("/api/files/99999999/overlay"), 404, "");
}

TEST_F(CellposeJobTest, TwoChannelModelWarmsUpAndDescribesItsInput) {
  // The model loaded with warm-up on (model.yaml: batch sizes 1 and 8), fed 2-channel
  // tiles; the protocol's metadata says so.
  HttpResponse meta = Get("/v2/models/cellpose_tiny");
  ASSERT_EQ(meta.status, 200) << meta.body;
  const json inputs = json::parse(meta.body)["inputs"];
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs[0]["shape"], (json{-1, 2, 128, 128}));
  HttpResponse models = Get("/api/models");
  ASSERT_EQ(models.status, 200);
  const json listed = json::parse(models.body);
  for (const json& m : listed["models"]) {
    if (m["id"] != "cellpose_tiny") continue;
    EXPECT_EQ(m["runner_name"], "cellpose");
    EXPECT_TRUE(m["ready"].get<bool>());
    EXPECT_EQ(m["params_schema"]["properties"]["channels"]["type"], "array");
  }
}

}  // namespace
}  // namespace infera::testing
