// Tests for imaging/outline_overlay.h: inner-boundary pixels drawn in the
// label's colour, interiors and background keep the source, the image border
// counts as a boundary, neighbouring objects both outlined, size mismatch
// refused.
#include "imaging/outline_overlay.h"

#include <gtest/gtest.h>

#include <vector>

#include "imaging/overlay.h"

namespace infera {
namespace {

Rgb8 PixelAt(const Image& rgb, int x, int y) {
  const uint8_t* p = rgb.pixels<uint8_t>() + (static_cast<size_t>(y) * rgb.width + x) * 3;
  return {p[0], p[1], p[2]};
}

TEST(OutlineOverlayTest, DrawsTheInnerBoundaryOfEachObject) {
  // 6x5 gray 100; object 1 is the 3x3 square at (1..3, 1..3); object 2 is
  // column 5 (on the image border) and touches nothing.
  Image source = MakeImage(6, 5, 1, PixelType::kUInt8);
  for (auto& b : source.data) b = std::byte{100};
  std::vector<uint32_t> labels(30, 0);
  for (int y = 1; y <= 3; ++y) {
    for (int x = 1; x <= 3; ++x) labels[y * 6 + x] = 1;
  }
  for (int y = 0; y < 5; ++y) labels[y * 6 + 5] = 2;
  auto out = OverlayOutlines(source, labels);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->channels, 3);
  ASSERT_EQ(out->type, PixelType::kUInt8);
  const Rgb8 gray{100, 100, 100};
  for (int y = 0; y < 5; ++y) {
    for (int x = 0; x < 6; ++x) {
      const uint32_t l = labels[y * 6 + x];
      const bool interior = x == 2 && y == 2;
      const Rgb8 want = l == 0 || interior ? gray : LabelColor(l);
      EXPECT_EQ(PixelAt(*out, x, y), want) << x << "," << y;
    }
  }
}

TEST(OutlineOverlayTest, TouchingObjectsAreBothOutlined) {
  // Two 4x3 objects side by side in an 8x5 image: every column where they meet
  // is drawn.
  Image source = MakeImage(8, 5, 1, PixelType::kUInt8);
  std::vector<uint32_t> labels(40, 0);
  for (int y = 1; y <= 3; ++y) {
    for (int x = 0; x < 8; ++x) labels[y * 8 + x] = x < 4 ? 1 : 2;
  }
  auto out = OverlayOutlines(source, labels);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(PixelAt(*out, 3, 2), LabelColor(1));
  EXPECT_EQ(PixelAt(*out, 4, 2), LabelColor(2));
  EXPECT_EQ(PixelAt(*out, 2, 2), (Rgb8{0, 0, 0}));  // interior of 1
  EXPECT_EQ(PixelAt(*out, 5, 2), (Rgb8{0, 0, 0}));  // interior of 2
}

TEST(OutlineOverlayTest, LabelCountMustMatchTheImage) {
  const Image source = MakeImage(3, 3, 1, PixelType::kUInt8);
  const std::vector<uint32_t> labels(8, 0);
  auto out = OverlayOutlines(source, labels);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infera
