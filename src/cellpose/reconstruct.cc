#include "cellpose/reconstruct.h"

#include <algorithm>
#include <cmath>

#include "cellpose/cluster_masks.h"
#include "cellpose/flow_quality.h"
#include "cellpose/follow_flows.h"
#include "cellpose/mask_cleanup.h"
#include "common/strings.h"

namespace infera::cellpose {

namespace {

Status ValidateParams(const MaskParams& p) {
  if (std::isnan(p.cellprob_threshold) || std::isnan(p.flow_threshold) ||
      std::isnan(p.max_size_fraction)) {
    return absl::InvalidArgumentError(
        "cellprob_threshold, flow_threshold and max_size_fraction must be numbers");
  }
  if (p.niter < 0 || p.niter > kMaxNiter) {
    return absl::InvalidArgumentError(
        StrCat("niter must be between 0 and ", kMaxNiter, ", got ", p.niter));
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<LabelImage> ComputeMasks(const FlowField& flows, const std::vector<float>& cellprob,
                                  const MaskParams& params) {
  RETURN_IF_ERROR(ValidateFlowField(flows));
  if (cellprob.size() != flows.size()) {
    return absl::InvalidArgumentError(StrCat("cellprob holds ", cellprob.size(),
                                             " values but the flows are ", flows.height, "x",
                                             flows.width));
  }
  RETURN_IF_ERROR(ValidateParams(params));

  const std::vector<uint32_t> foreground = ForegroundPixels(cellprob, params.cellprob_threshold);
  if (foreground.empty()) return MakeLabelImage(flows.height, flows.width);

  const int niter = params.niter > 0 ? params.niter : kDefaultNiter;
  std::vector<Point> positions;
  {
    const FlowField step = StepField(flows, foreground);
    ASSIGN_OR_RETURN(positions, FollowFlows(step, foreground, niter));
  }
  ASSIGN_OR_RETURN(LabelImage masks, ClusterMasks(flows.height, flows.width, foreground, positions,
                                                  params.max_size_fraction));
  positions = {};

  const bool any_mask =
      std::any_of(masks.labels.begin(), masks.labels.end(), [](uint32_t v) { return v != 0; });
  if (any_mask && params.flow_threshold > 0.0) {
    RETURN_IF_ERROR(RemoveBadFlowMasks(masks, flows, params.flow_threshold).status());
  }
  FillHolesAndRemoveSmallMasks(masks, params.min_size);
  return masks;
}

}  // namespace infera::cellpose
