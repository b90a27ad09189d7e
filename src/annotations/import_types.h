// What every annotation importer (label_images, coco, cvat_xml, cvat_seg_zip) takes and
// gives: the dataset's images to match names against, the set's kind and label map, and
// per imported file (or image of a document) a mask or the reason it was refused, handed
// to an ImportSink one image at a time.
// Value types; ImageMatcher is immutable after construction (thread-safe to read);
// an ImportSink is called from the importer's thread only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "annotations/label_image.h"
#include "annotations/label_map.h"
#include "common/status.h"
#include "imaging/codec.h"

namespace infera {

// An image of the dataset an import may write a mask for.
struct TargetImage {
  int64_t file_id = 0;
  std::string filename;
  int width = 0;
  int height = 0;
};

// Finds the dataset image an imported name means: the exact filename, else its last
// path component ("images/a.png" and "C:\\x\\a.png" mean "a.png"). With `by_stem`,
// names also match by stem ("a_mask.tif" means "a.png"; see label_images.h).
class ImageMatcher {
 public:
  explicit ImageMatcher(std::vector<TargetImage> images);
  // The image, or null (none, or several images share the stem).
  const TargetImage* Find(std::string_view name) const;
  const TargetImage* FindByStem(std::string_view stem) const;

 private:
  std::vector<TargetImage> images_;
  std::map<std::string, size_t, std::less<>> by_name_;
  std::map<std::string, size_t, std::less<>> by_stem_;  // ambiguous stems: SIZE_MAX
};

// The last component of a path with '/' or '\\' separators.
std::string_view BaseName(std::string_view path);
// A name without its last extension ("a.ome.tif" -> "a.ome").
std::string_view Stem(std::string_view name);

struct ImportOptions {
  bool instances = false;  // the set's kind: instance masks (else class masks)
  LabelMap labels;         // the set's label map (may be empty: ids taken as they come)
  DecodeLimits limits;
};

struct ImportedMask {
  std::string source;  // the file or document entry it came from
  TargetImage image;
  AnnotationMask mask;
};

struct ImportRefusal {
  std::string source;
  std::string reason;
};

struct ImportResult {
  std::vector<ImportedMask> masks;
  std::vector<ImportRefusal> refused;
};

// Where an importer hands over what it reads, in document order, one image at a time:
// each image's mask as soon as that image's shapes are decoded — the importer keeps
// nothing of it afterwards, so an import holds one decoded mask at a time however many
// images its file has —, or the reason an image is refused, or a note on what it skipped.
class ImportSink {
 public:
  virtual ~ImportSink() = default;
  // Takes one image's mask. A non-OK status stops the import, which returns it.
  virtual Status Accept(ImportedMask&& mask) = 0;
  virtual void Refuse(ImportRefusal refusal) = 0;
  virtual void Note(std::string note) = 0;
};

// An ImportSink that keeps everything it is handed (every mask held: for small imports
// and the importers' whole-document forms).
class CollectingSink final : public ImportSink {
 public:
  Status Accept(ImportedMask&& mask) override;
  void Refuse(ImportRefusal refusal) override;
  void Note(std::string note) override;

  ImportResult result;
  std::vector<std::string> notes;
};

}  // namespace infera
