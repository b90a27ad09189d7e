// Tests for cellpose/label_regions.h: boxes, pixel counts and the per-pixel index, for
// small and for huge sparse label values.
#include "cellpose/label_regions.h"

#include <gtest/gtest.h>

#include <vector>

namespace infera::cellpose {
namespace {

void ExpectRegion(const LabelRegion& r, uint32_t label, int top, int left, int bottom, int right,
                  int64_t pixels) {
  EXPECT_EQ(r.label, label);
  EXPECT_EQ(r.top, top);
  EXPECT_EQ(r.left, left);
  EXPECT_EQ(r.bottom, bottom);
  EXPECT_EQ(r.right, right);
  EXPECT_EQ(r.pixels, pixels);
}

TEST(FindLabelRegionsTest, BoxesCountsAndIndexSortedByLabel) {
  LabelImage image = MakeLabelImage(3, 4);
  image.labels = {0, 5, 5, 0,  //
                  2, 0, 5, 0,  //
                  2, 0, 0, 9};
  const LabelRegions r = FindLabelRegions(image);
  ASSERT_EQ(r.regions.size(), 3u);
  ExpectRegion(r.regions[0], 2, 1, 0, 3, 1, 2);
  ExpectRegion(r.regions[1], 5, 0, 1, 2, 3, 3);
  ExpectRegion(r.regions[2], 9, 2, 3, 3, 4, 1);
  EXPECT_EQ(r.region_of_pixel, (std::vector<uint32_t>{0, 2, 2, 0, 1, 0, 2, 0, 1, 0, 0, 3}));
}

TEST(FindLabelRegionsTest, HugeSparseLabels) {
  LabelImage image = MakeLabelImage(2, 2);
  image.labels = {4000000000u, 0, 7, 4000000000u};
  const LabelRegions r = FindLabelRegions(image);
  ASSERT_EQ(r.regions.size(), 2u);
  ExpectRegion(r.regions[0], 7, 1, 0, 2, 1, 1);
  ExpectRegion(r.regions[1], 4000000000u, 0, 0, 2, 2, 2);
  EXPECT_EQ(r.region_of_pixel, (std::vector<uint32_t>{2, 0, 1, 2}));
}

TEST(FindLabelRegionsTest, AllBackground) {
  const LabelRegions r = FindLabelRegions(MakeLabelImage(2, 3));
  EXPECT_TRUE(r.regions.empty());
  EXPECT_EQ(r.region_of_pixel, std::vector<uint32_t>(6, 0));
}

}  // namespace
}  // namespace infera::cellpose
