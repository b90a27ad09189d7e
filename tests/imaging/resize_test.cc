// Tests for imaging/resize.h: the 1-D taps (against torch's index/weight formulas) and
// the row cache of ResampleRows.
#include "imaging/resize.h"

#include <gtest/gtest.h>

#include <vector>

namespace infera {
namespace {

TEST(BilinearTapsTest, UpscaleByTwo) {
  const AxisTaps taps = BilinearTaps(2, 4);
  EXPECT_FALSE(taps.nearest);
  EXPECT_EQ(taps.index0, (std::vector<int>{0, 0, 0, 1}));
  EXPECT_EQ(taps.index1, (std::vector<int>{1, 1, 1, 1}));
  EXPECT_EQ(taps.lambda1, (std::vector<float>{0.0f, 0.25f, 0.75f, 0.25f}));
  EXPECT_EQ(taps.lambda0, (std::vector<float>{1.0f, 0.75f, 0.25f, 0.75f}));
}

TEST(BilinearTapsTest, DownscaleByOneAndAHalf) {
  const AxisTaps taps = BilinearTaps(3, 2);
  EXPECT_EQ(taps.index0, (std::vector<int>{0, 1}));
  EXPECT_EQ(taps.index1, (std::vector<int>{1, 2}));
  EXPECT_EQ(taps.lambda1, (std::vector<float>{0.25f, 0.75f}));
}

TEST(BilinearTapsTest, IdentityCopies) {
  const AxisTaps taps = BilinearTaps(5, 5);
  EXPECT_EQ(taps.index0, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(taps.index1, taps.index0);
  EXPECT_EQ(taps.lambda1, std::vector<float>(5, 0.0f));
  EXPECT_EQ(taps.lambda0, std::vector<float>(5, 1.0f));
}

TEST(BilinearTapsTest, SingleSourcePixel) {
  const AxisTaps taps = BilinearTaps(1, 3);
  EXPECT_EQ(taps.index0, (std::vector<int>{0, 0, 0}));
  EXPECT_EQ(taps.index1, (std::vector<int>{0, 0, 0}));
}

TEST(BilinearTapsTest, WeightsAreComputedInFloatAsTorchTwoDoes) {
  // 1000 -> 224, output 3: src = 4.4642859f * 3.5f - 0.5f = 15.125f exactly in float
  // (in double it would be 15.1250004768..., giving lambda1 = 0.12500048f).
  const AxisTaps taps = BilinearTaps(1000, 224);
  EXPECT_EQ(taps.index0[3], 15);
  EXPECT_EQ(taps.lambda1[3], 0.125f);
  EXPECT_EQ(taps.lambda0[3], 0.875f);
}

TEST(BilinearTapsTest, IndicesStayInRange) {
  for (int in : {1, 2, 3, 7, 224, 1000, 4097}) {
    for (int out : {1, 2, 5, 224, 299, 1000}) {
      const AxisTaps taps = BilinearTaps(in, out);
      for (int i = 0; i < out; ++i) {
        ASSERT_GE(taps.index0[i], 0);
        ASSERT_LT(taps.index1[i], in);
        ASSERT_LE(taps.index0[i], taps.index1[i]);
        ASSERT_GE(taps.lambda1[i], 0.0f);
        ASSERT_LE(taps.lambda1[i], 1.0f);
      }
    }
  }
}

TEST(NearestTapsTest, MatchesTorchNearestIdx) {
  EXPECT_EQ(NearestTaps(4, 3).index0, (std::vector<int>{0, 1, 2}));     // floor(i * 4/3)
  EXPECT_EQ(NearestTaps(5, 3).index0, (std::vector<int>{0, 1, 3}));     // floor(i * 5/3)
  EXPECT_EQ(NearestTaps(2, 4).index0, (std::vector<int>{0, 0, 1, 1}));  // i >> 1
  EXPECT_EQ(NearestTaps(3, 7).index0, (std::vector<int>{0, 0, 0, 1, 1, 2, 2}));
  EXPECT_EQ(NearestTaps(6, 6).index0, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_TRUE(NearestTaps(6, 6).nearest);
}

TEST(ResampleRowTest, InterpolatesInterleavedChannels) {
  const float row[] = {0, 100, 10, 200};  // two pixels, two channels
  const AxisTaps taps = BilinearTaps(2, 4);
  float out[8];
  ResampleRow(
      row, 2, taps, 2, [](const float* p, int c) { return p[c]; }, out);
  const std::vector<float> expected = {0, 100, 2.5, 125, 7.5, 175, 10, 200};
  EXPECT_EQ(std::vector<float>(out, out + 8), expected);
}

// Counts which source rows ResampleRows asks for.
std::vector<int> RequestedRows(const AxisTaps& rows) {
  std::vector<int> requested;
  std::vector<float> scratch;
  ResampleRows(
      rows, 1, &scratch,
      [&](int r, float* out) {
        requested.push_back(r);
        out[0] = static_cast<float>(r);
      },
      [&](int y, const float* row) {
        // Each output row is the blend of its two source rows.
        const float expected = rows.nearest
                                   ? static_cast<float>(rows.index0[y])
                                   : rows.lambda0[y] * static_cast<float>(rows.index0[y]) +
                                         rows.lambda1[y] * static_cast<float>(rows.index1[y]);
        EXPECT_FLOAT_EQ(row[0], expected) << "y=" << y;
      });
  return requested;
}

TEST(ResampleRowsTest, ResamplesEachNeededSourceRowOnceInOrder) {
  EXPECT_EQ(RequestedRows(BilinearTaps(3, 9)), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(RequestedRows(BilinearTaps(10, 2)), (std::vector<int>{2, 3, 7, 8}));
  EXPECT_EQ(RequestedRows(BilinearTaps(1, 4)), (std::vector<int>{0}));
  EXPECT_EQ(RequestedRows(NearestTaps(4, 2)), (std::vector<int>{0, 2}));
  EXPECT_EQ(RequestedRows(NearestTaps(2, 5)), (std::vector<int>{0, 1}));
}

}  // namespace
}  // namespace infera
