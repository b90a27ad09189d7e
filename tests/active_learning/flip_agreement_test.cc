#include "active_learning/flip_agreement.h"

#include <gtest/gtest.h>

#include <vector>

#include "support/status_matchers.h"

namespace infera {
namespace {

Image FloatImage(int width, int height, int channels, const std::vector<float>& values) {
  Image image = MakeImage(width, height, channels, PixelType::kFloat32);
  std::copy(values.begin(), values.end(), image.pixels<float>());
  return image;
}

std::vector<float> Values(const Image& image) {
  const float* p = image.pixels<float>();
  return std::vector<float>(p,
                            p + static_cast<size_t>(image.width) * image.height * image.channels);
}

TEST(FlipAgreementTest, FlipsMirrorPixelsWithTheirChannels) {
  // 3x2, two channels: pixel (x, y) = (10y + x, -(10y + x)).
  std::vector<float> v;
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 3; ++x) {
      v.push_back(static_cast<float>(10 * y + x));
      v.push_back(-static_cast<float>(10 * y + x));
    }
  }
  Image image = FloatImage(3, 2, 2, v);
  EXPECT_EQ(Values(Flip(image, FlipAxis::kHorizontal)),
            (std::vector<float>{2, -2, 1, -1, 0, 0, 12, -12, 11, -11, 10, -10}));
  EXPECT_EQ(Values(Flip(image, FlipAxis::kVertical)),
            (std::vector<float>{10, -10, 11, -11, 12, -12, 0, 0, 1, -1, 2, -2}));
  EXPECT_EQ(Values(Flip(Flip(image, FlipAxis::kHorizontal), FlipAxis::kHorizontal)), v);
  // 8-bit images flip too (the ranker flips decoded sources).
  Image bytes = MakeImage(2, 1, 1, PixelType::kUInt8);
  bytes.pixels<uint8_t>()[0] = 7;
  EXPECT_EQ(Flip(bytes, FlipAxis::kHorizontal).pixels<uint8_t>()[1], 7);
}

TEST(FlipAgreementTest, SymmetricModelOnSymmetricImageAgreesExactly) {
  // A "model" that is the identity on a left-right and top-bottom symmetric image: its
  // flipped predictions, flipped back, are the prediction itself.
  Image image = FloatImage(3, 3, 1, {0.1f, 0.7f, 0.1f, 0.7f, 0.9f, 0.7f, 0.1f, 0.7f, 0.1f});
  auto model = [](const Image& x) { return x; };
  std::vector<Image> back = {Flip(model(Flip(image, FlipAxis::kHorizontal)), FlipAxis::kHorizontal),
                             Flip(model(Flip(image, FlipAxis::kVertical)), FlipAxis::kVertical)};
  ASSERT_OK_AND_ASSIGN(double d, FlipDisagreement(model(image), back));
  EXPECT_DOUBLE_EQ(d, 0.0);
}

TEST(FlipAgreementTest, PositionBiasedModelDisagrees) {
  // A "model" that always says "left half is foreground" ignores the image: flipping the
  // image and its prediction back makes it say "right half" — full disagreement.
  Image left = FloatImage(2, 1, 1, {1.0f, 0.0f});
  std::vector<Image> back = {Flip(left, FlipAxis::kHorizontal)};
  ASSERT_OK_AND_ASSIGN(double d, FlipDisagreement(left, back));
  EXPECT_DOUBLE_EQ(d, 1.0);
  // Half-way apart on every sample: 0.25.
  ASSERT_OK_AND_ASSIGN(double m, MeanAbsoluteDifference(FloatImage(2, 1, 1, {0.5f, 0.5f}),
                                                        FloatImage(2, 1, 1, {0.25f, 0.75f})));
  EXPECT_DOUBLE_EQ(m, 0.25);
}

TEST(FlipAgreementTest, RefusesMismatchedMaps) {
  EXPECT_FALSE(MeanAbsoluteDifference(MakeImage(2, 2, 1, PixelType::kFloat32),
                                      MakeImage(2, 3, 1, PixelType::kFloat32))
                   .ok());
  EXPECT_FALSE(MeanAbsoluteDifference(MakeImage(2, 2, 1, PixelType::kUInt8),
                                      MakeImage(2, 2, 1, PixelType::kUInt8))
                   .ok());
  EXPECT_FALSE(FlipDisagreement(MakeImage(2, 2, 1, PixelType::kFloat32), {}).ok());
}

}  // namespace
}  // namespace infera
