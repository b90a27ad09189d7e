#include "training/metrics.h"

#include <gtest/gtest.h>

namespace infera {
namespace {

TEST(TrainingMetricsTest, BinaryIouAndDiceOnKnownMasks) {
  BinaryMetric m;
  // tp 2, fp 1, fn 1 -> iou 2/4, dice 4/6.
  const std::vector<uint8_t> predicted = {1, 1, 1, 0, 0, 0};
  const std::vector<uint8_t> target = {255, 255, 0, 255, 0, 0};
  m.Add(predicted, target);
  EXPECT_DOUBLE_EQ(m.iou(), 0.5);
  EXPECT_DOUBLE_EQ(m.dice(), 4.0 / 6.0);
  // Counts pool over images: one more perfect image with 2 foreground pixels.
  m.Add(std::vector<uint8_t>{1, 1, 0}, std::vector<uint8_t>{1, 1, 0});
  EXPECT_DOUBLE_EQ(m.iou(), 4.0 / 6.0);
  EXPECT_EQ(m.ToJson()["iou"], m.iou());
}

TEST(TrainingMetricsTest, BinaryEmptyBothIsPerfect) {
  BinaryMetric m;
  m.Add(std::vector<uint8_t>{0, 0}, std::vector<uint8_t>{0, 0});
  EXPECT_DOUBLE_EQ(m.iou(), 1.0);
  EXPECT_DOUBLE_EQ(m.dice(), 1.0);
}

TEST(TrainingMetricsTest, MeanIouSkipsIgnoredPixelsAndAbsentClasses) {
  MeanIouMetric m(/*ignore=*/-100);
  // class 0: tp 1, fn 1 (predicted 2) -> 1/2; class 1: tp 1 -> 1; class 2: fp 1 -> 0.
  // The ignored pixel (predicted 2) counts for nothing; class 3 never appears.
  const std::vector<int64_t> predicted = {0, 2, 1, 2, 2};
  const std::vector<int64_t> target = {0, 0, 1, -100, 5 - 5};
  m.Add(predicted, target);
  // target[4] = 0 predicted 2: class 0 fn 2, class 2 fp 2 -> class 0: 1/3, class 2: 0.
  EXPECT_DOUBLE_EQ(m.mean_iou(), (1.0 / 3.0 + 1.0 + 0.0) / 3.0);
}

TEST(TrainingMetricsTest, Accuracy) {
  AccuracyMetric m;
  EXPECT_DOUBLE_EQ(m.accuracy(), 0.0);
  m.Add(1, 1);
  m.Add(2, 1);
  m.Add(0, 0);
  m.Add(3, 3);
  EXPECT_DOUBLE_EQ(m.accuracy(), 0.75);
}

TEST(TrainingMetricsTest, InstanceAp50PerImageAveraged) {
  // Image 1: truth {1: 4 px, 2: 2 px}; prediction matches 1 exactly, misses 2 -> 1/2.
  cellpose::LabelImage truth = cellpose::MakeLabelImage(2, 4);
  truth.labels = {1, 1, 0, 2, 1, 1, 0, 2};
  cellpose::LabelImage predicted = cellpose::MakeLabelImage(2, 4);
  predicted.labels = {7, 7, 0, 0, 7, 7, 0, 0};
  InstanceApMetric m;
  m.Add(predicted, truth);
  EXPECT_DOUBLE_EQ(m.ap50(), 0.5);
  // Image 2: both empty -> 1; the mean of 0.5 and 1.
  m.Add(cellpose::MakeLabelImage(2, 2), cellpose::MakeLabelImage(2, 2));
  EXPECT_DOUBLE_EQ(m.ap50(), 0.75);
  EXPECT_EQ(m.ToJson()["ap50"], 0.75);
}

}  // namespace
}  // namespace infera
