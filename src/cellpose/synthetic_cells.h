// Deterministic synthetic cell label images for the Cellpose tests and `infera bench cellpose`:
// random ellipses, either apart from each other or packed so that they touch.
//
// The random numbers come from our own SplitMix64 and arithmetic (no <random>
// distributions, whose output differs between standard libraries), so an image depends
// only on its options. Header-only; thread-safe (no shared state).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "cellpose/label_image.h"
#include "cellpose/masks_to_flows.h"

namespace infera::cellpose {

// SplitMix64: tiny, fast, and the same sequence everywhere.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }

 private:
  uint64_t state_;
};

struct SyntheticCellsOptions {
  int height = 128;
  int width = 128;
  // Cells to place; fewer come out when the image has no room for more.
  int count = 20;
  // Semi-major axis range in pixels; the semi-minor axis is the major one divided by an
  // aspect ratio drawn from [1, max_aspect].
  double min_radius = 6.0;
  double max_radius = 12.0;
  double max_aspect = 1.6;
  // false: every cell is at least 2 pixels (Chebyshev) from every other one and from the
  // image border. true: ellipses overlap and each contested pixel goes to the nearest
  // centre, so neighbouring cells share borders.
  bool touching = false;
  uint64_t seed = 1;
};

namespace synthetic_internal {

struct Ellipse {
  double cy, cx, a, b, cos_t, sin_t;

  // (distance / radius)^2 in the ellipse's own frame: <= 1 inside.
  double Norm2(double y, double x) const {
    const double dy = y - cy;
    const double dx = x - cx;
    const double u = dx * cos_t + dy * sin_t;
    const double v = -dx * sin_t + dy * cos_t;
    return (u * u) / (a * a) + (v * v) / (b * b);
  }
};

inline Ellipse RandomEllipse(SplitMix64& rng, const SyntheticCellsOptions& o, double margin) {
  const double a = rng.Uniform(o.min_radius, o.max_radius);
  const double b = a / rng.Uniform(1.0, o.max_aspect);
  const double theta = rng.Uniform(0.0, 3.14159265358979323846);
  const double cy = rng.Uniform(margin, o.height - 1 - margin);
  const double cx = rng.Uniform(margin, o.width - 1 - margin);
  return Ellipse{cy, cx, a, b, std::cos(theta), std::sin(theta)};
}

// Keeps only the largest 4-connected piece of every label and drops labels with fewer than
// `min_pixels` pixels, then renumbers 1..N in order of first appearance.
inline void KeepLargestPieces(cellpose::LabelImage& image, int min_pixels) {
  const int h = image.height;
  const int w = image.width;
  std::vector<int> piece(image.size(), -1);
  std::vector<int64_t> piece_size;
  std::vector<uint32_t> piece_label;
  std::vector<size_t> stack;
  for (size_t start = 0; start < image.size(); ++start) {
    if (image.labels[start] == 0 || piece[start] >= 0) continue;
    const int id = static_cast<int>(piece_size.size());
    piece_size.push_back(0);
    piece_label.push_back(image.labels[start]);
    piece[start] = id;
    stack.push_back(start);
    while (!stack.empty()) {
      const size_t i = stack.back();
      stack.pop_back();
      ++piece_size[static_cast<size_t>(id)];
      const int y = static_cast<int>(i / static_cast<size_t>(w));
      const int x = static_cast<int>(i % static_cast<size_t>(w));
      const int ny[4] = {y - 1, y + 1, y, y};
      const int nx[4] = {x, x, x - 1, x + 1};
      for (int d = 0; d < 4; ++d) {
        if (ny[d] < 0 || ny[d] >= h || nx[d] < 0 || nx[d] >= w) continue;
        const size_t j = static_cast<size_t>(ny[d]) * w + nx[d];
        if (piece[j] >= 0 || image.labels[j] != image.labels[start]) continue;
        piece[j] = id;
        stack.push_back(j);
      }
    }
  }
  // The largest piece of each label.
  std::vector<int> best_piece_of_label;
  for (size_t p = 0; p < piece_size.size(); ++p) {
    const uint32_t l = piece_label[p];
    if (best_piece_of_label.size() <= l) best_piece_of_label.resize(l + 1, -1);
    int& best = best_piece_of_label[l];
    if (best < 0 || piece_size[p] > piece_size[static_cast<size_t>(best)]) {
      best = static_cast<int>(p);
    }
  }
  std::vector<uint32_t> renumber(piece_size.size(), 0);
  uint32_t next = 0;
  for (size_t i = 0; i < image.size(); ++i) {
    if (image.labels[i] == 0) continue;
    const int p = piece[i];
    const bool keep = best_piece_of_label[piece_label[static_cast<size_t>(p)]] == p &&
                      piece_size[static_cast<size_t>(p)] >= min_pixels;
    if (!keep) {
      image.labels[i] = 0;
      continue;
    }
    if (renumber[static_cast<size_t>(p)] == 0) renumber[static_cast<size_t>(p)] = ++next;
    image.labels[i] = renumber[static_cast<size_t>(p)];
  }
}

}  // namespace synthetic_internal

