#include "cellpose/mask_cleanup.h"

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "cellpose/label_regions.h"

namespace infera::cellpose {

uint32_t RenumberLabels(LabelImage& image) {
  std::vector<uint32_t>& labels = image.labels;
  const size_t n = labels.size();
  const uint32_t max_label = n == 0 ? 0 : *std::max_element(labels.begin(), labels.end());
  uint32_t next = 0;
  if (uint64_t{max_label} <= 4 * uint64_t{n} + 1024) {
    std::vector<uint32_t> map(size_t{max_label} + 1, 0);
    for (uint32_t& v : labels) {
      if (v == 0) continue;
      if (map[v] == 0) map[v] = ++next;
      v = map[v];
    }
    return next;
  }
  std::unordered_map<uint32_t, uint32_t> map;
  for (uint32_t& v : labels) {
    if (v == 0) continue;
    auto [it, inserted] = map.try_emplace(v, next + 1);
    if (inserted) ++next;
    v = it->second;
  }
  return next;
}

void RemoveSmallMasks(LabelImage& image, int min_size) {
  if (min_size <= 0) return;
  const LabelRegions regions = FindLabelRegions(image);
  std::vector<uint8_t> small(regions.regions.size() + 1, 0);
  bool any = false;
  for (size_t k = 0; k < regions.regions.size(); ++k) {
    if (regions.regions[k].pixels < min_size) {
      small[k + 1] = 1;
      any = true;
    }
  }
  if (!any) return;
  for (size_t i = 0; i < image.labels.size(); ++i) {
    if (small[regions.region_of_pixel[i]]) image.labels[i] = 0;
  }
}

void FillHoles(LabelImage& image) {
  const LabelRegions regions = FindLabelRegions(image);
  // Scratch reused across masks: the padded box, 1 = mask, 2 = reached from outside.
  std::vector<uint8_t> box;
  std::vector<uint32_t> stack;
  for (size_t k = 0; k < regions.regions.size(); ++k) {
    const LabelRegion& r = regions.regions[k];
    const int bh = r.height() + 2;
    const int bw = r.width() + 2;
    box.assign(static_cast<size_t>(bh) * bw, 0);
    for (int y = r.top; y < r.bottom; ++y) {
      for (int x = r.left; x < r.right; ++x) {
        // The current membership: pixels an earlier mask's fill took are no longer ours.
        if (image.labels[static_cast<size_t>(y) * image.width + x] == r.label) {
          box[static_cast<size_t>(y - r.top + 1) * bw + (x - r.left + 1)] = 1;
        }
      }
    }
    // Flood the non-mask pixels from the padding corner (the padding ring is connected).
    stack.clear();
    box[0] = 2;
    stack.push_back(0);
    while (!stack.empty()) {
      const uint32_t i = stack.back();
      stack.pop_back();
      const int y = static_cast<int>(i / static_cast<uint32_t>(bw));
      const int x = static_cast<int>(i % static_cast<uint32_t>(bw));
      const int ny[4] = {y - 1, y + 1, y, y};
      const int nx[4] = {x, x, x - 1, x + 1};
      for (int d = 0; d < 4; ++d) {
        if (ny[d] < 0 || ny[d] >= bh || nx[d] < 0 || nx[d] >= bw) continue;
        const uint32_t j = static_cast<uint32_t>(ny[d] * bw + nx[d]);
        if (box[j] != 0) continue;
        box[j] = 2;
        stack.push_back(j);
      }
    }
    // Unreached pixels are the mask and its holes.
    for (int y = r.top; y < r.bottom; ++y) {
      for (int x = r.left; x < r.right; ++x) {
        if (box[static_cast<size_t>(y - r.top + 1) * bw + (x - r.left + 1)] != 2) {
          image.labels[static_cast<size_t>(y) * image.width + x] = r.label;
        }
      }
    }
  }
}

uint32_t FillHolesAndRemoveSmallMasks(LabelImage& image, int min_size) {
  RemoveSmallMasks(image, min_size);
  FillHoles(image);
  RemoveSmallMasks(image, min_size);
  return RenumberLabels(image);
}

}  // namespace infera::cellpose
