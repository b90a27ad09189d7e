// A job's results as an annotation set (POST /api/inferences/{id}/annotations) on the
// real server with real models: a cellpose job's instance masks become an `instances`
// set holding the same instances; a binary segmenter's 0/255 masks become class 1
// named by the model (not a "class 255"); a job still queued or running is a 409.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <span>

#include "imaging/codec.h"
#include "support/multipart_body.h"
#include "support/server_fixture.h"

namespace infera::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

int At(const Image& m, size_t i) {
  return m.type == PixelType::kUInt8 ? m.pixels<uint8_t>()[i] : m.pixels<uint16_t>()[i];
}

class AnnotationJobsTest : public ServerFixture {
 protected:
  static void SetUpTestSuite() { StartSuiteServer({"tiny_unet", "cellpose_tiny", "slow_model"}); }
  static void TearDownTestSuite() { StopSuiteServer(); }

  json Json(const HttpResponse& r) { return json::parse(r.body, nullptr, false); }

  // A dataset of `files` (name -> bytes): its id.
  int64_t Dataset(const std::vector<std::pair<std::string, std::string>>& files) {
    HttpResponse d = Post("/api/datasets", json{{"name", "jobs"}}.dump());
    EXPECT_EQ(d.status, 201) << d.body;
    const int64_t id = Json(d)["id"];
    std::vector<FormPart> parts;
    for (const auto& [name, bytes] : files) parts.push_back({"files", name, bytes});
    HttpResponse up = Post("/api/datasets/" + std::to_string(id) + "/files", MultipartBody(parts),
                           {{"Content-Type", MultipartContentType()}});
    EXPECT_EQ(up.status, 201) << up.body;
    return id;
  }
  int64_t Start(int64_t dataset, const std::string& model, const json& params = json::object()) {
    HttpResponse start =
        Post("/api/inferences/start",
             json{{"dataset_id", dataset}, {"model_id", model}, {"params", params}}.dump());
    EXPECT_EQ(start.status, 202) << start.body;
    return Json(start).value("inference_id", int64_t{0});
  }
  Image Fetch(const std::string& target) {
    HttpResponse f = Get(target);
    EXPECT_EQ(f.status, 200) << target << ": " << f.body;
    StatusOr<Image> image = DecodeImage(std::as_bytes(std::span(f.body.data(), f.body.size())));
    EXPECT_TRUE(image.ok()) << image.status();
    return image.ok() ? *image : Image{};
  }
  // The set made of job `id`'s results, with its one image's mask and the job's mask.
  void SetOfJob(int64_t id, const std::string& mask_key, json* set, Image* stored,
                Image* job_mask) {
    const json job = WaitForJob(id);
    ASSERT_EQ(job["status"], "completed") << job.dump();
    ASSERT_EQ(job["results"].size(), 1u);
    HttpResponse made = Post("/api/inferences/" + std::to_string(id) + "/annotations", "{}");
    ASSERT_EQ(made.status, 201) << made.body;
    *set = Json(made)["annotation_set"];
    ASSERT_EQ(Json(made)["images"][0]["status"], "added") << made.body;
    const json& r = job["results"][0];
    *job_mask = Fetch("/api/files/" + std::to_string(r[mask_key].get<int64_t>()));
    *stored = Fetch("/api/annotations/" + std::to_string((*set)["id"].get<int64_t>()) + "/images/" +
                    std::to_string(r["source_file_id"].get<int64_t>()) + "/mask");
    ASSERT_EQ(stored->width, job_mask->width);
    ASSERT_EQ(stored->height, job_mask->height);
  }
};

TEST_F(AnnotationJobsTest, ACellposeJobsInstanceMasksBecomeAnInstancesSet) {
  const int64_t dataset =
      Dataset({{"cells.tif", ReadFile(TestModelsDir() / "images" / "cells_2ch.tif")}});
  json set;
  Image stored, job_mask;
  ASSERT_NO_FATAL_FAILURE(SetOfJob(Start(dataset, "cellpose_tiny", {{"channels", {1, 2}}}),
                                   "instance_mask_id", &set, &stored, &job_mask));
  EXPECT_EQ(set["kind"], "instances");
  EXPECT_EQ(set["labels"], json::parse(R"([{"id": 1, "name": "object", "colour": "#800000"}])"));
  int objects = 0;
  for (size_t i = 0; i < static_cast<size_t>(stored.width) * stored.height; ++i) {
    ASSERT_EQ(At(stored, i), At(job_mask, i)) << "pixel " << i;
    objects = std::max(objects, At(stored, i));
  }
  EXPECT_GT(objects, 1);
}

TEST_F(AnnotationJobsTest, ABinaryMaskOf255BecomesClassOneNamedByTheModel) {
  const int64_t dataset =
      Dataset({{"blobs.png", ReadFile(TestModelsDir() / "images" / "blobs.png")}});
  json set;
  Image stored, job_mask;
  ASSERT_NO_FATAL_FAILURE(
      SetOfJob(Start(dataset, "tiny_unet"), "class_mask_id", &set, &stored, &job_mask));
  EXPECT_EQ(set["kind"], "semantic");
  EXPECT_EQ(set["labels"],
            json::parse(R"([{"id": 1, "name": "foreground", "colour": "#800000"}])"));
  size_t foreground = 0;
  for (size_t i = 0; i < static_cast<size_t>(stored.width) * stored.height; ++i) {
    ASSERT_TRUE(At(job_mask, i) == 0 || At(job_mask, i) == 255);
    ASSERT_EQ(At(stored, i), At(job_mask, i) == 255 ? 1 : 0) << "pixel " << i;
    foreground += At(stored, i);
  }
  EXPECT_GT(foreground, 0u);
}

TEST_F(AnnotationJobsTest, AJobStillRunningIsAConflict) {
  // slow_model takes 50 ms a batch of 2: 80 images keep the job busy for about 2 s.
  const std::string image = ReadFile(TestModelsDir() / "images" / "square.png");
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 0; i < 80; ++i) files.push_back({"img" + std::to_string(i) + ".png", image});
  const int64_t id = Start(Dataset(files), "slow_model");
  ExpectError(Post("/api/inferences/" + std::to_string(id) + "/annotations", "{}"), 409,
              "its masks become a set once it ends");
  EXPECT_EQ(Post("/api/inferences/" + std::to_string(id) + "/cancel", "").status, 200);
  WaitForJob(id);
}

}  // namespace
}  // namespace infera::testing
