// A label image as the mask shapes of a CVAT serverless function's answer
// (../shared/reference/mask-formats.md C2, C3): one shape per non-zero value (an instance
// or a class), its tight box with inclusive bounds, and the box's crop flattened
// row-major as 0/1 — CVAT's lambda manager reads `"mask": [crop..., xtl, ytl, xbr, ybr]`
// and turns it into its RLE itself. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "imaging/image.h"

namespace infera {

struct CvatMaskShape {
  int value = 0;  // the label image's value: an instance id or a class id
  int left = 0, top = 0, right = 0, bottom = 0;  // inclusive
  std::vector<uint8_t> crop;                     // (right-left+1) x (bottom-top+1), row-major, 0/1
};

// The shapes of `labels` (one channel, 8/16-bit: CheckLabelImage), ascending by value.
std::vector<CvatMaskShape> CvatMaskShapes(const Image& labels);

// Appends `shape`'s "mask" value: "[c0,c1,...,left,top,right,bottom]".
void AppendCvatMaskJson(const CvatMaskShape& shape, std::string* out);

}  // namespace infera
