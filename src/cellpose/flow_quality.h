// Flow-consistency QC (Cellpose's metrics.flow_error and dynamics.remove_bad_flow_masks):
// a mask is kept only when the network's flows inside it look like the ideal flows of the
// mask itself.
//
// For mask k with pixels P_k: error_k = mean over p in P_k of
//   (mu_y(p) - dY(p) / 5)^2 + (mu_x(p) - dX(p) / 5)^2,
// where mu = MasksToFlows(masks) (unit flows) and dY, dX are the network's flows (5 x unit
// flows when perfect). Computed in double. A non-finite network flow value counts as 0.
// Pure functions; thread-safe for distinct images.
#pragma once

#include <cstdint>
#include <vector>

#include "cellpose/label_image.h"
#include "common/status.h"

namespace infera::cellpose {

// Cellpose's default flow_threshold.
inline constexpr double kDefaultFlowThreshold = 0.4;

struct MaskFlowError {
  uint32_t label = 0;
  int64_t pixels = 0;
  double error = 0.0;
};

// The error of every mask of `masks` (any label values), sorted by label. InvalidArgument
// when either input fails validation or their sizes differ.
StatusOr<std::vector<MaskFlowError>> FlowErrors(const LabelImage& masks,
                                                const FlowField& network_flows);

// Sets to 0 every mask whose error is above `threshold` (strictly) and returns how many were
// removed; labels are not renumbered. Errors as FlowErrors, and InvalidArgument for a NaN
// threshold.
StatusOr<int> RemoveBadFlowMasks(LabelImage& masks, const FlowField& network_flows,
                                 double threshold = kDefaultFlowThreshold);

}  // namespace infera::cellpose
