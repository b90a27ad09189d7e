// Tests for cellpose/follow_flows.h: the foreground and step field, points of a disk
// converge to its centre, bilinear sampling reproduces a linear field, clamping keeps
// points inside the image, fixed points, and invalid inputs.
#include "cellpose/follow_flows.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "cellpose/masks_to_flows.h"

namespace infera::cellpose {
namespace {

TEST(ForegroundPixelsTest, StrictlyAboveTheThresholdAndNeverNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> cellprob = {-1.0f, 0.0f, 0.5f, nan, 3.0f, 0.25f};
  EXPECT_EQ(ForegroundPixels(cellprob, 0.0f), (std::vector<uint32_t>{2, 4, 5}));
  EXPECT_EQ(ForegroundPixels(cellprob, 0.25f), (std::vector<uint32_t>{2, 4}));
  EXPECT_EQ(ForegroundPixels(cellprob, -2.0f), (std::vector<uint32_t>{0, 1, 2, 4, 5}));
}

TEST(StepFieldTest, DividesByFiveOnTheForegroundAndZeroesTheRest) {
  FlowField flows = MakeFlowField(1, 4);
  flows.dy = {5.0f, -10.0f, std::numeric_limits<float>::infinity(), 1.0f};
  flows.dx = {2.5f, 1.0f, 7.0f, std::numeric_limits<float>::quiet_NaN()};
  const std::vector<uint32_t> fg = {0, 2, 3};
  const FlowField step = StepField(flows, fg);
  EXPECT_EQ(step.dy, (std::vector<float>{1.0f, 0.0f, 0.0f, 0.2f}));
  EXPECT_EQ(step.dx, (std::vector<float>{0.5f, 0.0f, 1.4f, 0.0f}));
}

TEST(FollowFlowsTest, PointsOfADiskConvergeToItsCentre) {
  const int n = 61;
  LabelImage disk = MakeLabelImage(n, n);
  std::vector<uint32_t> start;
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      if ((y - 30) * (y - 30) + (x - 30) * (x - 30) <= 20 * 20) {
        disk.labels[static_cast<size_t>(y) * n + x] = 1;
        start.push_back(static_cast<uint32_t>(y * n + x));
      }
    }
  }
  // Unit flows are the step field of a perfect network (5 x unit / 5).
  auto flows = MasksToFlows(disk);
  ASSERT_TRUE(flows.ok()) << flows.status();
  auto end = FollowFlows(*flows, start, kDefaultNiter);
  ASSERT_TRUE(end.ok()) << end.status();
  ASSERT_EQ(end->size(), start.size());
  for (size_t k = 0; k < start.size(); ++k) {
    EXPECT_NEAR((*end)[k].y, 30.0f, 1.5f) << "start " << start[k];
    EXPECT_NEAR((*end)[k].x, 30.0f, 1.5f) << "start " << start[k];
  }
  // Too few steps leave the rim far from the centre: the test above can fail.
  auto early = FollowFlows(*flows, start, 5);
  ASSERT_TRUE(early.ok());
  EXPECT_GT(std::abs((*early)[0].y - 30.0f), 10.0f);
}

TEST(FollowFlowsTest, BilinearSamplingReproducesALinearField) {
  // step(y, x) = (0.1 * x + 0.2, -0.05 * y + 0.3): after the first step from an integer
  // pixel the point sits between pixels, where bilinear sampling is exact for this field.
  const int h = 20, w = 30;
  FlowField step = MakeFlowField(h, w);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      step.dy[static_cast<size_t>(y) * w + x] = 0.1f * static_cast<float>(x) + 0.2f;
      step.dx[static_cast<size_t>(y) * w + x] = -0.05f * static_cast<float>(y) + 0.3f;
    }
  }
  const uint32_t start = 5 * w + 7;
  auto two = FollowFlows(step, std::vector<uint32_t>{start}, 2);
  ASSERT_TRUE(two.ok()) << two.status();
  const double y1 = 5 + (0.1 * 7 + 0.2), x1 = 7 + (-0.05 * 5 + 0.3);
  const double y2 = y1 + (0.1 * x1 + 0.2), x2 = x1 + (-0.05 * y1 + 0.3);
  EXPECT_NEAR((*two)[0].y, y2, 1e-5);
  EXPECT_NEAR((*two)[0].x, x2, 1e-5);
  // Zero steps: the start pixel itself.
  auto zero = FollowFlows(step, std::vector<uint32_t>{start}, 0);
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ((*zero)[0].y, 5.0f);
  EXPECT_EQ((*zero)[0].x, 7.0f);
}

