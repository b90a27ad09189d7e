// Tests for cellpose/average_precision.h: perfect, partial, shifted, split
// and empty predictions.
#include "cellpose/average_precision.h"

#include <gtest/gtest.h>

namespace infera::testing {
namespace {

using cellpose::ApResult;
using cellpose::AveragePrecision;
using cellpose::LabelImage;
using cellpose::MakeLabelImage;

// Fills rows [y0, y1) x columns [x0, x1) with `label`.
void Box(LabelImage& image, int y0, int y1, int x0, int x1, uint32_t label) {
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) image.labels[static_cast<size_t>(y) * image.width + x] = label;
  }
}

TEST(AveragePrecisionTest, IdenticalMasksUnderOtherLabelsScoreOne) {
  LabelImage truth = MakeLabelImage(20, 20);
  Box(truth, 0, 5, 0, 5, 1);
  Box(truth, 10, 15, 10, 20, 2);
  LabelImage pred = MakeLabelImage(20, 20);
  Box(pred, 0, 5, 0, 5, 9);
  Box(pred, 10, 15, 10, 20, 4);
  const ApResult r = AveragePrecision(truth, pred, 0.5);
  EXPECT_EQ(r.true_masks, 2);
  EXPECT_EQ(r.predicted_masks, 2);
  EXPECT_EQ(r.true_positives, 2);
  EXPECT_DOUBLE_EQ(r.ap, 1.0);
}

TEST(AveragePrecisionTest, MissesFalsePositivesAndLowIouCount) {
  LabelImage truth = MakeLabelImage(20, 20);
  Box(truth, 0, 10, 0, 10, 1);    // matched by a shifted box: IoU 90 / 110
  Box(truth, 12, 16, 12, 16, 2);  // missed
  LabelImage pred = MakeLabelImage(20, 20);
  Box(pred, 1, 11, 0, 10, 1);
  Box(pred, 0, 3, 15, 20, 2);  // false positive
  ApResult r = AveragePrecision(truth, pred, 0.5);
  EXPECT_EQ(r.true_positives, 1);
  EXPECT_DOUBLE_EQ(r.ap, 1.0 / 3.0);  // TP 1, FP 1, FN 1
  r = AveragePrecision(truth, pred, 0.9);
  EXPECT_EQ(r.true_positives, 0);
  EXPECT_DOUBLE_EQ(r.ap, 0.0);
}

TEST(AveragePrecisionTest, SplitMaskMatchesAtMostOnce) {
  LabelImage truth = MakeLabelImage(10, 10);
  Box(truth, 0, 10, 0, 10, 1);
  LabelImage pred = MakeLabelImage(10, 10);
  Box(pred, 0, 10, 0, 6, 1);   // IoU 0.6
  Box(pred, 0, 10, 6, 10, 2);  // IoU 0.4
  const ApResult r = AveragePrecision(truth, pred, 0.5);
  EXPECT_EQ(r.true_positives, 1);
  EXPECT_DOUBLE_EQ(r.ap, 0.5);  // TP 1, FP 1
}

TEST(AveragePrecisionTest, EmptyImages) {
  const LabelImage empty = MakeLabelImage(4, 4);
  EXPECT_DOUBLE_EQ(AveragePrecision(empty, empty, 0.5).ap, 1.0);
  LabelImage one = MakeLabelImage(4, 4);
  Box(one, 0, 2, 0, 2, 1);
  EXPECT_DOUBLE_EQ(AveragePrecision(one, empty, 0.5).ap, 0.0);
  EXPECT_DOUBLE_EQ(AveragePrecision(empty, one, 0.5).ap, 0.0);
}

}  // namespace
}  // namespace infera::testing
