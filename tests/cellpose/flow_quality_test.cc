// Tests for cellpose/flow_quality.h: perfect flows have (near) zero error, the error
// formula on hand-made flows, a mask with random flows is removed while good ones stay,
// the threshold is strict, and invalid inputs.
#include "cellpose/flow_quality.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "cellpose/masks_to_flows.h"
#include "cellpose/synthetic_cells.h"

namespace infera::cellpose {
namespace {

// Two disks, labels 3 and 8, and 5 x their unit flows.
struct TwoDisks {
  LabelImage masks = MakeLabelImage(40, 60);
  FlowField flows;

  TwoDisks() {
    for (int y = 0; y < 40; ++y) {
      for (int x = 0; x < 60; ++x) {
        const size_t i = static_cast<size_t>(y) * 60 + x;
        if ((y - 20) * (y - 20) + (x - 15) * (x - 15) <= 100) masks.labels[i] = 3;
        if ((y - 20) * (y - 20) + (x - 42) * (x - 42) <= 121) masks.labels[i] = 8;
      }
    }
    flows = MasksToFlows(masks).value();
    for (float& v : flows.dy) v *= 5.0f;
    for (float& v : flows.dx) v *= 5.0f;
  }
};

TEST(FlowErrorsTest, PerfectFlowsHaveZeroError) {
  TwoDisks d;
  auto errors = FlowErrors(d.masks, d.flows);
  ASSERT_TRUE(errors.ok()) << errors.status();
  ASSERT_EQ(errors->size(), 2u);
  EXPECT_EQ((*errors)[0].label, 3u);
  EXPECT_EQ((*errors)[1].label, 8u);
  EXPECT_GT((*errors)[0].pixels, 300);
  EXPECT_LT((*errors)[0].error, 1e-10);
  EXPECT_LT((*errors)[1].error, 1e-10);
}

TEST(FlowErrorsTest, ErrorIsTheMeanSquaredDifferenceToFlowsOverFive) {
  // One 1x2 mask: its ideal flows are (0, +1) at the left pixel and (0, -1) at the right.
  LabelImage masks = MakeLabelImage(1, 2);
  masks.labels = {1, 1};
  auto ideal = MasksToFlows(masks);
  ASSERT_TRUE(ideal.ok());
  ASSERT_EQ(ideal->dx, (std::vector<float>{1.0f, -1.0f}));
  FlowField flows = MakeFlowField(1, 2);
  flows.dy = {5.0f, 0.0f};   // (1 - 0)^2 at the left pixel
  flows.dx = {0.0f, 10.0f};  // (1 - 0)^2 left; (-1 - 2)^2 right
  auto errors = FlowErrors(masks, flows);
  ASSERT_TRUE(errors.ok()) << errors.status();
  ASSERT_EQ(errors->size(), 1u);
  EXPECT_DOUBLE_EQ((*errors)[0].error, (1.0 + 1.0 + 9.0) / 2.0);
}

TEST(RemoveBadFlowMasksTest, RemovesTheMaskWithRandomFlowsAndKeepsTheGoodOne) {
  TwoDisks d;
  cellpose::SplitMix64 rng(7);
  for (size_t i = 0; i < d.masks.size(); ++i) {
    if (d.masks.labels[i] == 8) {
      d.flows.dy[i] = static_cast<float>(rng.Uniform(-5, 5));
      d.flows.dx[i] = static_cast<float>(rng.Uniform(-5, 5));
    }
  }
  auto errors = FlowErrors(d.masks, d.flows);
  ASSERT_TRUE(errors.ok());
  EXPECT_GT((*errors)[1].error, 1.0);

  LabelImage masks = d.masks;
  auto removed = RemoveBadFlowMasks(masks, d.flows, 0.4);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 1);
  for (size_t i = 0; i < masks.size(); ++i) {
    EXPECT_EQ(masks.labels[i], d.masks.labels[i] == 3 ? 3u : 0u) << i;
  }
  // A threshold above the bad error keeps both.
  LabelImage lenient = d.masks;
  removed = RemoveBadFlowMasks(lenient, d.flows, (*errors)[1].error + 1.0);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 0);
  EXPECT_EQ(lenient.labels, d.masks.labels);
}

TEST(RemoveBadFlowMasksTest, ThresholdIsStrictAndNonFiniteFlowsCountAsZero) {
  LabelImage masks = MakeLabelImage(1, 2);
  masks.labels = {1, 1};
  FlowField flows = MakeFlowField(1, 2);
  flows.dy = {std::numeric_limits<float>::quiet_NaN(), 0.0f};
  flows.dx = {5.0f, -std::numeric_limits<float>::infinity()};
  // Errors: left (0-0)^2 + (1-1)^2 = 0, right 0 + (-1 - 0)^2 = 1: mean 0.5.
  auto errors = FlowErrors(masks, flows);
  ASSERT_TRUE(errors.ok());
  EXPECT_DOUBLE_EQ((*errors)[0].error, 0.5);
  LabelImage kept = masks;
  EXPECT_EQ(RemoveBadFlowMasks(kept, flows, 0.5).value(), 0);
  EXPECT_EQ(RemoveBadFlowMasks(kept, flows, 0.49).value(), 1);
  EXPECT_EQ(kept.labels, (std::vector<uint32_t>{0, 0}));
}

TEST(RemoveBadFlowMasksTest, InvalidInputsAreInvalidArgument) {
  TwoDisks d;
  FlowField smaller = MakeFlowField(40, 59);
  EXPECT_EQ(FlowErrors(d.masks, smaller).status().code(), absl::StatusCode::kInvalidArgument);
  FlowField broken = d.flows;
  broken.dy.resize(3);
  EXPECT_EQ(FlowErrors(d.masks, broken).status().code(), absl::StatusCode::kInvalidArgument);
  LabelImage masks = d.masks;
  EXPECT_EQ(RemoveBadFlowMasks(masks, d.flows, std::nan("")).status().code(),
            absl::StatusCode::kInvalidArgument);
  LabelImage bad_masks = d.masks;
  bad_masks.labels.clear();
  EXPECT_EQ(RemoveBadFlowMasks(bad_masks, d.flows).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infera::cellpose
