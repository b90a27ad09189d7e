#include "cellpose/follow_flows.h"

#include <algorithm>
#include <cmath>

#include "common/strings.h"

namespace infera::cellpose {

namespace {

float FiniteOrZero(float v) { return std::isfinite(v) ? v : 0.0f; }

// p + v clamped to [0, hi]; NaN (which cannot arise from finite inputs) goes to 0.
float ClampedStep(float p, float v, float hi) {
  const float q = p + v;
  const float lo_clamped = q > 0.0f ? q : 0.0f;
  return lo_clamped < hi ? lo_clamped : hi;
}

// The interleaved step field and the image bounds.
struct FieldView {
  const float* f;  // (dY, dX) pairs, row-major
  int height;
  int width;
  float max_y;
  float max_x;
};

constexpr size_t kBatch = 8;

// One Euler step of the point (py, px); returns whether it moved.
inline bool Step(const FieldView& v, float& py, float& px) {
  // Positions are in [0, L - 1], so truncation is floor and only the +1 neighbour needs a
  // clamp (at L - 1).
  const int y0 = static_cast<int>(py);
  const int x0 = static_cast<int>(px);
  const float fy = py - static_cast<float>(y0);
  const float fx = px - static_cast<float>(x0);
  const int y1 = y0 + 1 < v.height ? y0 + 1 : v.height - 1;
  const int x1 = x0 + 1 < v.width ? x0 + 1 : v.width - 1;
  const float* r0 = v.f + 2 * (static_cast<size_t>(y0) * v.width);
  const float* r1 = v.f + 2 * (static_cast<size_t>(y1) * v.width);
  const size_t c0 = 2 * static_cast<size_t>(x0);
  const size_t c1 = 2 * static_cast<size_t>(x1);
  const float gy = 1.0f - fy;
  const float gx = 1.0f - fx;
  // map_coordinates' expression, term by term, so rounding matches Cellpose's float32.
  const float vy = r0[c0] * gy * gx + r0[c1] * gy * fx + r1[c0] * fy * gx + r1[c1] * fy * fx;
  const float vx =
      r0[c0 + 1] * gy * gx + r0[c1 + 1] * gy * fx + r1[c0 + 1] * fy * gx + r1[c1 + 1] * fy * fx;
  const float ny = ClampedStep(py, vy, v.max_y);
  const float nx = ClampedStep(px, vx, v.max_x);
  const bool moved = ny != py || nx != px;
  py = ny;
  px = nx;
  return moved;
}

}  // namespace

std::vector<uint32_t> ForegroundPixels(const std::vector<float>& cellprob, float threshold) {
  std::vector<uint32_t> pixels;
  for (size_t i = 0; i < cellprob.size(); ++i) {
    if (cellprob[i] > threshold) pixels.push_back(static_cast<uint32_t>(i));
  }
  return pixels;
}

FlowField StepField(const FlowField& flows, std::span<const uint32_t> foreground) {
  FlowField step = MakeFlowField(flows.height, flows.width);
  for (uint32_t i : foreground) {
    step.dy[i] = FiniteOrZero(flows.dy[i]) / kFlowScale;
    step.dx[i] = FiniteOrZero(flows.dx[i]) / kFlowScale;
  }
  return step;
}

StatusOr<std::vector<Point>> FollowFlows(const FlowField& step_field,
                                         std::span<const uint32_t> start_pixels, int niter) {
  RETURN_IF_ERROR(ValidateFlowField(step_field));
  if (niter < 0 || niter > kMaxNiter) {
    return absl::InvalidArgumentError(
        StrCat("niter must be between 0 and ", kMaxNiter, ", got ", niter));
  }
  const size_t n = step_field.size();
  for (uint32_t i : start_pixels) {
    if (i >= n) {
      return absl::InvalidArgumentError(StrCat("start pixel ", i, " is outside the ",
                                               step_field.height, "x", step_field.width,
                                               " flow field"));
    }
  }

  // (dY, dX) interleaved: one bilinear sample reads 4 adjacent pairs (two cache lines).
  std::vector<float> field(2 * n);
  for (size_t i = 0; i < n; ++i) {
    field[2 * i] = FiniteOrZero(step_field.dy[i]);
    field[2 * i + 1] = FiniteOrZero(step_field.dx[i]);
  }
  const int height = step_field.height;
  const int width = step_field.width;

  std::vector<Point> out(start_pixels.size());
  const FieldView view{field.data(), height, width, static_cast<float>(height - 1),
                       static_cast<float>(width - 1)};
  // Points move independently. A small batch of neighbouring points takes its steps in
  // lockstep: the batch's few pixels stay in cache, and the batch gives the CPU independent
  // chains of work (one point's step waits on its previous one).
  for (size_t base = 0; base < start_pixels.size(); base += kBatch) {
    const size_t m = std::min(kBatch, start_pixels.size() - base);
    float py[kBatch];
    float px[kBatch];
    for (size_t j = 0; j < m; ++j) {
      const uint32_t row = start_pixels[base + j] / static_cast<uint32_t>(width);
      const uint32_t col = start_pixels[base + j] % static_cast<uint32_t>(width);
      py[j] = static_cast<float>(row);
      px[j] = static_cast<float>(col);
    }
    for (int t = 0; t < niter; ++t) {
      bool moved = false;
      for (size_t j = 0; j < m; ++j) moved |= Step(view, py[j], px[j]);
      // A position that maps onto itself stays there for every later step.
      if (!moved) break;
    }
    for (size_t j = 0; j < m; ++j) out[base + j] = Point{py[j], px[j]};
  }
  return out;
}

}  // namespace infera::cellpose
