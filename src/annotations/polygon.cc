#include "annotations/polygon.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "common/strings.h"

namespace infera {

Status RasterizePolygon(std::span<const double> xy, int width, int height,
                        const std::function<void(int x, int y)>& fill) {
  if (xy.size() % 2 != 0)
    return absl::InvalidArgumentError("a polygon has an odd coordinate count");
  const size_t n = xy.size() / 2;
  if (n < 3) return absl::InvalidArgumentError("a polygon needs at least 3 points");
  double min_y = height, max_y = 0;
  for (size_t i = 0; i < n; ++i) {
    const double x = xy[2 * i], y = xy[2 * i + 1];
    if (!std::isfinite(x) || !std::isfinite(y)) {
      return absl::InvalidArgumentError("a polygon has a coordinate that is not a number");
    }
    if (x < 0 || y < 0 || x > width || y > height) {
      return absl::InvalidArgumentError(
          StrCat("polygon point (", x, ", ", y, ") is outside the ", width, "x", height, " image"));
    }
    min_y = std::min(min_y, y);
    max_y = std::max(max_y, y);
  }
  const int y0 = std::max(0, static_cast<int>(std::floor(min_y - 0.5)));
  const int y1 = std::min(height - 1, static_cast<int>(std::ceil(max_y - 0.5)));
  std::vector<double> crossings;
  for (int y = y0; y <= y1; ++y) {
    const double cy = y + 0.5;
    crossings.clear();
    for (size_t i = 0; i < n; ++i) {
      const double ax = xy[2 * i], ay = xy[2 * i + 1];
      const double bx = xy[2 * ((i + 1) % n)], by = xy[2 * ((i + 1) % n) + 1];
      // Half-open in y so a vertex on the scan line counts once.
      if ((ay <= cy && by > cy) || (by <= cy && ay > cy)) {
        crossings.push_back(ax + (cy - ay) * (bx - ax) / (by - ay));
      }
    }
    std::sort(crossings.begin(), crossings.end());
    for (size_t k = 0; k + 1 < crossings.size(); k += 2) {
      // Pixels whose centre x + 0.5 lies in [left, right).
      const int xa = std::max(0, static_cast<int>(std::ceil(crossings[k] - 0.5)));
      const int xb = std::min(width - 1, static_cast<int>(std::ceil(crossings[k + 1] - 0.5)) - 1);
      for (int x = xa; x <= xb; ++x) fill(x, y);
    }
  }
  return absl::OkStatus();
}

}  // namespace infera
