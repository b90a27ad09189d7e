#include "cellpose/flow_quality.h"

#include <cmath>

#include "cellpose/follow_flows.h"
#include "cellpose/label_regions.h"
#include "cellpose/masks_to_flows.h"
#include "common/strings.h"

namespace infera::cellpose {

namespace {

float FiniteOrZero(float v) { return std::isfinite(v) ? v : 0.0f; }

// FlowErrors, also returning the regions it computed (for RemoveBadFlowMasks).
StatusOr<std::vector<MaskFlowError>> Errors(const LabelImage& masks, const FlowField& flows,
                                            LabelRegions& regions) {
  RETURN_IF_ERROR(ValidateLabelImage(masks));
  RETURN_IF_ERROR(ValidateFlowField(flows));
  if (masks.height != flows.height || masks.width != flows.width) {
    return absl::InvalidArgumentError(StrCat("masks of ", masks.height, "x", masks.width,
                                             " but flows of ", flows.height, "x", flows.width));
  }
  ASSIGN_OR_RETURN(FlowField ideal, MasksToFlows(masks));
  regions = FindLabelRegions(masks);
  std::vector<double> sums(regions.regions.size() + 1, 0.0);
  for (size_t i = 0; i < masks.size(); ++i) {
    const uint32_t r = regions.region_of_pixel[i];
    if (r == 0) continue;
    // Cellpose divides the float32 flows by 5 in float32, then subtracts in double.
    const double ey = static_cast<double>(ideal.dy[i]) -
                      static_cast<double>(FiniteOrZero(flows.dy[i]) / kFlowScale);
    const double ex = static_cast<double>(ideal.dx[i]) -
                      static_cast<double>(FiniteOrZero(flows.dx[i]) / kFlowScale);
    sums[r] += ey * ey + ex * ex;
  }
  std::vector<MaskFlowError> out(regions.regions.size());
  for (size_t k = 0; k < out.size(); ++k) {
    out[k].label = regions.regions[k].label;
    out[k].pixels = regions.regions[k].pixels;
    out[k].error = sums[k + 1] / static_cast<double>(regions.regions[k].pixels);
  }
  return out;
}

}  // namespace

StatusOr<std::vector<MaskFlowError>> FlowErrors(const LabelImage& masks,
                                                const FlowField& network_flows) {
  LabelRegions regions;
  return Errors(masks, network_flows, regions);
}

StatusOr<int> RemoveBadFlowMasks(LabelImage& masks, const FlowField& network_flows,
                                 double threshold) {
  if (std::isnan(threshold)) return absl::InvalidArgumentError("flow_threshold must be a number");
  LabelRegions regions;
  ASSIGN_OR_RETURN(std::vector<MaskFlowError> errors, Errors(masks, network_flows, regions));
  std::vector<uint8_t> bad(errors.size() + 1, 0);
  int removed = 0;
  for (size_t k = 0; k < errors.size(); ++k) {
    if (errors[k].error > threshold) {
      bad[k + 1] = 1;
      ++removed;
    }
  }
  if (removed == 0) return 0;
  for (size_t i = 0; i < masks.size(); ++i) {
    if (bad[regions.region_of_pixel[i]]) masks.labels[i] = 0;
  }
  return removed;
}

}  // namespace infera::cellpose
