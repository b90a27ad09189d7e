// The real `infera infer` and `infera bench job` binaries: masks written offline equal
// PyTorch's (expected_masks.json), files that are not images are skipped with a reason
// and exit code 3, bad options and params exit 1 with a message; bench job reports
// both paths and their ratio.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "imaging/codec.h"
#include "support/child_process.h"
#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using json = nlohmann::json;

using CliRun = testing::RunResult;

CliRun RunInfera(std::vector<std::string> args, int limit_s = 120) {
  args.insert(args.begin(), testing::InferaBinary().string());
  return testing::RunToExit(args, std::chrono::seconds(limit_s));
}

std::string Repo() { return (testing::TestModelsDir() / "repo").string(); }

json ExpectedCase(const std::string& model, const std::string& image, const std::string& artifact) {
  const json expected =
      json::parse(testing::ReadFile(testing::TestModelsDir() / "expected_masks.json"));
  for (const json& c : expected["cases"]) {
    if (c["model"] == model && c["image"] == image && c["artifact"] == artifact) return c;
  }
  ADD_FAILURE() << "no expected case " << model << " " << image;
  return json();
}

TEST(InferCliTest, WritesMasksEqualToPyTorchAndSkipsNonImages) {
  testing::TempDir tmp;
  const fs::path in = tmp.path() / "in";
  fs::create_directories(in / "nested");
  fs::create_directories(in / ".hidden");
  fs::copy_file(testing::TestModelsDir() / "images" / "cells_2ch.tif",
                in / "nested" / "cells_2ch.tif");
  testing::WriteFile(in / "notes.txt", "not an image");
  testing::WriteFile(in / ".hidden" / "x.png", "hidden folders are skipped");
  const fs::path out = tmp.path() / "out";
  CliRun r = RunInfera({"infer", "--repository", Repo(), "--model", "tiny_tiff", "--input",
                        in.string(), "--output", out.string(), "--param", "output=labels",
                        "--param", "output_is_probability=true"});
  EXPECT_EQ(r.code, 3) << r.out << r.err;  // one file skipped
  EXPECT_THAT(r.err, HasSubstr("skipped notes.txt: not an image"));
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("x.png")));
  EXPECT_THAT(r.out, HasSubstr("1 images in"));
  EXPECT_THAT(r.out, HasSubstr("1 done, 0 failed, 1 skipped"));

  const json report = json::parse(testing::ReadFile(out / "results.json"));
  EXPECT_EQ(report["status"], "completed");
  EXPECT_EQ(report["params"]["output"], "labels");
  ASSERT_EQ(report["results"].size(), 1u);
  EXPECT_TRUE(report["results"][0]["error"].is_null());
  EXPECT_FALSE(fs::exists(out / "images"));  // only with --copy-sources
  for (const auto& e : fs::directory_iterator(out)) {
    EXPECT_FALSE(e.path().filename().string().starts_with(".infera-work")) << e.path();
  }
  // The label map equals PyTorch's, pixel for pixel.
  const json c = ExpectedCase("tiny_tiff", "images/cells_2ch.tif", "class_mask");
  fs::path mask;
  for (const auto& e : fs::directory_iterator(out / "masks")) mask = e.path();
  ASSERT_TRUE(mask.filename().string().starts_with("cells_2ch_mask.")) << mask;
  const std::string bytes = testing::ReadFile(mask);
  StatusOr<Image> image = DecodeImage(
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
  ASSERT_TRUE(image.ok()) << image.status();
  ASSERT_EQ(image->width, c["width"].get<int>());
  ASSERT_EQ(image->height, c["height"].get<int>());
  size_t mismatches = 0;
  for (int y = 0; y < image->height; ++y) {
    for (int x = 0; x < image->width; ++x) {
      const size_t i = static_cast<size_t>(y) * image->width + x;
      const double got = image->type == PixelType::kUInt16 ? image->pixels<uint16_t>()[i]
                                                           : image->pixels<uint8_t>()[i];
      if (got != c["mask"][y][x].get<double>()) ++mismatches;
    }
  }
  EXPECT_EQ(mismatches, 0u);
  EXPECT_TRUE(fs::exists(out / "previews" / "cells_2ch_preview.png"));
}

