// Tests for imaging/resize_image.h: nearest copies samples exactly (labels stay labels,
// torch's index rule), bilinear matches the 1-D taps, rounding for integer images, and
// errors.
#include "imaging/resize_image.h"

#include <gtest/gtest.h>

#include <vector>

namespace infera {
namespace {

template <typename T>
std::vector<T> Samples(const Image& image) {
  return {image.pixels<T>(), image.pixels<T>() + image.data.size() / sizeof(T)};
}

TEST(ResizeImageTest, NearestUpscaleNonSquare) {
  // 3x2 -> 7x5: columns 0,0,0,1,1,2,2 and rows 0,0,0,1,1.
  Image image = MakeImage(3, 2, 1, PixelType::kUInt16);
  for (int i = 0; i < 6; ++i) image.pixels<uint16_t>()[i] = static_cast<uint16_t>(1000 + i);
  auto out = ResizeImage(image, 7, 5, Interpolation::kNearest);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->type, PixelType::kUInt16);
  const std::vector<uint16_t> top = {1000, 1000, 1000, 1001, 1001, 1002, 1002};
  const std::vector<uint16_t> bottom = {1003, 1003, 1003, 1004, 1004, 1005, 1005};
  std::vector<uint16_t> expected;
  for (int y = 0; y < 5; ++y) {
    const auto& row = y < 3 ? top : bottom;
    expected.insert(expected.end(), row.begin(), row.end());
  }
  EXPECT_EQ(Samples<uint16_t>(*out), expected);
}

TEST(ResizeImageTest, NearestDownscaleKeepsChannelsTogether) {
  // 6x4 -> 3x2: columns 0,2,4 and rows 0,2; two channels per pixel.
  Image image = MakeImage(6, 4, 2, PixelType::kUInt8);
  for (int i = 0; i < 24; ++i) {
    image.pixels<uint8_t>()[2 * i] = static_cast<uint8_t>(i);
    image.pixels<uint8_t>()[2 * i + 1] = static_cast<uint8_t>(100 + i);
  }
  auto out = ResizeImage(image, 3, 2, Interpolation::kNearest);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Samples<uint8_t>(*out),
            (std::vector<uint8_t>{0, 100, 2, 102, 4, 104, 12, 112, 14, 114, 16, 116}));
}

TEST(ResizeImageTest, BilinearFloat) {
  // 2x1 -> 4x1: weights (1, 0), (.75, .25), (.25, .75), (0, 1) of the two samples.
  Image image = MakeImage(2, 1, 1, PixelType::kFloat32);
  image.pixels<float>()[0] = 0.2f;
  image.pixels<float>()[1] = 0.6f;
  auto out = ResizeImage(image, 4, 1, Interpolation::kBilinear);
  ASSERT_TRUE(out.ok());
  const std::vector<float> v = Samples<float>(*out);
  EXPECT_FLOAT_EQ(v[0], 0.2f);
  EXPECT_FLOAT_EQ(v[1], 0.3f);
  EXPECT_FLOAT_EQ(v[2], 0.5f);
  EXPECT_FLOAT_EQ(v[3], 0.6f);
}

TEST(ResizeImageTest, BilinearIntegerRoundsHalfToEven) {
  // 10 and 12 at 2x1 -> 4x1: 10, 10.5, 11.5, 12 -> 10, 10, 12, 12.
  Image image = MakeImage(2, 1, 1, PixelType::kUInt8);
  image.pixels<uint8_t>()[0] = 10;
  image.pixels<uint8_t>()[1] = 12;
  auto out = ResizeImage(image, 4, 1, Interpolation::kBilinear);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Samples<uint8_t>(*out), (std::vector<uint8_t>{10, 10, 12, 12}));
}

TEST(ResizeImageTest, SameSizeIsACopy) {
  Image image = MakeImage(3, 2, 1, PixelType::kFloat32);
  image.pixels<float>()[4] = 1.5f;
  image.pages = 4;
  for (Interpolation mode : {Interpolation::kNearest, Interpolation::kBilinear}) {
    auto out = ResizeImage(image, 3, 2, mode);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out->data, image.data);
    EXPECT_EQ(out->pages, 1);
  }
}

TEST(ResizeImageTest, ErrorsAreInvalidArgument) {
  const Image image = MakeImage(3, 2, 1, PixelType::kUInt8);
  Image truncated = image;
  truncated.data.pop_back();
  const std::vector<StatusOr<Image>> results = {
      ResizeImage(Image{}, 2, 2, Interpolation::kNearest),
      ResizeImage(truncated, 2, 2, Interpolation::kNearest),
      ResizeImage(image, 0, 2, Interpolation::kNearest),
      ResizeImage(image, 2, -1, Interpolation::kBilinear),
      ResizeImage(image, 100000, 100000, Interpolation::kNearest),
  };
  for (const auto& r : results) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  }
}

}  // namespace
}  // namespace infera
