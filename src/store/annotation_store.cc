#include "store/annotation_store.h"

#include "common/strings.h"

namespace infera {

std::string_view AnnotationKindName(AnnotationKind kind) {
  switch (kind) {
    case AnnotationKind::kSemantic:
      return "semantic";
    case AnnotationKind::kInstances:
      return "instances";
  }
  return "semantic";
}

StatusOr<AnnotationKind> ParseAnnotationKind(std::string_view name) {
  if (name == "semantic") return AnnotationKind::kSemantic;
  if (name == "instances") return AnnotationKind::kInstances;
  return absl::InvalidArgumentError(StrCat("unknown annotation kind '", name.substr(0, 64),
                                           "' (expected semantic or instances)"));
}

bool IsMaskOrigin(std::string_view origin) {
  if (origin == "import" || origin == "edit") return true;
  if (!origin.starts_with("job:")) return false;
  const std::string_view digits = origin.substr(4);
  if (digits.empty() || digits.size() > 18 || digits[0] == '0') return false;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace infera