TEST(InferCliTest, AllImagesDoneExitsZeroAndCopiesSources) {
  testing::TempDir tmp;
  const fs::path image = testing::TestModelsDir() / "images" / "blobs.png";
  const fs::path out = tmp.path() / "out";
  CliRun r = RunInfera({"infer", "--model", Repo() + "/tiny_unet/", "--input", image.string(),
                        "--output", out.string(), "--copy-sources", "--param", "threshold=0.5"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(fs::exists(out / "masks" / "blobs_mask.png"));
  EXPECT_EQ(testing::ReadFile(out / "images" / "blobs.png"), testing::ReadFile(image));
}

TEST(InferCliTest, BadOptionsAndParamsExitOneWithAReason) {
  testing::TempDir tmp;
  const std::string image = (testing::TestModelsDir() / "images" / "blobs.png").string();
  const std::string out = (tmp.path() / "out").string();
  CliRun r = RunInfera({"infer", "--repository", Repo(), "--model", "tiny_unet", "--input", image,
                        "--output", out, "--param", "threshold=7"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("threshold"));
  r = RunInfera({"infer", "--repository", Repo(), "--model", "tiny_unet", "--input", image,
                 "--output", out, "--param", "shiny=yes"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("shiny"));
  r = RunInfera({"infer", "--repository", Repo(), "--model", "tiny_unet", "--input", image,
                 "--output", out, "--param", "novalue"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("expected key=value"));
  r = RunInfera(
      {"infer", "--repository", Repo(), "--model", "nope", "--input", image, "--output", out});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("no model 'nope'"));
  r = RunInfera({"infer", "--repository", Repo(), "--model", "tiny_unet", "--input",
                 (tmp.path() / "missing").string(), "--output", out});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("no such file or folder"));
  r = RunInfera({"infer", "--model", "tiny_unet", "--input", image, "--output", out});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("not a model folder"));
}

TEST(BenchJobBinaryTest, ReportsJobAndPlainLoop) {
  testing::TempDir tmp;
  const fs::path report_file = tmp.path() / "bench.json";
  CliRun r = RunInfera({"bench", "job", "--repository", Repo(), "--model", "tiny_unet", "--images",
                        "6", "--size", "64", "--json", report_file.string()});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("plain loop (batch 1)"));
  EXPECT_THAT(r.out, HasSubstr("ratio job / plain loop"));
  EXPECT_THAT(r.out, HasSubstr("job (2 instances)"));  // tiny_unet's model.yaml
  const json report = json::parse(testing::ReadFile(report_file));
  EXPECT_EQ(report["job"]["instances"], 2);
  EXPECT_GT(report["plain"]["images_per_s"].get<double>(), 0);
  EXPECT_GT(report["job"]["images_per_s"].get<double>(), 0);
  EXPECT_EQ(report["plain"]["errors"], 0);
  EXPECT_GT(report["ratio"].get<double>(), 0);
  // Busy time of both instances over wall x instances: a share, even when they overlap.
  const double outside = report["job"]["outside_model"].get<double>();
  EXPECT_GE(outside, 0.0);
  EXPECT_LE(outside, 1.0);
}

TEST(BenchCellposeBinaryTest, ReportsEveryPhase) {
  testing::TempDir tmp;
  const fs::path report_file = tmp.path() / "cellpose.json";
  CliRun r = RunInfera({"bench", "cellpose", "--size", "256", "--cells", "40", "--repeats", "1",
                        "--json", report_file.string()});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("flow dynamics (niter 200)"));
  EXPECT_THAT(r.out, HasSubstr("of the 1 s budget"));
  const json report = json::parse(testing::ReadFile(report_file));
  EXPECT_EQ(report["size"], 256);
  EXPECT_GT(report["cells"].get<int>(), 20);
  // Ideal network outputs: the reconstruction finds every cell drawn.
  EXPECT_EQ(report["objects_found"], report["cells"]);
  for (const char* phase :
       {"dynamics", "clustering", "dynamics_and_clustering", "masks_to_flows", "compute_masks"}) {
    EXPECT_GT(report["ms"][phase].get<double>(), 0) << phase;
  }
  EXPECT_NE(RunInfera({"bench", "cellpose", "--size", "8"}).code, 0);  // below the range
}

}  // namespace
}  // namespace infera
