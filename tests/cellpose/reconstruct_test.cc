// Tests for cellpose/reconstruct.h: masks -> ideal network outputs -> ComputeMasks recovers
// the masks (AP at IoU 0.5 >= 0.95) for separate and touching cells; each parameter
// (cellprob_threshold, flow_threshold, min_size, niter, max_size_fraction) changes the
// result the way Cellpose's does; invalid inputs are InvalidArgument; non-finite outputs
// do not crash.
#include "cellpose/reconstruct.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "cellpose/average_precision.h"
#include "cellpose/follow_flows.h"
#include "cellpose/synthetic_cells.h"

namespace infera::cellpose {
namespace {

using cellpose::CountLabels;
using cellpose::MakePerfectOutputs;
using cellpose::MakeSyntheticCells;
using cellpose::PerfectOutputs;
using cellpose::SyntheticCellsOptions;

// Labels must be exactly 1..N.
void ExpectConsecutiveLabels(const LabelImage& masks) {
  uint32_t max_label = 0;
  for (uint32_t v : masks.labels) max_label = std::max(max_label, v);
  EXPECT_EQ(static_cast<uint32_t>(CountLabels(masks)), max_label);
}

LabelImage DiskImage(int h, int w, double cy, double cx, double r) {
  LabelImage image = MakeLabelImage(h, w);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      if ((y - cy) * (y - cy) + (x - cx) * (x - cx) <= r * r) {
        image.labels[static_cast<size_t>(y) * w + x] = 1;
      }
    }
  }
  return image;
}

class RoundTripTest : public ::testing::TestWithParam<bool> {};

