#include "annotations/label_images.h"

#include "common/strings.h"
#include "common/utf8.h"

namespace infera {

bool HasLabelSuffix(std::string_view name) {
  const std::string_view stem = Stem(BaseName(name));
  for (std::string_view suffix : kLabelSuffixes) {
    if (stem.size() > suffix.size() && stem.ends_with(suffix)) return true;
  }
  return false;
}

const TargetImage* MatchLabelImage(std::string_view name, const ImageMatcher& images) {
  const std::string_view base = BaseName(name);
  const std::string_view stem = Stem(base);
  for (std::string_view suffix : kLabelSuffixes) {
    if (stem.size() > suffix.size() && stem.ends_with(suffix)) {
      if (const TargetImage* t = images.FindByStem(stem.substr(0, stem.size() - suffix.size()))) {
        return t;
      }
    }
  }
  return images.FindByStem(stem);
}

void ImportLabelImage(std::string_view name, std::span<const std::byte> bytes,
                      const ImageMatcher& images, const ImportOptions& options,
                      ImportResult* result) {
  const std::string source = CleanDisplayText(name);
  auto refuse = [&](std::string reason) { result->refused.push_back({source, std::move(reason)}); };
  const TargetImage* target = MatchLabelImage(name, images);
  if (target == nullptr) {
    refuse(
        "no image of the dataset matches this name (same stem, or stem + _mask, _masks, "
        "_label, _labels, _seg)");
    return;
  }
  StatusOr<Image> labels = DecodeLabelImage(bytes, options.limits);
  if (!labels.ok()) {
    refuse(std::string(labels.status().message()));
    return;
  }
  if (labels->width != target->width || labels->height != target->height) {
    refuse(StrCat("the label image is ", labels->width, "x", labels->height, ", the image ",
                  target->filename, " is ", target->width, "x", target->height));
    return;
  }
  if (!options.instances && !options.labels.empty()) {
    for (int v : LabelsPresent(*labels)) {
      if (FindLabel(options.labels, v) == nullptr) {
        refuse(StrCat("label ", v, " is not in the set's label map"));
        return;
      }
    }
  }
  ImportedMask out;
  out.source = source;
  out.image = *target;
  out.mask.labels = std::move(*labels);
  result->masks.push_back(std::move(out));
}

std::string LabelImageExportName(std::string_view filename) {
  return StrCat(Stem(BaseName(filename)), "_mask.png");
}

}  // namespace infera
