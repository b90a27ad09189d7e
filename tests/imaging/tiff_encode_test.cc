// Tests for EncodeTiff (imaging/codec.h): every pixel type and channel count round-trips
// sample for sample through DecodeImage (multi-strip images included), output is
// deterministic, and bad images are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <tuple>
#include <vector>

#include "imaging/codec.h"

namespace infera {
namespace {

Image Pattern(int width, int height, int channels, PixelType type) {
  Image image = MakeImage(width, height, channels, type);
  const size_t n = static_cast<size_t>(width) * height * channels;
  for (size_t i = 0; i < n; ++i) {
    switch (type) {
      case PixelType::kUInt8:
        image.pixels<uint8_t>()[i] = static_cast<uint8_t>(i * 37 + 11);
        break;
      case PixelType::kUInt16:
        image.pixels<uint16_t>()[i] = static_cast<uint16_t>(i * 7919 + 3);
        break;
      case PixelType::kFloat32:
        image.pixels<float>()[i] = std::sin(static_cast<float>(i)) * 1e3f;
        break;
    }
  }
  return image;
}

class TiffRoundTripTest : public ::testing::TestWithParam<std::tuple<PixelType, int /*channels*/>> {
};

TEST_P(TiffRoundTripTest, DecodesToTheSameSamples) {
  const auto [type, channels] = GetParam();
  // 300x200 spans several strips for every type; 1x1 and 7x3 are edge cases.
  for (auto [width, height] : {std::pair{1, 1}, {7, 3}, {300, 200}}) {
    const Image image = Pattern(width, height, channels, type);
    auto bytes = EncodeTiff(image);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    EXPECT_EQ(DetectImageFormat(*bytes), ImageFormat::kTiff);
    auto decoded = DecodeImage(*bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->width, width);
    EXPECT_EQ(decoded->height, height);
    EXPECT_EQ(decoded->channels, channels);
    EXPECT_EQ(decoded->type, type);
    EXPECT_EQ(decoded->pages, 1);
    EXPECT_TRUE(decoded->data == image.data) << width << "x" << height;
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, TiffRoundTripTest,
                         ::testing::Combine(::testing::Values(PixelType::kUInt8, PixelType::kUInt16,
                                                              PixelType::kFloat32),
                                            ::testing::Values(1, 2, 3, 4, 5)));

TEST(EncodeTiffTest, ManyChannels) {
  const Image image = Pattern(9, 4, 40, PixelType::kUInt16);
  auto bytes = EncodeTiff(image);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto decoded = DecodeImage(*bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->channels, 40);
  EXPECT_TRUE(decoded->data == image.data);
}

TEST(EncodeTiffTest, SpecialFloatsSurvive) {
  Image image = MakeImage(4, 1, 1, PixelType::kFloat32);
  float* p = image.pixels<float>();
  p[0] = std::numeric_limits<float>::infinity();
  p[1] = -0.0f;
  p[2] = std::numeric_limits<float>::denorm_min();
  p[3] = std::numeric_limits<float>::quiet_NaN();
  auto bytes = EncodeTiff(image);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto decoded = DecodeImage(*bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(std::memcmp(decoded->data.data(), image.data.data(), image.data.size()), 0);
}

TEST(EncodeTiffTest, IsDeterministicAndCompressesFlatImages) {
  const Image image = MakeImage(256, 256, 1, PixelType::kUInt16);  // all zero
  auto a = EncodeTiff(image);
  auto b = EncodeTiff(image);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_LT(a->size(), image.data.size() / 10);
}

TEST(EncodeTiffTest, BadImagesAreInvalidArgument) {
  Image truncated = Pattern(4, 4, 1, PixelType::kUInt8);
  truncated.data.pop_back();
  for (const Image& image : {Image{}, MakeImage(0, 3, 1, PixelType::kUInt8), truncated}) {
    auto bytes = EncodeTiff(image);
    ASSERT_FALSE(bytes.ok());
    EXPECT_EQ(bytes.status().code(), absl::StatusCode::kInvalidArgument) << bytes.status();
  }
}

}  // namespace
}  // namespace infera