TEST(FollowFlowsTest, ClampingKeepsPointsInsideTheImage) {
  // A field pushing up and to the right by 3 pixels a step, and a huge one.
  const int h = 12, w = 17;
  for (float magnitude : {3.0f, 1e30f, std::numeric_limits<float>::max()}) {
    FlowField step = MakeFlowField(h, w);
    std::vector<uint32_t> start;
    for (size_t i = 0; i < step.size(); ++i) {
      step.dy[i] = -magnitude;
      step.dx[i] = magnitude;
      start.push_back(static_cast<uint32_t>(i));
    }
    for (int niter : {1, 2, 200}) {
      auto end = FollowFlows(step, start, niter);
      ASSERT_TRUE(end.ok()) << end.status();
      for (size_t k = 0; k < start.size(); ++k) {
        const Point p = (*end)[k];
        ASSERT_GE(p.y, 0.0f);
        ASSERT_LE(p.y, h - 1.0f);
        ASSERT_GE(p.x, 0.0f);
        ASSERT_LE(p.x, w - 1.0f);
      }
      if (niter == 200) {
        for (const Point& p : *end) {
          EXPECT_EQ(p.y, 0.0f);
          EXPECT_EQ(p.x, w - 1.0f);
        }
      }
    }
  }
}

TEST(FollowFlowsTest, NonFiniteStepsAreReadAsZero) {
  FlowField step = MakeFlowField(3, 3);
  for (size_t i = 0; i < step.size(); ++i) {
    step.dy[i] = std::numeric_limits<float>::quiet_NaN();
    step.dx[i] = -std::numeric_limits<float>::infinity();
  }
  auto end = FollowFlows(step, std::vector<uint32_t>{4, 8}, 10);
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ((*end)[0].y, 1.0f);
  EXPECT_EQ((*end)[0].x, 1.0f);
  EXPECT_EQ((*end)[1].y, 2.0f);
  EXPECT_EQ((*end)[1].x, 2.0f);
}

TEST(FollowFlowsTest, OneByOneImage) {
  FlowField step = MakeFlowField(1, 1);
  step.dy[0] = 0.7f;
  step.dx[0] = -0.7f;
  auto end = FollowFlows(step, std::vector<uint32_t>{0}, 50);
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ((*end)[0].y, 0.0f);
  EXPECT_EQ((*end)[0].x, 0.0f);
}

TEST(FollowFlowsTest, InvalidInputsAreInvalidArgument) {
  const FlowField step = MakeFlowField(4, 5);
  const std::vector<uint32_t> ok_start = {0, 19};
  EXPECT_EQ(FollowFlows(step, std::vector<uint32_t>{20}, 10).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FollowFlows(step, ok_start, -1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FollowFlows(step, ok_start, kMaxNiter + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  FlowField short_dx = step;
  short_dx.dx.pop_back();
  EXPECT_EQ(FollowFlows(short_dx, ok_start, 10).status().code(),
            absl::StatusCode::kInvalidArgument);
  FlowField zero_size;
  EXPECT_EQ(FollowFlows(zero_size, {}, 10).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(FollowFlows(step, ok_start, 10).ok());
}

}  // namespace
}  // namespace infera::cellpose
