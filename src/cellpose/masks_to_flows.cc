#include "cellpose/masks_to_flows.h"

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "cellpose/label_regions.h"
#include "common/strings.h"

namespace infera::cellpose {

namespace {

// Scratch buffers reused from one object to the next (no allocation per object once the
// largest box has been seen).
struct Scratch {
  std::vector<double> inside;  // 1 on object pixels of the padded box, 0 elsewhere
  std::vector<double> heat;
  std::vector<double> next;
};

// Diffuses heat in one object's padded box and writes its unit flows into `out`.
void FlowsOfRegion(const LabelRegion& region, uint32_t region_number,
                   const std::vector<uint32_t>& region_of_pixel, int image_width, int niter,
                   Scratch& s, FlowField& out) {
  const int ly = region.height() + 2;  // padded box, as Cellpose's T
  const int lx = region.width() + 2;
  const size_t cells = static_cast<size_t>(ly) * static_cast<size_t>(lx);
  s.inside.assign(cells, 0.0);
  s.heat.assign(cells, 0.0);
  s.next.assign(cells, 0.0);

  // Mark the object and take the sums for its mean position (padded box coordinates).
  int64_t sum_y = 0;
  int64_t sum_x = 0;
  for (int y = region.top; y < region.bottom; ++y) {
    const uint32_t* row = region_of_pixel.data() + static_cast<size_t>(y) * image_width;
    for (int x = region.left; x < region.right; ++x) {
      if (row[x] != region_number) continue;
      const int py = y - region.top + 1;
      const int px = x - region.left + 1;
      s.inside[static_cast<size_t>(py) * lx + px] = 1.0;
      sum_y += py;
      sum_x += px;
    }
  }
  const double mean_y = static_cast<double>(sum_y) / static_cast<double>(region.pixels);
  const double mean_x = static_cast<double>(sum_x) / static_cast<double>(region.pixels);
  size_t centre = 0;
  double best = std::numeric_limits<double>::infinity();
  for (int py = 1; py < ly - 1; ++py) {
    for (int px = 1; px < lx - 1; ++px) {
      const size_t i = static_cast<size_t>(py) * lx + px;
      if (s.inside[i] == 0.0) continue;
      const double d = (px - mean_x) * (px - mean_x) + (py - mean_y) * (py - mean_y);
      if (d < best) {  // strictly smaller: the first minimum wins, as numpy's argmin
        best = d;
        centre = i;
      }
    }
  }

  const int n = niter > 0 ? niter : 2 * (ly + lx);
  const double ninth = 1.0 / 9.0;
  for (int t = 0; t < n; ++t) {
    s.heat[centre] += 1.0;
    const double* h = s.heat.data();
    for (int py = 1; py < ly - 1; ++py) {
      const size_t r = static_cast<size_t>(py) * lx;
      const double* up = h + r - lx;
      const double* mid = h + r;
      const double* down = h + r + lx;
      const double* in = s.inside.data() + r;
      double* dst = s.next.data() + r;
      for (int px = 1; px < lx - 1; ++px) {
        // Cellpose's summation order; cells outside the object stay 0 in both buffers.
        const double sum = mid[px] + up[px] + down[px] + mid[px - 1] + mid[px + 1] + up[px - 1] +
                           up[px + 1] + down[px - 1] + down[px + 1];
        dst[px] = in[px] * (ninth * sum);
      }
    }
    std::swap(s.heat, s.next);
  }

  const double* h = s.heat.data();
  for (int py = 1; py < ly - 1; ++py) {
    for (int px = 1; px < lx - 1; ++px) {
      const size_t i = static_cast<size_t>(py) * lx + px;
      if (s.inside[i] == 0.0) continue;
      const double gy = h[i + lx] - h[i - lx];
      const double gx = h[i + 1] - h[i - 1];
      const double norm = 1e-60 + std::sqrt(gy * gy + gx * gx);
      const size_t o = static_cast<size_t>(region.top + py - 1) * image_width +
                       static_cast<size_t>(region.left + px - 1);
      out.dy[o] = static_cast<float>(gy / norm);
      out.dx[o] = static_cast<float>(gx / norm);
    }
  }
}

}  // namespace

StatusOr<FlowField> MasksToFlows(const LabelImage& masks, int niter) {
  RETURN_IF_ERROR(ValidateLabelImage(masks));
  if (niter < 0) {
    return absl::InvalidArgumentError(StrCat("masks_to_flows niter must be >= 0, got ", niter));
  }
  FlowField out = MakeFlowField(masks.height, masks.width);
  const LabelRegions regions = FindLabelRegions(masks);
  Scratch scratch;
  for (size_t k = 0; k < regions.regions.size(); ++k) {
    FlowsOfRegion(regions.regions[k], static_cast<uint32_t>(k + 1), regions.region_of_pixel,
                  masks.width, niter, scratch, out);
  }
  return out;
}

}  // namespace infera::cellpose
