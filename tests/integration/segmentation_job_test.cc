// Segmentation runners through the whole /api workflow with real TorchScript models
// (binary U-Net, multi-class, 16-bit / multi-channel / multi-page TIFF): the masks a job
// stores are compared pixel for pixel with PyTorch's output for the same input
// (expected_masks.json, written by model_tools/make_test_models.py), and the job's ZIP holds
// the masks and previews.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <thread>

#include "archive/zip_reader.h"
#include "common/base64.h"
#include "imaging/codec.h"
#include "support/multipart_body.h"
#include "support/server_fixture.h"

namespace infera::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class SegmentationJobTest : public ServerFixture {
 protected:
  static void SetUpTestSuite() { StartSuiteServer({"tiny_unet", "tiny_multiclass", "tiny_tiff"}); }
  static void TearDownTestSuite() { StopSuiteServer(); }

  json Json(const HttpResponse& r) { return json::parse(r.body); }

  json RunJob(const std::string& image, const std::string& model, const json& params) {
    HttpResponse d = Post("/api/datasets", json{{"name", model}}.dump());
    EXPECT_EQ(d.status, 201);
    const int64_t dataset = Json(d)["id"];
    const std::string name = fs::path(image).filename().string();
    HttpResponse up = Post("/api/datasets/" + std::to_string(dataset) + "/files",
                           MultipartBody({{"files", name, ReadFile(TestModelsDir() / image)}}),
                           {{"Content-Type", MultipartContentType()}});
    EXPECT_EQ(up.status, 201) << up.body;
    HttpResponse start =
        Post("/api/inferences/start",
             json{{"dataset_id", dataset}, {"model_id", model}, {"params", params}}.dump());
    EXPECT_EQ(start.status, 202) << start.body;
    const int64_t id = Json(start)["inference_id"];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    json job;
    while (std::chrono::steady_clock::now() < deadline) {
      job = Json(Get("/api/inferences/" + std::to_string(id)));
      if (job["status"] != "queued" && job["status"] != "running") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
    return job;
  }

  Image FetchImage(int64_t file_id) {
    HttpResponse f = Get("/api/files/" + std::to_string(file_id));
    EXPECT_EQ(f.status, 200);
    StatusOr<Image> image = DecodeImage(std::span<const std::byte>(
        reinterpret_cast<const std::byte*>(f.body.data()), f.body.size()));
    EXPECT_TRUE(image.ok()) << image.status();
    return image.ok() ? *image : Image{};
  }
};

TEST_F(SegmentationJobTest, MasksMatchPyTorchPixelForPixel) {
  const json expected = json::parse(ReadFile(TestModelsDir() / "expected_masks.json"));
  ASSERT_GE(expected["cases"].size(), 5u);
  for (const json& c : expected["cases"]) {
    SCOPED_TRACE(c["model"].get<std::string>() + " on " + c["image"].get<std::string>());
    json job = RunJob(c["image"], c["model"], c["params"]);
    ASSERT_EQ(job["status"], "completed") << job.dump();
    ASSERT_EQ(job["results"].size(), 1u);
    const json& r = job["results"][0];
    ASSERT_TRUE(r["error"].is_null()) << r.dump();
    EXPECT_FALSE(r["preview_id"].is_null());
    const std::string artifact = c["artifact"];
    const std::string key = artifact == "probability" ? "probability_id" : "class_mask_id";
    ASSERT_FALSE(r[key].is_null()) << r.dump();
    const Image mask = FetchImage(r[key]);
    ASSERT_EQ(mask.width, c["width"].get<int>());
    ASSERT_EQ(mask.height, c["height"].get<int>());
    ASSERT_EQ(mask.channels, 1);
    size_t mismatches = 0;
    double max_diff = 0;
    const json& rows = artifact == "probability" ? c["probability"] : c["mask"];
    for (int y = 0; y < mask.height; ++y) {
      for (int x = 0; x < mask.width; ++x) {
        const size_t i = static_cast<size_t>(y) * mask.width + x;
        const double want = rows[y][x].get<double>();
        double got = 0;
        switch (mask.type) {
          case PixelType::kUInt8:
            got = mask.pixels<uint8_t>()[i];
            break;
          case PixelType::kUInt16:
            got = mask.pixels<uint16_t>()[i];
            break;
          case PixelType::kFloat32:
            got = mask.pixels<float>()[i];
            break;
        }
        max_diff = std::max(max_diff, std::abs(got - want));
        if (artifact != "probability" && got != want) ++mismatches;
      }
    }
    if (artifact == "probability") {
      EXPECT_LE(max_diff, 1e-4);
    } else {
      EXPECT_EQ(mismatches, 0u);
      EXPECT_EQ(r["summary"]["class_histogram"], c["class_histogram"]);
    }
  }
}

TEST_F(SegmentationJobTest, DownloadHoldsMasksAndPreviews) {
  json job = RunJob("images/blobs.png", "tiny_unet", json::object());
  ASSERT_EQ(job["status"], "completed") << job.dump();
  HttpResponse zip =
      Get("/api/inferences/" + std::to_string(job["id"].get<int64_t>()) + "/download");
  ASSERT_EQ(zip.status, 200);
  TempDir dir;
  WriteFile(dir.path() / "job.zip", zip.body);
  StatusOr<ZipReader> reader = ZipReader::Open(dir.path() / "job.zip", ZipLimits{});
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::vector<std::string> names;
  for (const ZipEntryInfo& e : reader->entries()) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"images/blobs.png", "masks/blobs_mask.png",
                                             "previews/blobs_preview.png", "results.json"}));
}

TEST_F(SegmentationJobTest, PredictAnswersWithTheMask) {
  const std::string png = ReadFile(TestModelsDir() / "images" / "blobs.png");
  HttpResponse r = Post("/predict/tiny_unet", json{{"image", Base64Encode(png.data(), png.size())},
                                                   {"params", {{"threshold", 0.5}}}}
                                                  .dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json body = Json(r);
  EXPECT_EQ(body["mask_kind"], "class_mask");
  EXPECT_EQ(body["mask_content_type"], "image/png");
  EXPECT_GT(body["foreground_fraction"].get<double>(), 0.0);
  EXPECT_TRUE(body["artifacts"].contains("preview"));
  ExpectError(Post("/predict/tiny_unet", json{{"image", Base64Encode(png.data(), png.size())},
                                              {"params", {{"threshold", 2}}}}
                                             .dump()),
              400, "threshold");
}

}  // namespace
}  // namespace infera::testing
