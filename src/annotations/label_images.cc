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

Status ImportLabelImage(std::string_view name, std::span<const std::byte> bytes,
                        const ImageMatcher& images, const ImportOptions& options,
                        ImportSink* sink) {
  const std::string source = CleanDisplayText(name);
  auto refuse = [&](std::string reason) {
    sink->Refuse({source, std::move(reason)});
    return absl::OkStatus();
  };
  const TargetImage* target = MatchLabelImage(name, images);
  if (target == nullptr) {
    return refuse(
        "no image of the dataset matches this name (same stem, or stem + _mask, _masks, "
        "_label, _labels, _seg)");
  }
  StatusOr<Image> labels = DecodeLabelImage(bytes, options.limits);
  if (!labels.ok()) {
    return refuse(std::string(labels.status().message()));
  }
  if (labels->width != target->width || labels->height != target->height) {
    return refuse(StrCat("the label image is ", labels->width, "x", labels->height, ", the image ",
                         target->filename, " is ", target->width, "x", target->height));
  }
  if (!options.instances && !options.labels.empty()) {
    for (int v : LabelsPresent(*labels)) {
      if (FindLabel(options.labels, v) == nullptr) {
        return refuse(StrCat("label ", v, " is not in the set's label map"));
      }
    }
  }
  ImportedMask out;
  out.source = source;
  out.image = *target;
  out.mask.labels = std::move(*labels);
  return sink->Accept(std::move(out));
}

void ImportLabelImage(std::string_view name, std::span<const std::byte> bytes,
                      const ImageMatcher& images, const ImportOptions& options,
                      ImportResult* result) {
  CollectingSink sink;
  (void)ImportLabelImage(name, bytes, images, options, &sink);  // a CollectingSink never fails
  for (ImportedMask& m : sink.result.masks) result->masks.push_back(std::move(m));
  for (ImportRefusal& r : sink.result.refused) result->refused.push_back(std::move(r));
}

std::string LabelImageExportName(std::string_view filename) {
  return StrCat(Stem(BaseName(filename)), "_mask.png");
}

}  // namespace infera
