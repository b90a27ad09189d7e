// The cellpose runner end to end with a real trained model: `infera infer` runs
// cellpose_tiny (model_tools/train_cellpose.py) over the held-out synthetic 16-bit 2-channel
// TIFFs, and the instance masks it writes match the ground truth at AP@0.5 >= 0.8
// (tiling included: cells_large.tif is about 3x the 128-pixel tile); and on real gray
// images (python3-skimage's coins.png and cell.png) the counts are plausible.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cellpose/average_precision.h"
#include "imaging/codec.h"
#include "support/child_process.h"
#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;

cellpose::LabelImage ReadLabels(const fs::path& png) {
  const std::string bytes = testing::ReadFile(png);
  StatusOr<Image> image = DecodeImage(
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
  EXPECT_TRUE(image.ok()) << png << ": " << image.status();
  cellpose::LabelImage labels;
  if (!image.ok()) return labels;
  labels.height = image->height;
  labels.width = image->width;
  const size_t n = static_cast<size_t>(image->width) * image->height;
  labels.labels.resize(n);
  for (size_t i = 0; i < n; ++i) {
    labels.labels[i] = image->type == PixelType::kUInt16 ? image->pixels<uint16_t>()[i]
                                                         : image->pixels<uint8_t>()[i];
  }
  return labels;
}

TEST(CellposeTest, TrainedModelSegmentsHeldOutCellsThroughInfer) {
  const nlohmann::json expected =
      nlohmann::json::parse(testing::ReadFile(testing::TestModelsDir() / "cellpose_expected.json"));
  ASSERT_GE(expected["images"].size(), 5u);
  testing::TempDir tmp;
  std::vector<std::string> args = {testing::InferaBinary().string(),
                                   "infer",
                                   "--repository",
                                   (testing::TestModelsDir() / "repo").string(),
                                   "--model",
                                   "cellpose_tiny",
                                   "--output",
                                   (tmp.path() / "out").string(),
                                   "--param",
                                   "channels=[1,2]"};
  for (const auto& img : expected["images"]) {
    args.push_back("--input");
    args.push_back((testing::TestModelsDir() / img["image"].get<std::string>()).string());
  }
  const testing::RunResult run = testing::RunToExit(args, std::chrono::seconds(300));
  ASSERT_EQ(run.code, 0) << run.out << run.err;
  double sum = 0;
  int count = 0;
  for (const auto& img : expected["images"]) {
    const fs::path image = img["image"].get<std::string>();
    SCOPED_TRACE(image.string());
    const cellpose::LabelImage truth =
        ReadLabels(testing::TestModelsDir() / img["masks"].get<std::string>());
    const cellpose::LabelImage predicted =
        ReadLabels(tmp.path() / "out" / "masks" / (image.stem().string() + "_instances.png"));
    ASSERT_EQ(predicted.width, truth.width);
    ASSERT_EQ(predicted.height, truth.height);
    const cellpose::ApResult ap = cellpose::AveragePrecision(truth, predicted, 0.5);
    EXPECT_GE(ap.ap, 0.6) << "true " << ap.true_masks << " predicted " << ap.predicted_masks;
    sum += ap.ap;
    ++count;
  }
  EXPECT_GE(sum / count, 0.8);
  const nlohmann::json report =
      nlohmann::json::parse(testing::ReadFile(tmp.path() / "out" / "results.json"));
  for (const auto& r : report["results"]) {
    EXPECT_TRUE(r["error"].is_null()) << r.dump();
    EXPECT_GT(r["summary"]["count"].get<int>(), 10) << r.dump();
  }
}

// Runs `infera infer` with cellpose_tiny on one real image; returns its instance mask.
cellpose::LabelImage InferReal(const std::string& name, double diameter, int* count) {
  testing::TempDir tmp;
  const testing::RunResult run =
      testing::RunToExit({testing::InferaBinary().string(), "infer", "--repository",
                          (testing::TestModelsDir() / "repo").string(), "--model", "cellpose_tiny",
                          "--output", (tmp.path() / "out").string(), "--param", "channels=[0,0]",
                          "--param", "diameter=" + std::to_string(diameter), "--input",
                          (testing::TestModelsDir() / "images" / "real" / name).string()},
                         std::chrono::seconds(300));
  EXPECT_EQ(run.code, 0) << run.out << run.err;
  const nlohmann::json report =
      nlohmann::json::parse(testing::ReadFile(tmp.path() / "out" / "results.json"));
  *count = report["results"][0]["summary"]["count"].get<int>();
  return ReadLabels(tmp.path() / "out" / "masks" /
                    (fs::path(name).stem().string() + "_instances.png"));
}

// Real images no one synthesised (python3-skimage's data, gray, channels [0, 0]) get
// plausible counts: coins.png has 24 coins about 45 px across; cell.png one cell about
// 130 px across, centred near (428, 374) of 550 x 660.
TEST(CellposeTest, RealImagesGetPlausibleCounts) {
  int coins = 0;
  const cellpose::LabelImage coin_masks = InferReal("coins.png", 45, &coins);
  EXPECT_GE(coins, 18);
  EXPECT_LE(coins, 32);
  EXPECT_EQ(coin_masks.width, 384);

  int cells = 0;
  const cellpose::LabelImage cell = InferReal("cell.png", 130, &cells);
  ASSERT_EQ(cells, 1);
  double sy = 0, sx = 0, area = 0;
  for (int y = 0; y < cell.height; ++y) {
    for (int x = 0; x < cell.width; ++x) {
      if (cell.labels[static_cast<size_t>(y) * cell.width + x] == 0) continue;
      sy += y;
      sx += x;
      ++area;
    }
  }
  ASSERT_GT(area, 0);
  EXPECT_NEAR(sx / area, 428, 25);
  EXPECT_NEAR(sy / area, 374, 25);
  EXPECT_GT(area, 3.14 * 50 * 50);  // about a disc of radius 65
  EXPECT_LT(area, 3.14 * 80 * 80);
}

}  // namespace
}  // namespace infera
