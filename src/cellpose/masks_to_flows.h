// MasksToFlows: Cellpose's "heat diffusion" flows of a label image — the training target of
// the network (times 5) and the ideal flows the flow-consistency QC compares against.
//
// Per object (Cellpose v3 masks_to_flows_cpu), inside its bounding box padded by one pixel:
//   centre  = the object pixel nearest to the mean (y, x) of its pixels (the first such
//             pixel in row-major order on ties);
//   T       = 0; repeat n times: T[centre] += 1, then for every object pixel p at once
//             T[p] = (1/9) * sum of T over the 3x3 neighbourhood of p, where pixels outside
//             the object (background or another object) count as 0;
//             n = 2 * (box height + box width + 4) unless `niter` > 0 overrides it;
//   flow    = (T[y+1,x] - T[y-1,x], T[y,x+1] - T[y,x-1]) with T = 0 outside the object,
//             divided by 1e-60 + its length: unit length, pointing up the heat gradient,
//             i.e. towards the centre. A pixel whose gradient is exactly 0 keeps flow 0.
// Computed in double, stored as float. Background pixels get flow exactly 0.
// Pure function; thread-safe. Cost: sum over objects of pixels(box) * n.
#pragma once

#include "cellpose/label_image.h"
#include "common/status.h"

namespace infera::cellpose {

// The flows of every object of `masks` (any label values). InvalidArgument when `masks`
// fails ValidateLabelImage or `niter` < 0.
StatusOr<FlowField> MasksToFlows(const LabelImage& masks, int niter = 0);

}  // namespace infera::cellpose
