// ComputeMasks: Cellpose's mask reconstruction from the network's outputs
// (dynamics.compute_masks, 2-D, v3 CPU path), without the network.
//
//   1. foreground = cellprob > cellprob_threshold (logits); none -> all-zero labels;
//   2. step field = flows * foreground / 5 (StepField);
//   3. Euler integration of every foreground pixel for niter steps (FollowFlows);
//   4. clustering of the final positions into masks, huge masks removed (ClusterMasks);
//   5. flow-consistency QC when flow_threshold > 0 (RemoveBadFlowMasks, on the network's
//      flows);
//   6. small masks removed, holes filled, labels renumbered 1..N (FillHolesAndRemoveSmall-
//      Masks).
// The labels are uint32; a caller that saves Cellpose's uint16 PNGs narrows them when
// N < 65536. Pure function; thread-safe. Runs on the calling thread.
#pragma once

#include <vector>

#include "cellpose/label_image.h"
#include "common/status.h"

namespace infera::cellpose {

// Cellpose's names and defaults.
struct MaskParams {
  // Foreground where the cell-probability logit is above this.
  float cellprob_threshold = 0.0f;
  // Masks whose flow error is above this are removed; <= 0 disables the QC.
  double flow_threshold = 0.4;
  // Masks with fewer pixels are removed (before and after hole filling); <= 0 disables.
  int min_size = 15;
  // Euler steps; 0 means Cellpose's default, 200. (Cellpose v3 uses 200 / rescale when the
  // image was resized by `rescale` for the network; the caller passes that here.)
  int niter = 0;
  // Masks with more than this fraction of the image's pixels are removed.
  double max_size_fraction = 0.4;
};

// The labelled masks of a height x width image from the network's flows (dY, dX; 5 x unit
// flows) and cell-probability logits (height * width, row-major). InvalidArgument when the
// flows fail ValidateFlowField, cellprob has a different size, niter is outside
// [0, kMaxNiter], or a threshold or max_size_fraction is NaN. Non-finite flow values are
// read as 0; a NaN cellprob is background.
StatusOr<LabelImage> ComputeMasks(const FlowField& flows, const std::vector<float>& cellprob,
                                  const MaskParams& params = {});

}  // namespace infera::cellpose
