// Tests for cellpose/masks_to_flows.h: a disk's flows point at its centre with unit length
// and are exactly 0 outside; mirror symmetry; agreement with a direct transcription of the
// algorithm written here (touching masks, odd shapes, single pixels); label values do not
// matter; niter; invalid inputs.
#include "cellpose/masks_to_flows.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace infera::cellpose {
namespace {

LabelImage Disk(int size, double cy, double cx, double r, uint32_t label = 1) {
  LabelImage image = MakeLabelImage(size, size);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      if ((y - cy) * (y - cy) + (x - cx) * (x - cx) <= r * r) {
        image.labels[static_cast<size_t>(y) * size + x] = label;
      }
    }
  }
  return image;
}

// Cellpose v3's masks_to_flows_cpu written out directly from its description, on the whole
// padded image, one mask at a time, with the label test in the neighbour sum.
FlowField ReferenceFlows(const LabelImage& m) {
  const int H = m.height + 2;
  const int W = m.width + 2;
  auto label = [&](int y, int x) -> uint32_t {  // padded coordinates
    if (y < 1 || x < 1 || y > m.height || x > m.width) return 0;
    return m.at(y - 1, x - 1);
  };
  std::vector<uint32_t> labels;
  for (uint32_t l : m.labels) {
    bool seen = l == 0;
    for (uint32_t k : labels) seen = seen || k == l;
    if (!seen) labels.push_back(l);
  }
  FlowField out = MakeFlowField(m.height, m.width);
  for (uint32_t k : labels) {
    int top = H, bottom = 0, left = W, right = 0;
    double sy = 0, sx = 0, n = 0;
    for (int y = 0; y < H; ++y) {
      for (int x = 0; x < W; ++x) {
        if (label(y, x) != k) continue;
        top = std::min(top, y);
        bottom = std::max(bottom, y);
        left = std::min(left, x);
        right = std::max(right, x);
        sy += y;
        sx += x;
        n += 1;
      }
    }
    const double my = sy / n, mx = sx / n;
    int cy = -1, cx = -1;
    double best = 1e300;
    for (int y = 0; y < H; ++y) {
      for (int x = 0; x < W; ++x) {
        if (label(y, x) != k) continue;
        const double d = (y - my) * (y - my) + (x - mx) * (x - mx);
        if (d < best) {
          best = d;
          cy = y;
          cx = x;
        }
      }
    }
    const int box_h = bottom - top + 1, box_w = right - left + 1;
    const int iters = 2 * (box_h + box_w + 4);
    std::vector<double> T(static_cast<size_t>(H) * W, 0.0);
    for (int t = 0; t < iters; ++t) {
      T[static_cast<size_t>(cy) * W + cx] += 1.0;
      std::vector<double> next = T;
      for (int y = 1; y < H - 1; ++y) {
        for (int x = 1; x < W - 1; ++x) {
          if (label(y, x) != k) continue;
          double s = 0;
          for (int dy = -1; dy <= 1; ++dy) {
            for (int dx = -1; dx <= 1; ++dx) {
              if (label(y + dy, x + dx) == k) s += T[static_cast<size_t>(y + dy) * W + x + dx];
            }
          }
          next[static_cast<size_t>(y) * W + x] = s / 9.0;
        }
      }
      T = next;
    }
    for (int y = 1; y < H - 1; ++y) {
      for (int x = 1; x < W - 1; ++x) {
        if (label(y, x) != k) continue;
        const double gy =
            T[static_cast<size_t>(y + 1) * W + x] - T[static_cast<size_t>(y - 1) * W + x];
        const double gx =
            T[static_cast<size_t>(y) * W + x + 1] - T[static_cast<size_t>(y) * W + x - 1];
        const double norm = 1e-60 + std::sqrt(gy * gy + gx * gx);
        const size_t o = static_cast<size_t>(y - 1) * m.width + (x - 1);
        out.dy[o] = static_cast<float>(gy / norm);
        out.dx[o] = static_cast<float>(gx / norm);
      }
    }
  }
  return out;
}

