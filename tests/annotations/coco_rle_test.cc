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
