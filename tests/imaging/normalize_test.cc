// Tests for imaging/normalize.h: percentiles equal numpy's (values below computed with
// np.percentile), every pixel type gives the same result, flat and non-finite channels,
// clipping and errors.
#include "imaging/normalize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace infera {
namespace {

// The 16 samples 3 1 4 1 5 9 2 6 5 3 5 8 9 7 9 3 as a 4x4 one-channel image.
template <typename T>
Image Digits(PixelType type) {
  const int digits[16] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3};
  Image image = MakeImage(4, 4, 1, type);
  for (int i = 0; i < 16; ++i) image.pixels<T>()[i] = static_cast<T>(digits[i]);
  return image;
}

std::vector<float> Floats(const Image& image) {
  return {image.pixels<float>(), image.pixels<float>() + image.data.size() / sizeof(float)};
}

TEST(ChannelPercentilesTest, MatchNumpyLinearPercentiles) {
  // np.percentile(digits, [1, 99]) = [1, 9]; [10, 90] = [1.5, 9]; [25, 75] = [3, 7.25].
  for (PixelType type : {PixelType::kUInt8, PixelType::kUInt16, PixelType::kFloat32}) {
    Image image = type == PixelType::kUInt8    ? Digits<uint8_t>(type)
                  : type == PixelType::kUInt16 ? Digits<uint16_t>(type)
                                               : Digits<float>(type);
    auto r = ChannelPercentiles(image, 1, 99);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->size(), 1u);
    EXPECT_DOUBLE_EQ((*r)[0].low, 1.0);
    EXPECT_DOUBLE_EQ((*r)[0].high, 9.0);
    r = ChannelPercentiles(image, 10, 90);
    EXPECT_DOUBLE_EQ((*r)[0].low, 1.5);
    EXPECT_DOUBLE_EQ((*r)[0].high, 9.0);
    r = ChannelPercentiles(image, 25, 75);
    EXPECT_DOUBLE_EQ((*r)[0].low, 3.0);
    EXPECT_DOUBLE_EQ((*r)[0].high, 7.25);
    r = ChannelPercentiles(image, 0, 100);
    EXPECT_DOUBLE_EQ((*r)[0].low, 1.0);
    EXPECT_DOUBLE_EQ((*r)[0].high, 9.0);
  }
}

TEST(ChannelPercentilesTest, InterpolateBetweenSamples) {
  // np.percentile(np.arange(20), [1, 99]) = [0.19, 18.81].
  Image image = MakeImage(20, 1, 1, PixelType::kUInt16);
  for (int i = 0; i < 20; ++i) image.pixels<uint16_t>()[19 - i] = static_cast<uint16_t>(i);
  auto r = ChannelPercentiles(image, 1, 99);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ((*r)[0].low, 0.19);
  EXPECT_DOUBLE_EQ((*r)[0].high, 18.81);
}

TEST(ChannelPercentilesTest, ChannelsAreIndependent) {
  Image image = MakeImage(3, 1, 2, PixelType::kUInt8);
  const uint8_t samples[6] = {10, 200, 20, 100, 30, 0};
  std::copy(samples, samples + 6, image.pixels<uint8_t>());
  auto r = ChannelPercentiles(image, 0, 100);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].low, 10);
  EXPECT_EQ((*r)[0].high, 30);
  EXPECT_EQ((*r)[1].low, 0);
  EXPECT_EQ((*r)[1].high, 200);
}

TEST(ChannelPercentilesTest, NonFiniteSamplesAreLeftOut) {
  Image image = MakeImage(4, 1, 1, PixelType::kFloat32);
  float* p = image.pixels<float>();
  p[0] = std::numeric_limits<float>::quiet_NaN();
  p[1] = 2.0f;
  p[2] = std::numeric_limits<float>::infinity();
  p[3] = 4.0f;
  auto r = ChannelPercentiles(image, 0, 100);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].low, 2.0);
  EXPECT_EQ((*r)[0].high, 4.0);
}

