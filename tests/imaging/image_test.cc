// Tests for imaging/image.h: MakeImage and PlaceTopLeft (pad and crop).
#include "imaging/image.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace infera {
namespace {

TEST(ImageTest, MakeImageIsZeroedWithItsGeometry) {
  Image image = MakeImage(3, 2, 2, PixelType::kUInt16);
  EXPECT_EQ(image.row_bytes(), 12u);
  ASSERT_EQ(image.data.size(), 24u);
  for (std::byte b : image.data) EXPECT_EQ(b, std::byte{0});
  EXPECT_TRUE(MakeImage(0, 5, 1, PixelType::kUInt8).data.empty());
}

// A 2x2 two-channel 16-bit image into 3x3: the samples at the top-left, zeros elsewhere.
TEST(ImageTest, PlaceTopLeftPadsRightAndBelow) {
  Image image = MakeImage(2, 2, 2, PixelType::kUInt16);
  for (int i = 0; i < 8; ++i) image.pixels<uint16_t>()[i] = static_cast<uint16_t>(1000 + i);
  image.pages = 3;
  const Image out = PlaceTopLeft(image, 3, 3);
  EXPECT_EQ(out.width, 3);
  EXPECT_EQ(out.height, 3);
  EXPECT_EQ(out.channels, 2);
  EXPECT_EQ(out.type, PixelType::kUInt16);
  EXPECT_EQ(out.pages, 3);
  const std::vector<int> want = {1000, 1001, 1002, 1003, 0, 0,  //
                                 1004, 1005, 1006, 1007, 0, 0,  //
                                 0,    0,    0,    0,    0, 0};
  ASSERT_EQ(out.data.size(), want.size() * 2);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(out.pixels<uint16_t>()[i], want[i]) << i;
}

TEST(ImageTest, PlaceTopLeftCropsWhatDoesNotFit) {
  Image image = MakeImage(4, 3, 1, PixelType::kFloat32);
  for (int i = 0; i < 12; ++i) image.pixels<float>()[i] = static_cast<float>(i);
  const Image out = PlaceTopLeft(image, 2, 2);
  ASSERT_EQ(out.data.size(), 4u * sizeof(float));
  EXPECT_EQ(std::vector<float>(out.pixels<float>(), out.pixels<float>() + 4),
            (std::vector<float>{0, 1, 4, 5}));
  // Wider but shorter: the first row's 4 samples and a zero, one row.
  const Image wide = PlaceTopLeft(image, 5, 1);
  EXPECT_EQ(std::vector<float>(wide.pixels<float>(), wide.pixels<float>() + 5),
            (std::vector<float>{0, 1, 2, 3, 0}));
}

}  // namespace
}  // namespace infera
