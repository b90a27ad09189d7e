#include "cellpose/label_regions.h"

#include <algorithm>

namespace infera::cellpose {

namespace {

// Fills `slot_of_pixel` with a dense slot per distinct label (0 = background), slots in
// increasing label order, and returns the label of each slot (slot 0 = label 0).
std::vector<uint32_t> DenseSlots(const std::vector<uint32_t>& labels,
                                 std::vector<uint32_t>& slot_of_pixel) {
  const size_t n = labels.size();
  slot_of_pixel.assign(n, 0);
  const uint32_t max_label = n == 0 ? 0 : *std::max_element(labels.begin(), labels.end());
  std::vector<uint32_t> slot_label{0};
  if (uint64_t{max_label} <= 4 * uint64_t{n} + 1024) {
    // A lookup table by label value.
    std::vector<uint32_t> slot_of_label(size_t{max_label} + 1, 0);
    for (uint32_t v : labels) slot_of_label[v] = 1;
    slot_of_label[0] = 0;
    for (uint32_t v = 1; v <= max_label; ++v) {
      if (slot_of_label[v] != 0) {
        slot_of_label[v] = static_cast<uint32_t>(slot_label.size());
        slot_label.push_back(v);
      }
    }
    for (size_t i = 0; i < n; ++i) slot_of_pixel[i] = slot_of_label[labels[i]];
    return slot_label;
  }
  // Sparse, huge label values: sort the distinct ones and search.
  std::vector<uint32_t> distinct;
  for (uint32_t v : labels) {
    if (v != 0) distinct.push_back(v);
  }
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  slot_label.insert(slot_label.end(), distinct.begin(), distinct.end());
  for (size_t i = 0; i < n; ++i) {
    if (labels[i] == 0) continue;
    const auto it = std::lower_bound(distinct.begin(), distinct.end(), labels[i]);
    slot_of_pixel[i] = static_cast<uint32_t>(it - distinct.begin()) + 1;
  }
  return slot_label;
}

}  // namespace

LabelRegions FindLabelRegions(const LabelImage& image) {
  LabelRegions out;
  const std::vector<uint32_t> slot_label = DenseSlots(image.labels, out.region_of_pixel);
  out.regions.resize(slot_label.size() - 1);
  for (size_t k = 0; k < out.regions.size(); ++k) {
    LabelRegion& r = out.regions[k];
    r.label = slot_label[k + 1];
    r.top = image.height;
    r.left = image.width;
    r.bottom = 0;
    r.right = 0;
  }
  for (int y = 0; y < image.height; ++y) {
    const uint32_t* row = out.region_of_pixel.data() + static_cast<size_t>(y) * image.width;
    for (int x = 0; x < image.width; ++x) {
      if (row[x] == 0) continue;
      LabelRegion& r = out.regions[row[x] - 1];
      r.top = std::min(r.top, y);
      r.bottom = std::max(r.bottom, y + 1);
      r.left = std::min(r.left, x);
      r.right = std::max(r.right, x + 1);
      ++r.pixels;
    }
  }
  return out;
}

}  // namespace infera::cellpose