TEST(NormalizePercentilesTest, MapsLowToZeroAndHighToOne) {
  auto out = NormalizePercentiles(Digits<uint16_t>(PixelType::kUInt16));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->type, PixelType::kFloat32);
  EXPECT_EQ(out->width, 4);
  EXPECT_EQ(out->height, 4);
  EXPECT_EQ(out->channels, 1);
  // (x - 1) / 8, as numpy computes it in float32.
  EXPECT_EQ(Floats(*out), (std::vector<float>{0.25f, 0, 0.375f, 0, 0.5f, 1, 0.125f, 0.625f, 0.5f,
                                              0.25f, 0.5f, 0.875f, 1, 0.75f, 1, 0.25f}));
}

TEST(NormalizePercentilesTest, DoesNotClipUnlessAsked) {
  Image image = MakeImage(20, 1, 1, PixelType::kUInt8);
  for (int i = 0; i < 20; ++i) image.pixels<uint8_t>()[i] = static_cast<uint8_t>(i);
  PercentileOptions options;
  options.low = 10;
  options.high = 90;
  auto out = NormalizePercentiles(image, options);
  ASSERT_TRUE(out.ok());
  const std::vector<float> v = Floats(*out);
  EXPECT_LT(v.front(), 0.0f);
  EXPECT_GT(v.back(), 1.0f);
  options.clip = true;
  out = NormalizePercentiles(image, options);
  ASSERT_TRUE(out.ok());
  const std::vector<float> c = Floats(*out);
  EXPECT_EQ(c.front(), 0.0f);
  EXPECT_EQ(c.back(), 1.0f);
  EXPECT_FLOAT_EQ(c[10], (10.0f - 1.9f) / 15.2f);
}

TEST(NormalizePercentilesTest, FlatChannelBecomesZero) {
  Image image = MakeImage(3, 2, 2, PixelType::kFloat32);
  float* p = image.pixels<float>();
  for (int i = 0; i < 6; ++i) {
    p[2 * i] = 7.5f;                       // flat
    p[2 * i + 1] = static_cast<float>(i);  // 0..5
  }
  auto out = NormalizePercentiles(image, {0, 100, false});
  ASSERT_TRUE(out.ok());
  const std::vector<float> v = Floats(*out);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(v[2 * i], 0.0f) << i;
    EXPECT_FLOAT_EQ(v[2 * i + 1], i / 5.0f) << i;
  }
}

TEST(NormalizePercentilesTest, MostlyConstantChannelIsFlatToo) {
  // 1st and 99th percentiles of 200 zeros and one 1000 are both 0.
  Image image = MakeImage(201, 1, 1, PixelType::kUInt16);
  image.pixels<uint16_t>()[100] = 1000;
  auto out = NormalizePercentiles(image);
  ASSERT_TRUE(out.ok());
  for (float v : Floats(*out)) EXPECT_EQ(v, 0.0f);
}

TEST(NormalizePercentilesTest, NanStaysNan) {
  Image image = MakeImage(3, 1, 1, PixelType::kFloat32);
  image.pixels<float>()[0] = std::numeric_limits<float>::quiet_NaN();
  image.pixels<float>()[1] = 1.0f;
  image.pixels<float>()[2] = 3.0f;
  auto out = NormalizePercentiles(image, {0, 100, true});
  ASSERT_TRUE(out.ok());
  const std::vector<float> v = Floats(*out);
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_EQ(v[1], 0.0f);
  EXPECT_EQ(v[2], 1.0f);
}

TEST(NormalizePercentilesTest, ErrorsAreInvalidArgument) {
  const Image image = Digits<uint8_t>(PixelType::kUInt8);
  for (auto [low, high] : {std::pair{50.0, 50.0}, {60.0, 40.0}, {-1.0, 99.0}, {1.0, 100.5}}) {
    auto out = NormalizePercentiles(image, {low, high, false});
    ASSERT_FALSE(out.ok()) << low << " " << high;
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  }
  auto empty = NormalizePercentiles(Image{});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  Image truncated = image;
  truncated.data.pop_back();
  auto bad = ChannelPercentiles(truncated, 1, 99);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infera
