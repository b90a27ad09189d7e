// FollowFlows: Cellpose's flow dynamics — Euler integration of pixel positions through a
// step field (v3 CPU path, dynamics.steps2D_interp with map_coordinates).
//
// Every start pixel begins at its integer coordinates (y, x) and takes `niter` steps:
//   v = bilinear(step, p)   floor indices clamped to the image, the +1 neighbour clamped
//                           too, weights from p - floor(p) (float32 throughout);
//   p = clamp(p + v, 0, L - 1) per axis.
// Positions therefore always stay inside [0, height - 1] x [0, width - 1].
//
// The step field is what Cellpose integrates: the network flows zeroed outside the
// foreground and divided by 5 (see StepField), so a step is about one pixel.
// Pure functions; thread-safe. Cost: O(start pixels * niter), no allocation per step.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "cellpose/label_image.h"
#include "common/status.h"

namespace infera::cellpose {

// Cellpose's default number of Euler steps.
inline constexpr int kDefaultNiter = 200;
// The most Euler steps accepted (Cellpose's docs suggest 2000 for long ROIs).
inline constexpr int kMaxNiter = 100000;
// The network's flows are 5 x unit flows; the dynamics divide them by this.
inline constexpr float kFlowScale = 5.0f;

// A position in pixel coordinates.
struct Point {
  float y = 0.0f;
  float x = 0.0f;
};

// The row-major indices of the pixels whose cell probability is above `threshold`
// (strictly; NaN is never above), in increasing order. The foreground of Cellpose.
std::vector<uint32_t> ForegroundPixels(const std::vector<float>& cellprob, float threshold);

// Cellpose's step field dP * fg / 5: `flows` divided by kFlowScale on the pixels marked in
// `foreground` (indices as ForegroundPixels returns), 0 elsewhere. Non-finite flow values
// become 0 so that no position can become NaN. Preconditions: `flows` passes
// ValidateFlowField and every index is below flows.size().
FlowField StepField(const FlowField& flows, std::span<const uint32_t> foreground);

// The positions of the pixels `start_pixels` (row-major indices) after `niter` steps through
// `step_field`, in the order of `start_pixels`. InvalidArgument when the field fails
// ValidateFlowField, niter is outside [0, kMaxNiter] or an index is outside the image.
// Non-finite steps are read as 0.
StatusOr<std::vector<Point>> FollowFlows(const FlowField& step_field,
                                         std::span<const uint32_t> start_pixels, int niter);

}  // namespace infera::cellpose
