#include "cellpose/cluster_masks.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "cellpose/mask_cleanup.h"
#include "common/strings.h"

namespace infera::cellpose {

namespace {

constexpr int kMaxFilterRadius = 2;  // the 5x5 max filter
constexpr int kWindow = 2 * kGrowIterations + 1;
constexpr size_t kWindowCells = static_cast<size_t>(kWindow) * kWindow;

struct Seed {
  uint32_t cell = 0;
  int32_t count = 0;
};

// Whether no cell of the 5x5 neighbourhood of `cell` holds more than h[cell].
bool IsLocalMax(const std::vector<int32_t>& h, int grid_h, int grid_w, int cy, int cx) {
  const int32_t v = h[static_cast<size_t>(cy) * grid_w + cx];
  const int y0 = std::max(0, cy - kMaxFilterRadius);
  const int y1 = std::min(grid_h - 1, cy + kMaxFilterRadius);
  const int x0 = std::max(0, cx - kMaxFilterRadius);
  const int x1 = std::min(grid_w - 1, cx + kMaxFilterRadius);
  for (int y = y0; y <= y1; ++y) {
    const int32_t* row = h.data() + static_cast<size_t>(y) * grid_w;
    for (int x = x0; x <= x1; ++x) {
      if (row[x] > v) return false;
    }
  }
  return true;
}

// Grows the region of one seed inside its 11x11 window and paints it with `label`.
void GrowAndPaint(const std::vector<int32_t>& h, int grid_h, int grid_w, uint32_t seed_cell,
                  uint32_t label, std::vector<uint32_t>& grid_labels) {
  const int cy = static_cast<int>(seed_cell / static_cast<uint32_t>(grid_w));
  const int cx = static_cast<int>(seed_cell % static_cast<uint32_t>(grid_w));
  const int oy = cy - kGrowIterations;  // window origin in the grid
  const int ox = cx - kGrowIterations;
  std::array<uint8_t, kWindowCells> in{};
  std::array<uint8_t, kWindowCells> next{};
  auto grows = [&](int wy, int wx) {
    const int y = oy + wy;
    const int x = ox + wx;
    return y >= 0 && y < grid_h && x >= 0 && x < grid_w &&
           h[static_cast<size_t>(y) * grid_w + x] > kGrowMinCount;
  };
  in[kGrowIterations * kWindow + kGrowIterations] = 1;
  for (int it = 0; it < kGrowIterations; ++it) {
    // After `it` rounds the region lies within `it` of the centre; one more round reaches
    // it + 1.
    const int lo = kGrowIterations - it - 1;
    const int hi = kGrowIterations + it + 1;
    for (int wy = lo; wy <= hi; ++wy) {
      for (int wx = lo; wx <= hi; ++wx) {
        uint8_t any = 0;
        for (int dy = -1; dy <= 1 && !any; ++dy) {
          for (int dx = -1; dx <= 1; ++dx) {
            const int ny = wy + dy;
            const int nx = wx + dx;
            if (ny >= 0 && ny < kWindow && nx >= 0 && nx < kWindow && in[ny * kWindow + nx]) {
              any = 1;
              break;
            }
          }
        }
        next[wy * kWindow + wx] = any && grows(wy, wx) ? 1 : 0;
      }
    }
    in = next;
  }
  for (int wy = 0; wy < kWindow; ++wy) {
    for (int wx = 0; wx < kWindow; ++wx) {
      if (in[wy * kWindow + wx]) {
        grid_labels[static_cast<size_t>(oy + wy) * grid_w + (ox + wx)] = label;
      }
    }
  }
}

}  // namespace

StatusOr<LabelImage> ClusterMasks(int height, int width, std::span<const uint32_t> pixels,
                                  std::span<const Point> positions, double max_size_fraction) {
  RETURN_IF_ERROR(ValidateSize(height, width, "image"));
  if (pixels.size() != positions.size()) {
    return absl::InvalidArgumentError(StrCat("cluster_masks got ", pixels.size(), " pixels but ",
                                             positions.size(), " positions"));
  }
  if (std::isnan(max_size_fraction)) {
    return absl::InvalidArgumentError("max_size_fraction must be a number");
  }
  LabelImage out = MakeLabelImage(height, width);
  const size_t n = out.size();
  const float max_y = static_cast<float>(height - 1);
  const float max_x = static_cast<float>(width - 1);
  for (size_t k = 0; k < pixels.size(); ++k) {
    const Point& p = positions[k];
    // The negated comparisons also catch NaN.
    if (pixels[k] >= n || !(p.y >= 0.0f && p.y <= max_y) || !(p.x >= 0.0f && p.x <= max_x)) {
      return absl::InvalidArgumentError(StrCat("cluster_masks: pixel ", pixels[k], " ended at (",
                                               p.y, ", ", p.x, "), outside the ", height, "x",
                                               width, " image (or the pixel is)"));
    }
  }
  if (pixels.empty()) return out;

  // 1. Histogram of the final positions. The grid has at most kMaxPixels + 40 * (2^24 +
  //    128) + 1600 < 2^32 cells, so uint32 indices suffice.
  const int grid_h = height + 2 * kHistogramPad;
  const int grid_w = width + 2 * kHistogramPad;
  std::vector<int32_t> h(static_cast<size_t>(grid_h) * static_cast<size_t>(grid_w), 0);
  std::vector<uint32_t> cell_of(pixels.size());
  for (size_t k = 0; k < pixels.size(); ++k) {
    const int gy = static_cast<int>(positions[k].y) + kHistogramPad;
    const int gx = static_cast<int>(positions[k].x) + kHistogramPad;
    cell_of[k] = static_cast<uint32_t>(static_cast<size_t>(gy) * grid_w + gx);
    ++h[cell_of[k]];
  }

  // 2. Seeds: the cells holding more than kSeedMinCount positions that are 5x5 maxima.
  //    Only cells some position fell into can qualify, so visit those (once each).
  std::vector<Seed> seeds;
  std::vector<uint8_t> seen(h.size(), 0);
  for (uint32_t cell : cell_of) {
    if (seen[cell]) continue;
    seen[cell] = 1;
    if (h[cell] <= kSeedMinCount) continue;
    const int cy = static_cast<int>(cell / static_cast<uint32_t>(grid_w));
    const int cx = static_cast<int>(cell % static_cast<uint32_t>(grid_w));
    if (IsLocalMax(h, grid_h, grid_w, cy, cx)) seeds.push_back(Seed{cell, h[cell]});
  }
  seen = {};
  // 4. Decreasing count; ties: later row-major cell first.
  std::sort(seeds.begin(), seeds.end(), [](const Seed& a, const Seed& b) {
    return a.count != b.count ? a.count > b.count : a.cell > b.cell;
  });

  // 3-4. Grow and paint, later seeds over earlier ones.
  std::vector<uint32_t> grid_labels(h.size(), 0);
  for (size_t s = 0; s < seeds.size(); ++s) {
    GrowAndPaint(h, grid_h, grid_w, seeds[s].cell, static_cast<uint32_t>(s + 1), grid_labels);
  }

  // 5. Each pixel takes the label where it ended.
  for (size_t k = 0; k < pixels.size(); ++k) out.labels[pixels[k]] = grid_labels[cell_of[k]];

  // 6. Remove huge masks and renumber.
  std::vector<int64_t> counts(seeds.size() + 1, 0);
  for (uint32_t v : out.labels) ++counts[v];
  const double big = static_cast<double>(n) * max_size_fraction;
  std::vector<uint8_t> too_big(counts.size(), 0);
  bool any_big = false;
  for (size_t v = 1; v < counts.size(); ++v) {
    if (static_cast<double>(counts[v]) > big) {
      too_big[v] = 1;
      any_big = true;
    }
  }
  if (any_big) {
    for (uint32_t& v : out.labels) {
      if (too_big[v]) v = 0;
    }
  }
  RenumberLabels(out);
  return out;
}

}  // namespace infera::cellpose
