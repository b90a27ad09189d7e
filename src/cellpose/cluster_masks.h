// ClusterMasks: Cellpose's get_masks — turns the converged positions of the foreground
// pixels into labelled masks.
//
//   1. Histogram: each final position, truncated to int and shifted by kHistogramPad, counts
//      into a (height + 2 * pad) x (width + 2 * pad) grid h.
//   2. Seeds: grid cells with h > kSeedMinCount that are the maximum of their 5x5
//      neighbourhood (h >= the 5x5 max filter of h; equal neighbours do not disqualify).
//   3. Growth: from each seed, 5 times add the 8-neighbours of the region that have
//      h > kGrowMinCount (so a region stays in the 11x11 window around its seed).
//   4. Paint the regions into a label grid in order of decreasing seed count (ties: the
//      later seed in row-major order first); later regions overwrite earlier ones — the
//      order of Cellpose v3's numpy get_masks.
//   5. Every start pixel takes the label of the grid cell its position ended in (0 if
//      none); non-foreground pixels stay 0.
//   6. Masks with more than max_size_fraction * height * width pixels are removed, and the
//      rest renumbered 1..N in order of first appearance (row-major), as fastremap.renumber.
// Pure function; thread-safe. Cost: O(pixels + grid cells).
#pragma once

#include <cstdint>
#include <span>

#include "cellpose/follow_flows.h"
#include "cellpose/label_image.h"
#include "common/status.h"

namespace infera::cellpose {

inline constexpr int kHistogramPad = 20;
inline constexpr int kSeedMinCount = 10;  // a seed needs more than this many positions
inline constexpr int kGrowMinCount = 2;   // growth keeps cells with more than this many
inline constexpr int kGrowIterations = 5;

// Cellpose's default for max_size_fraction.
inline constexpr double kDefaultMaxSizeFraction = 0.4;

// The masks of a height x width image whose pixels `pixels` (row-major indices, distinct)
// ended at `positions` (same order; as FollowFlows returns). InvalidArgument when the size
// is invalid, the two spans differ in length, an index is outside the image, a position is
// not finite or outside [0, height - 1] x [0, width - 1], or max_size_fraction is NaN.
StatusOr<LabelImage> ClusterMasks(int height, int width, std::span<const uint32_t> pixels,
                                  std::span<const Point> positions,
                                  double max_size_fraction = kDefaultMaxSizeFraction);

}  // namespace infera::cellpose
