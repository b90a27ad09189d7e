#include "active_learning/uncertainty.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "support/status_matchers.h"

namespace infera {
namespace {

Image FloatImage(int width, int height, int channels, const std::vector<float>& values) {
  Image image = MakeImage(width, height, channels, PixelType::kFloat32);
  EXPECT_EQ(values.size(), static_cast<size_t>(width) * height * channels);
  std::copy(values.begin(), values.end(), image.pixels<float>());
  return image;
}

Image Filled(int width, int height, int channels, float value) {
  return FloatImage(width, height, channels,
                    std::vector<float>(static_cast<size_t>(width) * height * channels, value));
}

TEST(UncertaintyTest, CertainBernoulliMapHasZeroEntropy) {
  // Foreground and background, each certain.
  Image map = FloatImage(2, 2, 1, {0.0f, 1.0f, 1.0f, 0.0f});
  ASSERT_OK_AND_ASSIGN(double h, MeanEntropy(map, ProbabilityKind::kBernoulli));
  EXPECT_DOUBLE_EQ(h, 0.0);
}

TEST(UncertaintyTest, HalfEverywhereIsLn2Nats) {
  ASSERT_OK_AND_ASSIGN(double h, MeanEntropy(Filled(8, 5, 1, 0.5f), ProbabilityKind::kBernoulli));
  EXPECT_NEAR(h, std::log(2.0), 1e-12);  // nats: ln 2 = 1 bit
  // Two classes at 0.5 / 0.5 as a distribution: the same.
  ASSERT_OK_AND_ASSIGN(double c, MeanEntropy(Filled(3, 3, 2, 0.5f), ProbabilityKind::kCategorical));
  EXPECT_NEAR(c, std::log(2.0), 1e-12);
}

TEST(UncertaintyTest, UniformOverKClassesIsLnK) {
  ASSERT_OK_AND_ASSIGN(double h,
                       MeanEntropy(Filled(4, 4, 4, 0.25f), ProbabilityKind::kCategorical));
  EXPECT_NEAR(h, std::log(4.0), 1e-9);
}

TEST(UncertaintyTest, CertainDistributionHasZeroEntropy) {
  Image map = FloatImage(2, 1, 3, {1, 0, 0, 0, 0, 1});
  ASSERT_OK_AND_ASSIGN(double h, MeanEntropy(map, ProbabilityKind::kCategorical));
  EXPECT_DOUBLE_EQ(h, 0.0);
}

TEST(UncertaintyTest, MeanOverPixels) {
  // Half the pixels certain, half at 0.5: ln 2 / 2.
  Image map = FloatImage(2, 2, 1, {0.5f, 0.5f, 1.0f, 0.0f});
  ASSERT_OK_AND_ASSIGN(double h, MeanEntropy(map, ProbabilityKind::kBernoulli));
  EXPECT_NEAR(h, std::log(2.0) / 2, 1e-12);
  EXPECT_NEAR(BernoulliEntropy(0.1), -(0.1 * std::log(0.1) + 0.9 * std::log(0.9)), 1e-12);
}

TEST(UncertaintyTest, OutOfRangeAndNanAreClampedNotPropagated) {
  Image map = FloatImage(3, 1, 1, {-0.5f, 1.5f, std::nanf("")});
  ASSERT_OK_AND_ASSIGN(double h, MeanEntropy(map, ProbabilityKind::kBernoulli));
  EXPECT_DOUBLE_EQ(h, 0.0);
}

TEST(UncertaintyTest, RefusesNonFloatAndEmptyImages) {
  EXPECT_FALSE(
      MeanEntropy(MakeImage(2, 2, 1, PixelType::kUInt8), ProbabilityKind::kBernoulli).ok());
  EXPECT_FALSE(MeanEntropy(Image{}, ProbabilityKind::kCategorical).ok());
}

TEST(UncertaintyTest, CellposeScoreAddsTheFlowError) {
  RunnerProbabilities p;
  p.kind = ProbabilityKind::kBernoulli;
  p.probabilities = Filled(4, 4, 1, 0.5f);
  p.flow_error = 0.25;
  p.masks = 3;
  ASSERT_OK_AND_ASSIGN(UncertaintyScore s, ScoreUncertainty(p));
  EXPECT_NEAR(s.entropy, std::log(2.0), 1e-12);
  EXPECT_NEAR(s.score, std::log(2.0) + 0.25, 1e-12);
  EXPECT_EQ(s.ToJson()["masks"], 3);
  // Without a flow error the score is the entropy alone.
  p.flow_error.reset();
  ASSERT_OK_AND_ASSIGN(s, ScoreUncertainty(p));
  EXPECT_DOUBLE_EQ(s.score, s.entropy);
  EXPECT_FALSE(s.ToJson().contains("flow_error"));
}

}  // namespace
}  // namespace infera