TEST(MasksToFlowsTest, DiskFlowsPointToTheCentreWithUnitLengthAndZeroOutside) {
  const LabelImage disk = Disk(41, 20, 20, 12);
  auto flows = MasksToFlows(disk);
  ASSERT_TRUE(flows.ok()) << flows.status();
  int checked = 0;
  for (int y = 0; y < 41; ++y) {
    for (int x = 0; x < 41; ++x) {
      const size_t i = static_cast<size_t>(y) * 41 + x;
      const float fy = flows->dy[i], fx = flows->dx[i];
      if (disk.labels[i] == 0) {
        EXPECT_EQ(fy, 0.0f) << y << "," << x;
        EXPECT_EQ(fx, 0.0f) << y << "," << x;
        continue;
      }
      const double ty = 20 - y, tx = 20 - x;  // towards the centre
      const double dist = std::hypot(ty, tx);
      if (dist < 2) continue;  // the gradient vanishes at the centre itself
      EXPECT_NEAR(std::hypot(fy, fx), 1.0, 1e-5) << y << "," << x;
      // Inward: the angle to the centre direction is small.
      const double cosine = (fy * ty + fx * tx) / dist;
      EXPECT_GT(cosine, 0.9) << y << "," << x << " flow " << fy << "," << fx;
      ++checked;
    }
  }
  EXPECT_GT(checked, 400);
}

TEST(MasksToFlowsTest, SymmetricShapeHasMirroredFlows) {
  // An axis-aligned ellipse centred on pixel (15, 20): mirror symmetric in both axes.
  LabelImage image = MakeLabelImage(31, 41);
  for (int y = 0; y < 31; ++y) {
    for (int x = 0; x < 41; ++x) {
      const double u = (x - 20) / 14.0, v = (y - 15) / 8.0;
      if (u * u + v * v <= 1.0) image.labels[static_cast<size_t>(y) * 41 + x] = 3;
    }
  }
  auto flows = MasksToFlows(image);
  ASSERT_TRUE(flows.ok()) << flows.status();
  auto at = [&](const std::vector<float>& f, int y, int x) {
    return f[static_cast<size_t>(y) * 41 + x];
  };
  for (int y = 0; y < 31; ++y) {
    for (int x = 0; x < 41; ++x) {
      if (image.at(y, x) == 0 || (y == 15 && x == 20)) continue;
      const int my = 30 - y, mx = 40 - x;
      // Left-right mirror: dX flips sign, dY stays.
      EXPECT_NEAR(at(flows->dx, y, mx), -at(flows->dx, y, x), 1e-5) << y << "," << x;
      EXPECT_NEAR(at(flows->dy, y, mx), at(flows->dy, y, x), 1e-5) << y << "," << x;
      // Up-down mirror: dY flips sign, dX stays.
      EXPECT_NEAR(at(flows->dy, my, x), -at(flows->dy, y, x), 1e-5) << y << "," << x;
      EXPECT_NEAR(at(flows->dx, my, x), at(flows->dx, y, x), 1e-5) << y << "," << x;
    }
  }
  // Not trivially symmetric because everything is 0: left of the centre the flow points
  // right.
  EXPECT_GT(at(flows->dx, 15, 10), 0.9f);
  EXPECT_LT(at(flows->dx, 15, 30), -0.9f);
}

