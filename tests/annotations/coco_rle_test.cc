// COCO RLE: the reference's examples (maskApi.c), column-major order, the compressed
// string form both ways, and counts that do not fit the image refused.
#include "annotations/coco_rle.h"

#include <gtest/gtest.h>

#include <random>

#include "support/status_matchers.h"

namespace infera {
namespace {

TEST(CocoRleTest, TheReferenceExamples) {
  // A 7x1 column: column-major order is the order given.
  EXPECT_EQ(CocoRleEncode({0, 0, 1, 1, 1, 0, 1}, 1, 7), (std::vector<uint32_t>{2, 3, 1, 1}));
  EXPECT_EQ(CocoRleEncode({1, 1, 1, 1, 1, 1, 0}, 1, 7), (std::vector<uint32_t>{0, 6, 1}));
  ASSERT_OK_AND_ASSIGN(auto mask, CocoRleDecode({2, 3, 1, 1}, 1, 7));
  EXPECT_EQ(mask, (std::vector<uint8_t>{0, 0, 1, 1, 1, 0, 1}));
}

TEST(CocoRleTest, CountsRunDownColumns) {
  // 3 wide, 2 high, row-major: [1 0 0; 1 1 0] -> column-major 1 1 | 0 1 | 0 0.
  EXPECT_EQ(CocoRleEncode({1, 0, 0, 1, 1, 0}, 3, 2), (std::vector<uint32_t>{0, 2, 1, 1, 2}));
  ASSERT_OK_AND_ASSIGN(auto mask, CocoRleDecode({0, 2, 1, 1, 2}, 3, 2));
  EXPECT_EQ(mask, (std::vector<uint8_t>{1, 0, 0, 1, 1, 0}));
}

TEST(CocoRleTest, CompressedStrings) {
  // Deltas from index 3 on: 1 - 3 = -2 is one group with the sign bit.
  EXPECT_EQ(CocoRleToString({2, 3, 1, 1}), "231N");
  ASSERT_OK_AND_ASSIGN(auto counts, CocoRleFromString("231N"));
  EXPECT_EQ(counts, (std::vector<uint32_t>{2, 3, 1, 1}));
  // Large counts take several 5-bit groups.
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<uint32_t> c(1 + rng() % 20);
    for (uint32_t& v : c) v = rng() % (trial % 2 ? 100000 : 40);
    ASSERT_OK_AND_ASSIGN(auto back, CocoRleFromString(CocoRleToString(c)));
    EXPECT_EQ(back, c);
  }
}

TEST(CocoRleTest, BadInputIsRefused) {
  EXPECT_EQ(CocoRleDecode({2, 3, 1}, 1, 7).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CocoRleDecode({2, 3, 1, 5}, 1, 7).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CocoRleFromString("2 3").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CocoRleFromString("2\x7f").status().code(), absl::StatusCode::kInvalidArgument);
  // 'P' (0x20 set: more to come) at the end.
  EXPECT_EQ(CocoRleFromString("P").status().code(), absl::StatusCode::kInvalidArgument);
  // A negative count: 0 then 0 then 0 then delta -1.
  EXPECT_EQ(CocoRleFromString("000O").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infera

namespace infera {
namespace {

// CocoRleEncodeLabel reads only the label's box; it must give exactly the counts of the
// whole binary mask, for labels touching any border, single pixels and the full image.
TEST(CocoRleTest, OneLabelFromItsBoxEqualsTheWholeMask) {
  std::mt19937 rng(7);
  for (int round = 0; round < 60; ++round) {
    const int w = 1 + static_cast<int>(rng() % 23), h = 1 + static_cast<int>(rng() % 19);
    const int max_label = round % 2 == 0 ? 6 : 300;  // 8- and 16-bit label images
    Image labels = MakeLabelImage(w, h, max_label);
    const size_t n = static_cast<size_t>(w) * h;
    const int kind = round % 4;
    for (size_t i = 0; i < n; ++i) {
      int v = static_cast<int>(rng() % (max_label + 1));
      if (kind == 1) v = 5;                         // one label fills the image
      if (kind == 2) v = (rng() % 9 == 0) ? v : 0;  // sparse
      SetLabel(&labels, i, v);
    }
    std::vector<LabelExtent> extents = LabelExtents(labels);
    std::vector<int> present = LabelsPresent(labels);
    ASSERT_EQ(extents.size(), present.size());
    for (size_t k = 0; k < extents.size(); ++k) {
      const LabelExtent& e = extents[k];
      ASSERT_EQ(e.value, present[k]);
      std::vector<uint8_t> bin(n, 0);
      int64_t area = 0;
      int x0 = w, y0 = h, x1 = -1, y1 = -1;
      for (size_t i = 0; i < n; ++i) {
        if (LabelAt(labels, i) != e.value) continue;
        bin[i] = 1;
        ++area;
        const int x = static_cast<int>(i % w), y = static_cast<int>(i / w);
        x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x), y1 = std::max(y1, y);
      }
      EXPECT_EQ(e.area, area);
      EXPECT_EQ(std::vector<int>({e.x0, e.y0, e.x1, e.y1}), std::vector<int>({x0, y0, x1, y1}));
      EXPECT_EQ(CocoRleEncodeLabel(labels, e), CocoRleEncode(bin, w, h))
          << "round " << round << " label " << e.value;
    }
  }
  // A label that is not there: all background.
  Image empty = MakeLabelImage(4, 3, 1);
  EXPECT_EQ(CocoRleEncodeLabel(empty, LabelExtent{}), std::vector<uint32_t>({12}));
}

}  // namespace
}  // namespace infera
