#include "imaging/outline_overlay.h"

#include <algorithm>

#include "common/strings.h"
#include "imaging/overlay.h"

namespace infera {

StatusOr<Image> OverlayOutlines(const Image& source, std::span<const uint32_t> labels) {
  const size_t w = static_cast<size_t>(std::max(source.width, 0));
  const size_t h = static_cast<size_t>(std::max(source.height, 0));
  if (labels.size() != w * h) {
    return absl::InvalidArgumentError(StrCat("outlines: ", labels.size(), " labels for a ",
                                             source.width, "x", source.height, " image"));
  }
  ASSIGN_OR_RETURN(Image preview, PreviewBase(source));
  uint8_t* rgb = preview.pixels<uint8_t>();
  for (size_t y = 0; y < h; ++y) {
    for (size_t x = 0; x < w; ++x) {
      const size_t i = y * w + x;
      const uint32_t l = labels[i];
      if (l == 0) continue;
      const bool outline = y == 0 || x == 0 || y + 1 == h || x + 1 == w || labels[i - w] != l ||
                           labels[i + w] != l || labels[i - 1] != l || labels[i + 1] != l;
      if (!outline) continue;
      const Rgb8 c = LabelColor(l);
      rgb[3 * i] = c.r;
      rgb[3 * i + 1] = c.g;
      rgb[3 * i + 2] = c.b;
    }
  }
  return preview;
}

}  // namespace infera
