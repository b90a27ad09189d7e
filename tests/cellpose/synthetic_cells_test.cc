// Tests for cellpose/synthetic_cells.h (test scenes and `infera bench cellpose`): the generator is
// deterministic, honours its options, and its two modes differ (touching cells share borders,
// separate ones keep a gap).
#include "cellpose/synthetic_cells.h"

#include <gtest/gtest.h>

namespace infera::cellpose {
namespace {

TEST(SplitMix64Test, KnownSequence) {
  // The published SplitMix64 outputs for seed 0.
  SplitMix64 rng(0);
  EXPECT_EQ(rng.Next(), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(rng.Next(), 0x6E789E6AA1B965F4ull);
  for (int i = 0; i < 1000; ++i) {
    const double u = rng.Uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

TEST(SyntheticCellsTest, SameSeedSameImageOtherSeedOtherImage) {
  SyntheticCellsOptions o;
  const cellpose::LabelImage a = MakeSyntheticCells(o);
  const cellpose::LabelImage b = MakeSyntheticCells(o);
  EXPECT_EQ(a.labels, b.labels);
  o.seed = 2;
  EXPECT_NE(MakeSyntheticCells(o).labels, a.labels);
}

TEST(SyntheticCellsTest, SeparateCellsKeepAGapAndTouchingCellsShareBorders) {
  SyntheticCellsOptions o;
  o.height = 150;
  o.width = 200;
  o.count = 30;
  const cellpose::LabelImage separate = MakeSyntheticCells(o);
  EXPECT_EQ(CountLabels(separate), 30);
  EXPECT_EQ(TouchingPixelPairs(separate), 0);
  o.touching = true;
  o.count = 80;
  const cellpose::LabelImage touching = MakeSyntheticCells(o);
  EXPECT_GE(CountLabels(touching), 50);
  EXPECT_GT(TouchingPixelPairs(touching), 300);
  // Consecutive labels, each cell at least 20 pixels.
  std::vector<int> sizes(static_cast<size_t>(CountLabels(touching)) + 1, 0);
  for (uint32_t l : touching.labels) {
    ASSERT_LT(l, sizes.size());
    ++sizes[l];
  }
  for (size_t l = 1; l < sizes.size(); ++l) EXPECT_GE(sizes[l], 20) << l;
}

}  // namespace
}  // namespace infera::cellpose
