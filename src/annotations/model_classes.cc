#include "annotations/model_classes.h"

#include "annotations/label_image.h"
#include "common/strings.h"
#include "common/utf8.h"

namespace infera {

bool IsBinaryForegroundMask(const Image& class_mask, size_t class_names) {
  if (class_names > static_cast<size_t>(kBinaryForeground)) return false;
  const size_t n = static_cast<size_t>(class_mask.width) * class_mask.height;
  bool foreground = false;
  for (size_t i = 0; i < n; ++i) {
    const int v = LabelAt(class_mask, i);
    if (v == kBinaryForeground) {
      foreground = true;
    } else if (v != 0) {
      return false;
    }
  }
  return foreground;
}

void MapBinaryForeground(Image* class_mask) {
  const size_t n = static_cast<size_t>(class_mask->width) * class_mask->height;
  for (size_t i = 0; i < n; ++i) {
    if (LabelAt(*class_mask, i) == kBinaryForeground) SetLabel(class_mask, i, 1);
  }
}

std::string ModelClassName(const std::vector<std::string>& names, int k) {
  if (k >= 0 && k < static_cast<int>(names.size())) {
    std::string name = CleanDisplayText(names[k]);
    if (!name.empty()) return name;
  }
  return StrCat("class ", k);
}

std::string ModelForegroundName(const std::vector<std::string>& names, const char* fallback) {
  if (names.size() > 1) {
    std::string name = CleanDisplayText(names[1]);
    if (!name.empty()) return name;
  }
  return fallback;
}

}  // namespace infera
