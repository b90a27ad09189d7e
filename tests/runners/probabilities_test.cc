// Runner::Probabilities (active learning's view of a model's outputs) for the runners
// with hand-made outputs: sigmoid maps with the letterbox padding cut, softmax
// distributions per pixel, a classifier's distribution as a 1x1 image.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "runners/binary_sigmoid.h"
#include "runners/classify.h"
#include "runners/custom_tiff.h"
#include "runners/multiclass_argmax.h"
#include "runners/segmentation_test_util.h"
#include "support/status_matchers.h"

namespace infera {
namespace {

using testing::FloatTensor;
using testing::Gray8;
using testing::OneOutput;
using testing::SegConfig;

std::vector<float> Values(const Image& image) {
  const float* p = image.pixels<float>();
  return std::vector<float>(p,
                            p + static_cast<size_t>(image.width) * image.height * image.channels);
}

float Sig(float x) { return 1.0f / (1.0f + std::exp(-x)); }

TEST(RunnerProbabilitiesTest, BinarySigmoidCutsTheLetterboxPadding) {
  BinarySigmoidRunner runner;
  ModelDescription model = SegConfig(ColorMode::kGray, 4, 4);
  model.input.resize = ResizeMode::kLetterbox;
  auto params = runner.ValidateParams(nullptr, model);
  ASSERT_TRUE(params.ok());
  // An 8x4 source fills rows 0-1 of the 4x4 input; rows 2-3 are padding.
  auto p = runner.Probabilities(Gray8(8, 4, 0), RunnerInput{},
                                OneOutput(FloatTensor({1, 1, 4, 4}, {0, 1, 2, 3,     //
                                                                     -1, -2, -3, 0,  //
                                                                     9, 9, 9, 9,     //
                                                                     9, 9, 9, 9})),
                                model, *params);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->kind, ProbabilityKind::kBernoulli);
  ASSERT_EQ(p->probabilities.width, 4);
  ASSERT_EQ(p->probabilities.height, 2);
  ASSERT_EQ(p->probabilities.channels, 1);
  const std::vector<float> v = Values(p->probabilities);
  const std::vector<float> logits = {0, 1, 2, 3, -1, -2, -3, 0};
  for (size_t i = 0; i < v.size(); ++i) EXPECT_FLOAT_EQ(v[i], Sig(logits[i])) << i;
  EXPECT_FALSE(p->flow_error.has_value());
}

TEST(RunnerProbabilitiesTest, MulticlassIsASoftmaxPerPixel) {
  MulticlassArgmaxRunner runner;
  ModelDescription model = SegConfig(ColorMode::kGray, 1, 2);
  auto p = runner.Probabilities(Gray8(2, 1, 0), RunnerInput{},
                                OneOutput(FloatTensor({1, 2, 1, 2}, {0, 5, 0, -5})), model,
                                nlohmann::json::object());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->kind, ProbabilityKind::kCategorical);
  ASSERT_EQ(p->probabilities.channels, 2);
  const std::vector<float> v = Values(p->probabilities);  // interleaved per pixel
  EXPECT_FLOAT_EQ(v[0], 0.5f);
  EXPECT_FLOAT_EQ(v[1], 0.5f);
  EXPECT_NEAR(v[2], 1.0f / (1.0f + std::exp(-10.0f)), 1e-6);
  EXPECT_NEAR(v[2] + v[3], 1.0f, 1e-6);
  // Outputs of the wrong shape are the model's fault: Internal.
  auto bad = runner.Probabilities(Gray8(2, 1, 0), RunnerInput{},
                                  OneOutput(FloatTensor({1, 1, 1, 2}, {0, 0})), model,
                                  nlohmann::json::object());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInternal);
}

