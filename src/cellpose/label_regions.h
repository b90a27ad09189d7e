// LabelRegions: the objects of a LabelImage, each with its bounding box and pixel count,
// plus a per-pixel index into that list (scipy.ndimage.find_objects, for any label values).
//
// Used by the per-mask passes (masks -> flows, flow QC, hole filling) so each can work
// inside one object's bounding box. Pure function; thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "cellpose/label_image.h"

namespace infera::cellpose {

// One object: every pixel with value `label`. The box is half-open: rows [top, bottom),
// columns [left, right).
struct LabelRegion {
  uint32_t label = 0;
  int top = 0;
  int left = 0;
  int bottom = 0;
  int right = 0;
  int64_t pixels = 0;

  int height() const { return bottom - top; }
  int width() const { return right - left; }
};

struct LabelRegions {
  // One entry per distinct non-zero label, sorted by label.
  std::vector<LabelRegion> regions;
  // Per pixel (row-major): 1 + the index in `regions` of the pixel's object, 0 for
  // background.
  std::vector<uint32_t> region_of_pixel;
};

// The regions of `image`. Precondition: ValidateLabelImage(image) is OK. Linear time when
// the largest label is at most a few times the pixel count, O(n log n) otherwise.
LabelRegions FindLabelRegions(const LabelImage& image);

}  // namespace infera::cellpose
