// Polygon rasterisation for annotation imports (COCO and CVAT polygons): a pixel is
// inside when its centre (x + 0.5, y + 0.5) is inside the polygon by the even-odd rule.
// Pure; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "common/status.h"

namespace infera {

// Calls fill(x, y) for every pixel of a width x height image inside the polygon of
// points (x0, y0, x1, y1, ...). InvalidArgument for fewer than 3 points, an odd count,
// a non-finite coordinate or a point outside [0, width] x [0, height].
Status RasterizePolygon(std::span<const double> xy, int width, int height,
                        const std::function<void(int x, int y)>& fill);

}  // namespace infera
