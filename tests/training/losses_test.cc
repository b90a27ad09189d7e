#include "training/losses.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "runners/runner_registry.h"
#include "support/status_matchers.h"
#include "training/trainer.h"

namespace infera {
namespace {

Tensor Floats(Shape shape, std::vector<float> values) {
  Tensor t(DType::kFP32, std::move(shape));
  std::copy(values.begin(), values.end(), t.data_as<float>());
  return t;
}

Tensor Longs(Shape shape, std::vector<int64_t> values) {
  Tensor t(DType::kInt64, std::move(shape));
  std::copy(values.begin(), values.end(), t.data_as<int64_t>());
  return t;
}

TEST(TrainingLossesTest, BinaryIsBceWithLogitsPlusDice) {
  // Logits 0 -> p 0.5: BCE ln 2 per pixel; Dice 1 - (2 * 0.5 + 1) / (1 + 1 + 1) = 1/3.
  ASSERT_OK_AND_ASSIGN(double loss,
                       TaskLossValue(TrainingTask::kBinary, Floats({1, 1, 1, 2}, {0, 0}),
                                     Floats({1, 1, 1, 2}, {1, 0})));
  EXPECT_NEAR(loss, std::log(2.0) + 1.0 / 3.0, 1e-6);
  // A [N, H, W] output against the [N, 1, H, W] target.
  ASSERT_OK_AND_ASSIGN(double same, TaskLossValue(TrainingTask::kBinary, Floats({1, 1, 2}, {0, 0}),
                                                  Floats({1, 1, 1, 2}, {1, 0})));
  EXPECT_NEAR(same, loss, 1e-9);
  EXPECT_FALSE(TaskLossValue(TrainingTask::kBinary, Floats({1, 1, 1, 3}, {0, 0, 0}),
                             Floats({1, 1, 1, 2}, {1, 0}))
                   .ok());
}

TEST(TrainingLossesTest, MulticlassCrossEntropyIgnoresUnannotatedPixels) {
  // [1, 2 classes, 1, 3]: pixel 0 logits (0, 0) class 0 -> ln 2; pixel 1 (0, ln 3)
  // class 1 -> -ln(3/4); pixel 2 unannotated (its logits would cost a lot).
  const Tensor output = Floats({1, 2, 1, 3}, {0, 0, 5, 0, std::log(3.0f), -5});
  ASSERT_OK_AND_ASSIGN(double loss, TaskLossValue(TrainingTask::kMulticlass, output,
                                                  Longs({1, 1, 3}, {0, 1, kIgnoreLabel})));
  EXPECT_NEAR(loss, (std::log(2.0) - std::log(0.75)) / 2, 1e-6);
  ASSERT_OK_AND_ASSIGN(double none,
                       TaskLossValue(TrainingTask::kMulticlass, output,
                                     Longs({1, 1, 3}, {kIgnoreLabel, kIgnoreLabel, kIgnoreLabel})));
  EXPECT_EQ(none, 0.0);
}

TEST(TrainingLossesTest, ClassifyCrossEntropy) {
  ASSERT_OK_AND_ASSIGN(double loss,
                       TaskLossValue(TrainingTask::kClassify, Floats({2, 3}, {0, 0, 0, 10, 0, 0}),
                                     Longs({2}, {2, 0})));
  EXPECT_NEAR(loss, (std::log(3.0) + std::log(1 + 2 * std::exp(-10.0))) / 2, 1e-6);
}

TEST(TrainingLossesTest, CellposeIsHalfTheFlowMseplusBceOnTheCellProbability) {
  // One pixel: flows (1, 2) vs target (0, 5): MSE (1 + 9) / 2 = 5, halved 2.5; logit 0 vs
  // 1: ln 2.
  ASSERT_OK_AND_ASSIGN(double loss,
                       TaskLossValue(TrainingTask::kCellpose, Floats({1, 3, 1, 1}, {1, 2, 0}),
                                     Floats({1, 3, 1, 1}, {0, 5, 1})));
  EXPECT_NEAR(loss, 2.5 + std::log(2.0), 1e-6);
}

TEST(TrainingLossesTest, BinaryProbabilityIsBceOnTheOutputPlusDice) {
  // Probabilities (0.5, 0.25) vs (1, 0): BCE (ln 2 - ln 0.75) / 2; Dice with p itself:
  // 1 - (2 * 0.5 + 1) / (0.75 + 1 + 1).
  ASSERT_OK_AND_ASSIGN(double loss, TaskLossValue(TrainingTask::kBinaryProbability,
                                                  Floats({1, 1, 1, 2}, {0.5f, 0.25f}),
                                                  Floats({1, 1, 1, 2}, {1, 0})));
  EXPECT_NEAR(loss, (std::log(2.0) - std::log(0.75)) / 2 + 1 - 2.0 / 2.75, 1e-6);
  // Not the logits' loss of the same numbers.
  ASSERT_OK_AND_ASSIGN(double logits,
                       TaskLossValue(TrainingTask::kBinary, Floats({1, 1, 1, 2}, {0.5f, 0.25f}),
                                     Floats({1, 1, 1, 2}, {1, 0})));
  EXPECT_GT(std::abs(loss - logits), 0.05);
  // A probability of exactly 0 on a foreground pixel costs 100 (the log is clamped).
  ASSERT_OK_AND_ASSIGN(double sure,
                       TaskLossValue(TrainingTask::kBinaryProbability, Floats({1, 1, 1}, {0}),
                                     Floats({1, 1, 1, 1}, {1})));
  EXPECT_NEAR(sure, 100 + 1 - 1.0 / 2.0, 1e-4);
  // Outside [0, 1] it is no probability: refused.
  EXPECT_FALSE(TaskLossValue(TrainingTask::kBinaryProbability, Floats({1, 1, 1, 1}, {2}),
                             Floats({1, 1, 1, 1}, {1}))
                   .ok());
}

TEST(TrainingLossesTest, TasksOfTheTrainableRunners) {
  EXPECT_EQ(*TaskForRunner("binary_sigmoid"), TrainingTask::kBinary);
  EXPECT_EQ(*TaskForRunner("multiclass_argmax"), TrainingTask::kMulticlass);
  EXPECT_EQ(*TaskForRunner("classify"), TrainingTask::kClassify);
  EXPECT_EQ(*TaskForRunner("cellpose"), TrainingTask::kCellpose);
  // custom_tiff: by the model's output type.
  EXPECT_TRUE(TaskFollowsOutput("custom_tiff"));
  EXPECT_FALSE(TaskFollowsOutput("binary_sigmoid"));
  EXPECT_EQ(*TaskForRunner("custom_tiff", {1, false}), TrainingTask::kBinary);
  EXPECT_EQ(*TaskForRunner("custom_tiff", {1, true}), TrainingTask::kBinaryProbability);
  EXPECT_EQ(*TaskForRunner("custom_tiff", {2, false}), TrainingTask::kMulticlass);
  EXPECT_EQ(*TaskForRunner("custom_tiff", {5, true}), TrainingTask::kMulticlass);
  EXPECT_FALSE(TaskForRunner("custom_tiff", {0, false}).ok());
  // binary_sigmoid follows output_is_probability (its runner param), not K.
  EXPECT_EQ(*TaskForRunner("binary_sigmoid", {1, true}), TrainingTask::kBinaryProbability);
  EXPECT_EQ(*TaskForRunner("binary_sigmoid", {3, true}), TrainingTask::kBinaryProbability);
  EXPECT_EQ(*TaskForRunner("binary_sigmoid", {3, false}), TrainingTask::kBinary);
  // The other runners ignore the output type.
  EXPECT_EQ(*TaskForRunner("multiclass_argmax", {1, true}), TrainingTask::kMulticlass);
  EXPECT_EQ(*TaskForRunner("classify", {4, true}), TrainingTask::kClassify);
  EXPECT_EQ(*TaskForRunner("cellpose", {3, true}), TrainingTask::kCellpose);
  // The class-index tasks, whose targets K bounds.
  EXPECT_TRUE(TargetsAreClasses(TrainingTask::kMulticlass));
  EXPECT_TRUE(TargetsAreClasses(TrainingTask::kClassify));
  EXPECT_FALSE(TargetsAreClasses(TrainingTask::kBinary));
  EXPECT_FALSE(TargetsAreClasses(TrainingTask::kBinaryProbability));
  EXPECT_FALSE(TargetsAreClasses(TrainingTask::kCellpose));
  const auto refused = TaskForRunner("no_such_runner");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(std::string(refused.status().message())
                .find("binary_sigmoid, cellpose, classify, custom_tiff, multiclass_argmax"),
            std::string::npos)
      << refused.status();
}

// The registry, TrainableRunners and the tasks agree: a runner trains exactly when it
// names a training loss, and then it has a task.
TEST(TrainingLossesTest, TrainableRunnersAreTheRunnersWithALossAndATask) {
  const std::vector<std::string> trainable = TrainableRunners();
  std::vector<std::string> with_loss;
  for (const std::string& name : RunnerNames()) {
    const Runner* runner = FindRunner(name);
    ASSERT_NE(runner, nullptr) << name;
    const bool listed = std::find(trainable.begin(), trainable.end(), name) != trainable.end();
    EXPECT_EQ(!runner->training_loss().empty(), listed) << name;
    EXPECT_EQ(TaskForRunner(name).ok(), listed) << name;
    if (!runner->training_loss().empty()) with_loss.push_back(name);
  }
  std::sort(with_loss.begin(), with_loss.end());
  EXPECT_EQ(with_loss, trainable);
  EXPECT_NE(std::find(trainable.begin(), trainable.end(), "custom_tiff"), trainable.end());
}

}  // namespace
}  // namespace infera