TEST_P(RoundTripTest, RecoversTheMasksFromIdealOutputs) {
  const bool touching = GetParam();
  for (uint64_t seed : {1u, 2u, 3u}) {
    SyntheticCellsOptions o;
    o.height = 192;
    o.width = 256;
    o.count = touching ? 160 : 45;
    o.min_radius = 6;
    o.max_radius = 13;
    o.max_aspect = 2.0;
    o.touching = touching;
    o.seed = seed;
    const LabelImage truth = MakeSyntheticCells(o);
    const int cells = CountLabels(truth);
    ASSERT_GE(cells, touching ? 120 : 40) << "generator placed too few cells";
    if (touching) {
      ASSERT_GT(cellpose::TouchingPixelPairs(truth), 1000);
    }

    const PerfectOutputs net = MakePerfectOutputs(truth);
    auto masks = ComputeMasks(net.flows, net.cellprob, MaskParams{});
    ASSERT_TRUE(masks.ok()) << masks.status();
    const auto ap = AveragePrecision(truth, *masks, 0.5);
    EXPECT_GE(ap.ap, 0.95) << "seed " << seed << ": " << ap.true_positives << " of "
                           << ap.true_masks << " true masks matched, " << ap.predicted_masks
                           << " predicted";
    ExpectConsecutiveLabels(*masks);
    // Background stays background.
    for (size_t i = 0; i < truth.size(); ++i) {
      if (truth.labels[i] == 0) {
        ASSERT_EQ(masks->labels[i], 0u) << "pixel " << i;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(SeparateAndTouching, RoundTripTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Touching" : "Separate";
                         });

TEST(ComputeMasksTest, ScrambledFlowsDoNotRoundTrip) {
  // The metric and the pipeline can fail: swapping dY and dX breaks the masks.
  SyntheticCellsOptions o;
  o.height = 128;
  o.width = 128;
  o.count = 20;
  const LabelImage truth = MakeSyntheticCells(o);
  PerfectOutputs net = MakePerfectOutputs(truth);
  std::swap(net.flows.dy, net.flows.dx);
  for (float& v : net.flows.dy) v = -v;  // a rotation by 90 degrees: flows circle around
  auto masks = ComputeMasks(net.flows, net.cellprob);
  ASSERT_TRUE(masks.ok()) << masks.status();
  EXPECT_LT(AveragePrecision(truth, *masks, 0.5).ap, 0.5);
}

TEST(ComputeMasksTest, NoForegroundGivesAnEmptyImage) {
  const PerfectOutputs net = MakePerfectOutputs(DiskImage(30, 40, 15, 20, 8));
  std::vector<float> below(net.cellprob.size(), -1.0f);
  auto masks = ComputeMasks(net.flows, below);
  ASSERT_TRUE(masks.ok()) << masks.status();
  EXPECT_EQ(masks->height, 30);
  EXPECT_EQ(masks->width, 40);
  EXPECT_EQ(masks->labels, std::vector<uint32_t>(size_t{30} * 40, 0));
}

TEST(ComputeMasksTest, CellprobThresholdIsOnLogits) {
  const LabelImage disk = DiskImage(40, 40, 20, 20, 8);
  const PerfectOutputs net = MakePerfectOutputs(disk, 1.5f);
  MaskParams params;
  params.cellprob_threshold = 1.0f;
  EXPECT_EQ(CountLabels(ComputeMasks(net.flows, net.cellprob, params).value()), 1);
  params.cellprob_threshold = 1.5f;  // strictly above
  EXPECT_EQ(CountLabels(ComputeMasks(net.flows, net.cellprob, params).value()), 0);
}

TEST(ComputeMasksTest, FlowThresholdRemovesMasksWithWeakFlows) {
  // Flows at 1/5 of the ideal strength still converge but miss the ideal flows by
  // (1 - 0.2)^2 = 0.64 per pixel.
  const LabelImage disk = DiskImage(40, 40, 20, 20, 8);
  PerfectOutputs net = MakePerfectOutputs(disk);
  for (float& v : net.flows.dy) v *= 0.2f;
  for (float& v : net.flows.dx) v *= 0.2f;
  MaskParams params;
  EXPECT_EQ(CountLabels(ComputeMasks(net.flows, net.cellprob, params).value()), 0);
  params.flow_threshold = 0.7;
  EXPECT_EQ(CountLabels(ComputeMasks(net.flows, net.cellprob, params).value()), 1);
  params.flow_threshold = 0.0;  // QC off
  EXPECT_EQ(CountLabels(ComputeMasks(net.flows, net.cellprob, params).value()), 1);
}

TEST(ComputeMasksTest, MinSizeRemovesSmallMasks) {
  LabelImage two = DiskImage(40, 60, 20, 15, 8);
  const LabelImage small = DiskImage(40, 60, 20, 45, 2.3);  // 21 pixels
  for (size_t i = 0; i < two.size(); ++i) {
    if (small.labels[i]) two.labels[i] = 2;
  }
  const PerfectOutputs net = MakePerfectOutputs(two);
  MaskParams params;
  EXPECT_EQ(CountLabels(ComputeMasks(net.flows, net.cellprob, params).value()), 2);
  params.min_size = 25;
  auto masks = ComputeMasks(net.flows, net.cellprob, params);
  ASSERT_TRUE(masks.ok());
  EXPECT_EQ(CountLabels(*masks), 1);
  EXPECT_EQ(masks->labels[20 * 60 + 45], 0u);
  EXPECT_EQ(masks->labels[20 * 60 + 15], 1u);
}

TEST(ComputeMasksTest, MaxSizeFractionRemovesHugeMasks) {
  const LabelImage disk = DiskImage(40, 40, 20, 20, 14);  // ~615 of 1600 pixels (38%)
  const PerfectOutputs net = MakePerfectOutputs(disk);
  MaskParams params;
  EXPECT_EQ(CountLabels(ComputeMasks(net.flows, net.cellprob, params).value()), 1);
  params.max_size_fraction = 0.3;
  EXPECT_EQ(CountLabels(ComputeMasks(net.flows, net.cellprob, params).value()), 0);
}

TEST(ComputeMasksTest, NiterIsHonoured) {
  // One step is far too few for the pixels of a large disk to gather.
  const LabelImage disk = DiskImage(60, 60, 30, 30, 20);
  const PerfectOutputs net = MakePerfectOutputs(disk);
  MaskParams params;
  params.niter = 1;
  EXPECT_EQ(CountLabels(ComputeMasks(net.flows, net.cellprob, params).value()), 0);
  params.niter = 0;  // the default, 200
  EXPECT_EQ(CountLabels(ComputeMasks(net.flows, net.cellprob, params).value()), 1);
}

TEST(ComputeMasksTest, NonFiniteOutputsDoNotCrash) {
  const LabelImage disk = DiskImage(40, 40, 20, 20, 8);
  PerfectOutputs net = MakePerfectOutputs(disk);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < net.flows.size(); i += 7) {
    net.flows.dy[i] = nan;
    net.flows.dx[i] = inf;
    net.cellprob[i] = i % 2 ? nan : inf;
  }
  auto masks = ComputeMasks(net.flows, net.cellprob);
  ASSERT_TRUE(masks.ok()) << masks.status();
  ExpectConsecutiveLabels(*masks);
  // Everything NaN: nothing is foreground.
  std::vector<float> all_nan(net.cellprob.size(), nan);
  masks = ComputeMasks(net.flows, all_nan);
  ASSERT_TRUE(masks.ok());
  EXPECT_EQ(CountLabels(*masks), 0);
}

TEST(ComputeMasksTest, InvalidInputsAreInvalidArgument) {
  const PerfectOutputs net = MakePerfectOutputs(DiskImage(20, 30, 10, 10, 5));
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  auto code = [&](const FlowField& f, const std::vector<float>& c, const MaskParams& p) {
    return ComputeMasks(f, c, p).status().code();
  };
  const MaskParams defaults;
  EXPECT_EQ(code(net.flows, net.cellprob, defaults), absl::StatusCode::kOk);

  std::vector<float> short_cellprob = net.cellprob;
  short_cellprob.pop_back();
  EXPECT_EQ(code(net.flows, short_cellprob, defaults), kInvalid);
  FlowField wrong_height = net.flows;
  wrong_height.height = 21;
  EXPECT_EQ(code(wrong_height, net.cellprob, defaults), kInvalid);
  FlowField no_dx = net.flows;
  no_dx.dx.clear();
  EXPECT_EQ(code(no_dx, net.cellprob, defaults), kInvalid);
  FlowField empty;
  EXPECT_EQ(code(empty, {}, defaults), kInvalid);
  FlowField negative = net.flows;
  negative.height = -20;
  negative.width = -30;
  EXPECT_EQ(code(negative, net.cellprob, defaults), kInvalid);

  MaskParams p;
  p.niter = -1;
  EXPECT_EQ(code(net.flows, net.cellprob, p), kInvalid);
  p.niter = kMaxNiter + 1;
  EXPECT_EQ(code(net.flows, net.cellprob, p), kInvalid);
  p = MaskParams{};
  p.cellprob_threshold = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(code(net.flows, net.cellprob, p), kInvalid);
  p = MaskParams{};
  p.flow_threshold = std::nan("");
  EXPECT_EQ(code(net.flows, net.cellprob, p), kInvalid);
  p = MaskParams{};
  p.max_size_fraction = std::nan("");
  EXPECT_EQ(code(net.flows, net.cellprob, p), kInvalid);
}

}  // namespace
}  // namespace infera::cellpose