// A label image of random ellipses (labels 1..N, consecutive, each cell one 4-connected
// piece of at least 20 pixels).
inline cellpose::LabelImage MakeSyntheticCells(const SyntheticCellsOptions& o) {
  using synthetic_internal::Ellipse;
  cellpose::LabelImage image = cellpose::MakeLabelImage(o.height, o.width);
  SplitMix64 rng(o.seed);
  const double margin = o.touching ? 0.0 : o.max_radius + 3.0;
  if (!o.touching) {
    uint32_t placed = 0;
    for (int attempt = 0; attempt < 200 * o.count && placed < static_cast<uint32_t>(o.count);
         ++attempt) {
      const Ellipse e = synthetic_internal::RandomEllipse(rng, o, margin);
      const int y0 = std::max(0, static_cast<int>(e.cy - e.a) - 1);
      const int y1 = std::min(o.height - 1, static_cast<int>(e.cy + e.a) + 1);
      const int x0 = std::max(0, static_cast<int>(e.cx - e.a) - 1);
      const int x1 = std::min(o.width - 1, static_cast<int>(e.cx + e.a) + 1);
      // Free when no labelled pixel lies within 2 pixels of the new ellipse.
      bool free = true;
      for (int y = std::max(0, y0 - 2); y <= std::min(o.height - 1, y1 + 2) && free; ++y) {
        for (int x = std::max(0, x0 - 2); x <= std::min(o.width - 1, x1 + 2) && free; ++x) {
          if (image.at(y, x) == 0) continue;
          for (int dy = -2; dy <= 2 && free; ++dy) {
            for (int dx = -2; dx <= 2; ++dx) {
              if (e.Norm2(y + dy, x + dx) <= 1.0) {
                free = false;
                break;
              }
            }
          }
        }
      }
      if (!free) continue;
      ++placed;
      for (int y = y0; y <= y1; ++y) {
        for (int x = x0; x <= x1; ++x) {
          if (e.Norm2(y, x) <= 1.0) image.labels[static_cast<size_t>(y) * o.width + x] = placed;
        }
      }
    }
  } else {
    // Centres at least 0.8 x the sum of the major radii apart, so cells overlap a little.
    std::vector<Ellipse> cells;
    for (int attempt = 0; attempt < 200 * o.count && cells.size() < static_cast<size_t>(o.count);
         ++attempt) {
      const Ellipse e = synthetic_internal::RandomEllipse(rng, o, margin);
      bool ok = true;
      for (const Ellipse& c : cells) {
        const double d = std::hypot(c.cy - e.cy, c.cx - e.cx);
        if (d < 0.8 * (c.b + e.b) + 0.5 * std::abs(c.a - e.a)) {
          ok = false;
          break;
        }
      }
      if (ok) cells.push_back(e);
    }
    std::vector<double> best(image.size(), 0.0);
    for (size_t k = 0; k < cells.size(); ++k) {
      const Ellipse& e = cells[k];
      const int y0 = std::max(0, static_cast<int>(e.cy - e.a) - 1);
      const int y1 = std::min(o.height - 1, static_cast<int>(e.cy + e.a) + 1);
      const int x0 = std::max(0, static_cast<int>(e.cx - e.a) - 1);
      const int x1 = std::min(o.width - 1, static_cast<int>(e.cx + e.a) + 1);
      for (int y = y0; y <= y1; ++y) {
        for (int x = x0; x <= x1; ++x) {
          if (e.Norm2(y, x) > 1.0) continue;
          const size_t i = static_cast<size_t>(y) * o.width + x;
          const double d2 = (y - e.cy) * (y - e.cy) + (x - e.cx) * (x - e.cx);
          if (image.labels[i] == 0 || d2 < best[i]) {
            image.labels[i] = static_cast<uint32_t>(k + 1);
            best[i] = d2;
          }
        }
      }
    }
  }
  synthetic_internal::KeepLargestPieces(image, 20);
  return image;
}

// The number of distinct non-zero labels.
inline int CountLabels(const cellpose::LabelImage& image) {
  std::vector<uint32_t> v;
  for (uint32_t l : image.labels) {
    if (l != 0) v.push_back(l);
  }
  std::sort(v.begin(), v.end());
  return static_cast<int>(std::unique(v.begin(), v.end()) - v.begin());
}

// The number of pairs of 4-adjacent pixels with two different non-zero labels.
inline int64_t TouchingPixelPairs(const cellpose::LabelImage& image) {
  int64_t n = 0;
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      const uint32_t l = image.at(y, x);
      if (l == 0) continue;
      if (x + 1 < image.width && image.at(y, x + 1) != 0 && image.at(y, x + 1) != l) ++n;
      if (y + 1 < image.height && image.at(y + 1, x) != 0 && image.at(y + 1, x) != l) ++n;
    }
  }
  return n;
}

// Flows and cell-probability logits a perfect network would output for `masks`: 5 x the
// unit diffusion flows, and +logit inside masks, -logit outside.
struct PerfectOutputs {
  cellpose::FlowField flows;
  std::vector<float> cellprob;
};

inline PerfectOutputs MakePerfectOutputs(const cellpose::LabelImage& masks, float logit = 10.0f) {
  PerfectOutputs out;
  out.flows = cellpose::MasksToFlows(masks).value();
  for (float& v : out.flows.dy) v *= 5.0f;
  for (float& v : out.flows.dx) v *= 5.0f;
  out.cellprob.resize(masks.size());
  for (size_t i = 0; i < masks.size(); ++i) out.cellprob[i] = masks.labels[i] != 0 ? logit : -logit;
  return out;
}

}  // namespace infera::cellpose
