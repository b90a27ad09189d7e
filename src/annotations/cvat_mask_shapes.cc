#include "annotations/cvat_mask_shapes.h"

#include <algorithm>

#include "annotations/label_image.h"
#include "common/strings.h"

namespace infera {

std::vector<CvatMaskShape> CvatMaskShapes(const Image& labels) {
  const int w = labels.width;
  const int h = labels.height;
  // Boxes by value (a 16-bit image has at most 65536 values: a flat table).
  std::vector<int> index(labels.type == PixelType::kUInt8 ? 256 : 65536, -1);
  std::vector<CvatMaskShape> shapes;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const int v = LabelAt(labels, static_cast<size_t>(y) * w + x);
      if (v == 0) continue;
      if (index[v] < 0) {
        index[v] = static_cast<int>(shapes.size());
        shapes.push_back({v, x, y, x, y, {}});
      }
      CvatMaskShape& s = shapes[index[v]];
      s.left = std::min(s.left, x);
      s.right = std::max(s.right, x);
      s.bottom = y;  // rows come in order
    }
  }
  std::sort(shapes.begin(), shapes.end(),
            [](const CvatMaskShape& a, const CvatMaskShape& b) { return a.value < b.value; });
  for (CvatMaskShape& s : shapes) {
    const int bw = s.right - s.left + 1;
    s.crop.assign(static_cast<size_t>(bw) * (s.bottom - s.top + 1), 0);
    for (int y = s.top; y <= s.bottom; ++y) {
      for (int x = s.left; x <= s.right; ++x) {
        if (LabelAt(labels, static_cast<size_t>(y) * w + x) == s.value) {
          s.crop[static_cast<size_t>(y - s.top) * bw + (x - s.left)] = 1;
        }
      }
    }
  }
  return shapes;
}

void AppendCvatMaskJson(const CvatMaskShape& shape, std::string* out) {
  out->reserve(out->size() + shape.crop.size() * 2 + 32);
  out->push_back('[');
  for (uint8_t c : shape.crop) {
    out->push_back(c ? '1' : '0');
    out->push_back(',');
  }
  out->append(StrCat(shape.left, ",", shape.top, ",", shape.right, ",", shape.bottom, "]"));
}

}  // namespace infera
