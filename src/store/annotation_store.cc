#include "store/annotation_store.h"

#include <nlohmann/json.hpp>
#include <set>

#include "common/sha256.h"
#include "common/strings.h"

namespace infera {

std::string_view AnnotationKindName(AnnotationKind kind) {
  switch (kind) {
    case AnnotationKind::kSemantic:
      return "semantic";
    case AnnotationKind::kInstances:
      return "instances";
    case AnnotationKind::kImageLabels:
      return "image_labels";
  }
  return "semantic";
}

StatusOr<AnnotationKind> ParseAnnotationKind(std::string_view name) {
  if (name == "semantic") return AnnotationKind::kSemantic;
  if (name == "instances") return AnnotationKind::kInstances;
  if (name == "image_labels") return AnnotationKind::kImageLabels;
  return absl::InvalidArgumentError(StrCat("unknown annotation kind '", name.substr(0, 64),
                                           "' (expected semantic, instances or image_labels)"));
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

namespace {

Status ValidateMask(const MaskRevisionRecord& m) {
  if (!IsSha256Hex(m.sha256)) {
    return absl::InvalidArgumentError(StrCat("the mask of file ", m.source_file_id,
                                             " has a sha256 that is not 64 lower-case hex digits"));
  }
  if (m.width <= 0 || m.height <= 0) {
    return absl::InvalidArgumentError(StrCat("the mask of file ", m.source_file_id, " is ", m.width,
                                             "x", m.height, " (expected a positive shape)"));
  }
  if (m.bit_depth != 8 && m.bit_depth != 16) {
    return absl::InvalidArgumentError(StrCat("the mask of file ", m.source_file_id,
                                             " has bit depth ", m.bit_depth,
                                             " (expected 8 or 16)"));
  }
  if (m.size < 0) {
    return absl::InvalidArgumentError(
        StrCat("the mask of file ", m.source_file_id, " has a negative size"));
  }
  if (!IsMaskOrigin(m.origin)) {
    return absl::InvalidArgumentError(
        StrCat("mask origin '", m.origin.substr(0, 64), "' is not import, edit or job:<id>"));
  }
  const nlohmann::json classes = nlohmann::json::parse(m.classes_json, nullptr, false);
  if (classes.is_discarded() || !classes.is_object()) {
    return absl::InvalidArgumentError(
        StrCat("the mask of file ", m.source_file_id, " has classes that are not a JSON object"));
  }
  return absl::OkStatus();
}

}  // namespace

Status ValidateMaskRevisions(const std::vector<MaskRevisionRecord>& masks) {
  std::set<int64_t> files;
  for (const MaskRevisionRecord& m : masks) {
    RETURN_IF_ERROR(ValidateMask(m));
    if (!files.insert(m.source_file_id).second) {
      return absl::InvalidArgumentError(
          StrCat("file ", m.source_file_id, " has more than one mask in one write"));
    }
  }
  return absl::OkStatus();
}

Status ValidateImageLabels(const std::vector<ImageLabelRecord>& labels) {
  std::set<int64_t> files;
  for (const ImageLabelRecord& l : labels) {
    if (l.label_id < 0 || l.label_id > 65535) {
      return absl::InvalidArgumentError(StrCat("the label of file ", l.source_file_id, " is ",
                                               l.label_id, " (expected 0..65535)"));
    }
    if (!IsMaskOrigin(l.origin)) {
      return absl::InvalidArgumentError(
          StrCat("label origin '", l.origin.substr(0, 64), "' is not import, edit or job:<id>"));
    }
    if (!files.insert(l.source_file_id).second) {
      return absl::InvalidArgumentError(
          StrCat("file ", l.source_file_id, " has more than one label in one write"));
    }
  }
  return absl::OkStatus();
}

Status CheckWriteKind(const AnnotationSetRecord& set, bool labels) {
  const bool labels_set = set.kind == AnnotationKind::kImageLabels;
  if (labels == labels_set) return absl::OkStatus();
  return absl::InvalidArgumentError(
      labels ? StrCat("annotation set ", set.id, " is of kind ", AnnotationKindName(set.kind),
                      ": it holds masks, not image labels")
             : StrCat("annotation set ", set.id,
                      " is of kind image_labels: it holds one label per image, not masks"));
}

}  // namespace infera