TEST(MasksToFlowsTest, MatchesDirectTranscriptionOnTouchingAndOddMasks) {
  // 1: an L; 2: a rectangle touching the L; 3: a C (its centre pixel lies on the C);
  // 4: a single pixel; 5: a one-pixel-wide diagonal line; 6: a mask touching the border.
  const char* rows[] = {
      "66666...............", "66666...............", "6666................",
      "....11.......3333...", "....11.......3......", "....1122222..3......",
      "....1122222..3......", "....11111....3333...", "....11111...........",
      "..........4.........", "...5................", "....5...............",
      ".....5..............", "......5.............",
  };
  LabelImage m = MakeLabelImage(14, 20);
  for (int y = 0; y < 14; ++y) {
    for (int x = 0; x < 20; ++x) {
      const char c = rows[y][x];
      if (c != '.') m.labels[static_cast<size_t>(y) * 20 + x] = static_cast<uint32_t>(c - '0');
    }
  }
  auto flows = MasksToFlows(m);
  ASSERT_TRUE(flows.ok()) << flows.status();
  const FlowField want = ReferenceFlows(m);
  int nonzero = 0;
  for (size_t i = 0; i < m.size(); ++i) {
    EXPECT_NEAR(flows->dy[i], want.dy[i], 1e-5) << "pixel " << i;
    EXPECT_NEAR(flows->dx[i], want.dx[i], 1e-5) << "pixel " << i;
    if (want.dy[i] != 0.0f || want.dx[i] != 0.0f) ++nonzero;
  }
  EXPECT_GT(nonzero, 45);
  // The single pixel has no gradient at all.
  EXPECT_EQ(flows->dy[9 * 20 + 10], 0.0f);
  EXPECT_EQ(flows->dx[9 * 20 + 10], 0.0f);
  // Touching masks do not see each other's heat: the L's pixel next to the rectangle
  // (row 5, column 5) points away from it, into the L (left).
  EXPECT_LT(flows->dx[5 * 20 + 5], 0.0f);
}

TEST(MasksToFlowsTest, LabelValuesDoNotMatter) {
  LabelImage a = Disk(30, 10, 10, 6, 1);
  LabelImage b = a;
  const LabelImage second = Disk(30, 20, 21, 7, 1);
  for (size_t i = 0; i < a.size(); ++i) {
    if (second.labels[i] != 0 && a.labels[i] == 0) {
      a.labels[i] = 2;
      b.labels[i] = 4000000000u;
    } else if (b.labels[i] != 0) {
      b.labels[i] = 7;
    }
  }
  auto fa = MasksToFlows(a);
  auto fb = MasksToFlows(b);
  ASSERT_TRUE(fa.ok() && fb.ok());
  EXPECT_EQ(fa->dy, fb->dy);
  EXPECT_EQ(fa->dx, fb->dx);
}

TEST(MasksToFlowsTest, NiterOverridesTheDefault) {
  const LabelImage disk = Disk(41, 20, 20, 15);
  auto full = MasksToFlows(disk);
  auto one = MasksToFlows(disk, 1);
  ASSERT_TRUE(full.ok() && one.ok());
  // After one iteration heat has reached only the centre's neighbours.
  const size_t far = 20 * 41 + 8;
  EXPECT_EQ(one->dx[far], 0.0f);
  EXPECT_NEAR(full->dx[far], 1.0f, 1e-3);
}

TEST(MasksToFlowsTest, EmptyMasksGiveZeroFlows) {
  auto flows = MasksToFlows(MakeLabelImage(5, 7));
  ASSERT_TRUE(flows.ok()) << flows.status();
  EXPECT_EQ(flows->height, 5);
  EXPECT_EQ(flows->width, 7);
  EXPECT_EQ(flows->dy, std::vector<float>(35, 0.0f));
  EXPECT_EQ(flows->dx, std::vector<float>(35, 0.0f));
}

TEST(MasksToFlowsTest, InvalidInputsAreInvalidArgument) {
  LabelImage wrong_size = MakeLabelImage(4, 4);
  wrong_size.labels.pop_back();
  EXPECT_EQ(MasksToFlows(wrong_size).status().code(), absl::StatusCode::kInvalidArgument);
  LabelImage empty;
  EXPECT_EQ(MasksToFlows(empty).status().code(), absl::StatusCode::kInvalidArgument);
  LabelImage negative;
  negative.height = -3;
  negative.width = -3;
  negative.labels.resize(9);
  EXPECT_EQ(MasksToFlows(negative).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MasksToFlows(MakeLabelImage(4, 4), -1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infera::cellpose