// A model whose output already is per-class probabilities (output_is_probability, as
// Postprocess's params take it): the scores unchanged, not softmaxed a second time.
TEST(RunnerProbabilitiesTest, MulticlassTakesProbabilitiesAsTheyAre) {
  MulticlassArgmaxRunner runner;
  ModelDescription model = SegConfig(ColorMode::kGray, 1, 2);
  auto params = runner.ValidateParams({{"output_is_probability", true}}, model);
  ASSERT_TRUE(params.ok()) << params.status();
  const std::vector<std::vector<Tensor>> outputs =
      OneOutput(FloatTensor({1, 2, 1, 2}, {0.9f, 0.2f, 0.1f, 0.8f}));
  auto p = runner.Probabilities(Gray8(2, 1, 0), RunnerInput{}, outputs, model, *params);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->kind, ProbabilityKind::kCategorical);
  const std::vector<float> v = Values(p->probabilities);  // interleaved per pixel
  ASSERT_EQ(v.size(), 4u);
  EXPECT_FLOAT_EQ(v[0], 0.9f);
  EXPECT_FLOAT_EQ(v[1], 0.1f);
  EXPECT_FLOAT_EQ(v[2], 0.2f);
  EXPECT_FLOAT_EQ(v[3], 0.8f);
  // The default (false): a softmax of the same scores, which differs.
  ASSERT_OK_AND_ASSIGN(nlohmann::json defaults, runner.ValidateParams(nullptr, model));
  EXPECT_EQ(defaults["output_is_probability"], false);
  auto softmaxed = runner.Probabilities(Gray8(2, 1, 0), RunnerInput{}, outputs, model, defaults);
  ASSERT_TRUE(softmaxed.ok()) << softmaxed.status();
  EXPECT_NEAR(Values(softmaxed->probabilities)[0], 1.0f / (1.0f + std::exp(-0.8f)), 1e-6);
  // The mask is the argmax either way.
  auto with = runner.Postprocess(Gray8(2, 1, 0), RunnerInput{}, outputs, model, *params);
  auto without = runner.Postprocess(Gray8(2, 1, 0), RunnerInput{}, outputs, model, defaults);
  ASSERT_TRUE(with.ok() && without.ok());
  EXPECT_EQ(with->summary, without->summary);
  EXPECT_EQ(with->summary["class_histogram"], (nlohmann::json{{"0", 1}, {"1", 1}}));
  // Not a boolean: refused.
  EXPECT_FALSE(runner.ValidateParams({{"output_is_probability", "yes"}}, model).ok());
}

TEST(RunnerProbabilitiesTest, ClassifierDistributionIsOnePixel) {
  ClassifyRunner runner;
  ModelDescription model;
  model.name = "cls";
  auto params = runner.ValidateParams(nullptr, model);
  ASSERT_TRUE(params.ok()) << params.status();
  auto p = runner.Probabilities(Gray8(3, 3, 0), RunnerInput{},
                                OneOutput(FloatTensor({1, 3}, {0, 0, 0})), model, *params);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->kind, ProbabilityKind::kCategorical);
  EXPECT_EQ(p->probabilities.width, 1);
  EXPECT_EQ(p->probabilities.height, 1);
  ASSERT_EQ(p->probabilities.channels, 3);
  for (float f : Values(p->probabilities)) EXPECT_NEAR(f, 1.0f / 3, 1e-6);
}

TEST(RunnerProbabilitiesTest, CustomTiffOneChannelIsBernoulli) {
  CustomTiffRunner runner;
  ModelDescription model = SegConfig(ColorMode::kGray, 1, 2, /*keep=*/true);
  auto params = runner.ValidateParams({{"output_is_probability", true}}, model);
  ASSERT_TRUE(params.ok()) << params.status();
  auto p =
      runner.Probabilities(Gray8(2, 1, 0), RunnerInput{},
                           OneOutput(FloatTensor({1, 1, 1, 2}, {0.25f, 0.75f})), model, *params);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->kind, ProbabilityKind::kBernoulli);
  EXPECT_EQ(Values(p->probabilities), (std::vector<float>{0.25f, 0.75f}));
}

}  // namespace
}  // namespace infera
