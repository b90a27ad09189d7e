// Tests for cellpose/cluster_masks.h with hand-placed final positions: clusters become
// masks, small clusters (<= 10 positions) do not, seed regions grow only through cells
// with more than 2 positions and at most 5 cells, the larger seed loses overlaps, huge masks
// are removed, labels come out 1..N in row-major order of first appearance, and invalid
// inputs.
#include "cellpose/cluster_masks.h"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

namespace infera::cellpose {
namespace {

// Pixels and where they ended, built up group by group.
struct Ends {
  std::vector<uint32_t> pixels;
  std::vector<Point> positions;

  // `count` consecutive pixels from `first` all ending at (y, x).
  void Add(uint32_t first, int count, float y, float x) {
    for (int i = 0; i < count; ++i) {
      pixels.push_back(first + static_cast<uint32_t>(i));
      positions.push_back(Point{y, x});
    }
  }
};

TEST(ClusterMasksTest, TwoClustersBecomeTwoMasksAndStragglersAreBackground) {
  const int h = 40, w = 40;
  Ends e;
  e.Add(0, 30, 10.2f, 10.7f);    // pixels 0..29 -> cluster A at cell (10, 10)
  e.Add(400, 25, 30.9f, 29.1f);  // pixels 400..424 -> cluster B at cell (30, 29)
  e.Add(800, 1, 20.0f, 20.0f);   // a lone pixel
  e.Add(900, 10, 5.0f, 35.0f);   // 10 positions: not more than 10, no seed
  auto masks = ClusterMasks(h, w, e.pixels, e.positions);
  ASSERT_TRUE(masks.ok()) << masks.status();
  for (uint32_t i = 0; i < 30; ++i) EXPECT_EQ(masks->labels[i], 1u) << i;
  for (uint32_t i = 400; i < 425; ++i) EXPECT_EQ(masks->labels[i], 2u) << i;
  EXPECT_EQ(masks->labels[800], 0u);
  for (uint32_t i = 900; i < 910; ++i) EXPECT_EQ(masks->labels[i], 0u) << i;
  // Pixels that were not given stay background.
  EXPECT_EQ(masks->labels[100], 0u);

  // One more position makes the 10-pixel cluster a mask.
  e.Add(910, 1, 5.5f, 35.5f);
  masks = ClusterMasks(h, w, e.pixels, e.positions);
  ASSERT_TRUE(masks.ok());
  for (uint32_t i = 900; i < 911; ++i) EXPECT_NE(masks->labels[i], 0u) << i;
}

TEST(ClusterMasksTest, SeedRegionsGrowThroughCellsWithMoreThanTwoPositions) {
  const int h = 60, w = 60;
  Ends e;
  e.Add(0, 20, 30, 30);  // the seed
  // A chain of cells with 3 positions each to the right of the seed: (30, 31) .. (30, 37).
  uint32_t next = 100;
  for (int k = 1; k <= 7; ++k) {
    e.Add(next, 3, 30, static_cast<float>(30 + k));
    next += 3;
  }
  // Cells with only 2 positions below the seed: (31, 30), (32, 30).
  e.Add(200, 2, 31, 30);
  e.Add(210, 2, 32, 30);
  auto masks = ClusterMasks(h, w, e.pixels, e.positions);
  ASSERT_TRUE(masks.ok()) << masks.status();
  EXPECT_EQ(masks->labels[0], 1u);
  // Chain cells 1..5 away are reached in 5 growth steps; 6 and 7 are not.
  for (int k = 1; k <= 7; ++k) {
    const uint32_t pixel = 100 + 3 * static_cast<uint32_t>(k - 1);
    EXPECT_EQ(masks->labels[pixel], k <= 5 ? 1u : 0u) << "chain cell " << k;
  }
  EXPECT_EQ(masks->labels[200], 0u);
  EXPECT_EQ(masks->labels[210], 0u);
}

TEST(ClusterMasksTest, LargerSeedIsPaintedFirstAndLosesTheOverlap) {
  // Two seeds 6 cells apart (each the maximum of its own 5x5 window) joined by a bridge of
  // cells with 3 positions: both regions grow over the bridge; the smaller seed is painted
  // last and keeps it.
  const int h = 60, w = 60;
  Ends e;
  e.Add(0, 40, 30, 20);    // large seed at (30, 20)
  e.Add(100, 15, 30, 26);  // small seed at (30, 26)
  for (int j = 0; j < 5; ++j) {
    e.Add(200 + 10 * static_cast<uint32_t>(j), 3, 30, static_cast<float>(21 + j));  // bridge
  }
  auto masks = ClusterMasks(h, w, e.pixels, e.positions);
  ASSERT_TRUE(masks.ok()) << masks.status();
  const uint32_t large = masks->labels[0];
  const uint32_t small = masks->labels[100];
  ASSERT_NE(large, 0u);
  ASSERT_NE(small, 0u);
  ASSERT_NE(large, small);
  // Every bridge cell is within 5 steps of both seeds.
  for (int j = 0; j < 5; ++j) EXPECT_EQ(masks->labels[200 + 10 * j], small) << "bridge " << j;
}

TEST(ClusterMasksTest, HugeMasksAreRemoved) {
  // 10 x 10 image; 45 pixels end in one cluster (45% > 40%), 12 in another.
  Ends e;
  e.Add(0, 45, 2, 2);
  e.Add(50, 12, 7, 7);
  auto masks = ClusterMasks(10, 10, e.pixels, e.positions);
  ASSERT_TRUE(masks.ok()) << masks.status();
  for (uint32_t i = 0; i < 45; ++i) EXPECT_EQ(masks->labels[i], 0u) << i;
  for (uint32_t i = 50; i < 62; ++i) EXPECT_EQ(masks->labels[i], 1u) << i;
  // A larger fraction keeps it.
  masks = ClusterMasks(10, 10, e.pixels, e.positions, 0.5);
  ASSERT_TRUE(masks.ok());
  EXPECT_EQ(masks->labels[0], 1u);
  EXPECT_EQ(masks->labels[50], 2u);
}

TEST(ClusterMasksTest, LabelsAreNumberedInRowMajorOrderOfFirstAppearance) {
  // The seed with more positions would be painted first; numbering ignores that.
  Ends e;
  e.Add(0, 12, 30, 30);    // pixels 0..11 (first in the image) -> small seed
  e.Add(50, 40, 5, 5);     // pixels 50..89 -> large seed
  e.Add(200, 20, 15, 35);  // pixels 200..219
  auto masks = ClusterMasks(40, 40, e.pixels, e.positions);
  ASSERT_TRUE(masks.ok()) << masks.status();
  EXPECT_EQ(masks->labels[0], 1u);
  EXPECT_EQ(masks->labels[50], 2u);
  EXPECT_EQ(masks->labels[200], 3u);
}

TEST(ClusterMasksTest, NoPixelsGiveAnEmptyImage) {
  auto masks = ClusterMasks(3, 4, {}, {});
  ASSERT_TRUE(masks.ok()) << masks.status();
  EXPECT_EQ(masks->labels, std::vector<uint32_t>(12, 0));
}

TEST(ClusterMasksTest, InvalidInputsAreInvalidArgument) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto code = [](int h, int w, std::vector<uint32_t> pixels, std::vector<Point> positions,
                 double fraction = 0.4) {
    return ClusterMasks(h, w, pixels, positions, fraction).status().code();
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(code(0, 5, {}, {}), kInvalid);
  EXPECT_EQ(code(5, -1, {}, {}), kInvalid);
  EXPECT_EQ(code(5, 5, {1, 2}, {Point{1, 1}}), kInvalid);
  EXPECT_EQ(code(5, 5, {25}, {Point{1, 1}}), kInvalid);
  EXPECT_EQ(code(5, 5, {1}, {Point{5.0f, 1}}), kInvalid);
  EXPECT_EQ(code(5, 5, {1}, {Point{1, -0.5f}}), kInvalid);
  EXPECT_EQ(code(5, 5, {1}, {Point{nan, 1}}), kInvalid);
  EXPECT_EQ(code(5, 5, {1}, {Point{1, 1}}, std::nan("")), kInvalid);
  EXPECT_EQ(code(5, 5, {1}, {Point{4.0f, 4.0f}}), absl::StatusCode::kOk);
}

}  // namespace
}  // namespace infera::cellpose
