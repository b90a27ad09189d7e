// CVAT "Segmentation mask 1.1" (Pascal-VOC-like ZIP; ../shared/reference/mask-formats.md
// C2): labelmap.txt (`name:R,G,B:parts:actions` lines, background first),
// SegmentationClass/<stem>.png (class colours, or one-channel indices = labelmap line),
// SegmentationObject/<stem>.png (one colour per instance), ImageSets/Segmentation/
// default.txt.
//
// Import (the archive's entries, read one image at a time): labelmap names matched to the set's
// labels by name (a set without labels takes the labelmap's lines as ids 1, 2, ...);
// class sets read SegmentationClass (a colour not in the labelmap refuses the image);
// instance sets read SegmentationObject (instance id = the VOC colormap index of its
// colour, what the export writes, else numbered in order of appearance) with each
// instance's class from SegmentationClass. Images matched by stem.
// Export: the label map's colours for classes, VOC colours by instance id for objects —
// lossless through Import when the set's label colours are distinct.
// Pure functions; thread-safe.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "annotations/coco.h"  // ExportImage
#include "annotations/import_types.h"
#include "common/status.h"

namespace infera {

// Whether a ZIP with these entry names is a Segmentation mask archive (has labelmap.txt).
bool IsCvatSegZip(const std::vector<std::string>& entry_names);

// An archive entry's bytes by name (an error stops the import, which returns it).
using EntryReader = std::function<StatusOr<std::string>(const std::string& name)>;

// The archive of `entry_names` read one image at a time (its SegmentationClass/ entry and,
// for instance sets, its SegmentationObject/ partner, read through `read`, decoded and
// dropped), each image's mask or refusal to `sink` in name order. InvalidArgument when
// labelmap.txt is missing or malformed (before any image); `read`'s and the sink's errors.
Status ImportCvatSegZip(const std::vector<std::string>& entry_names, const EntryReader& read,
                        const ImageMatcher& images, const ImportOptions& options, ImportSink* sink);
// The same over entries already read, every mask collected.
StatusOr<ImportResult> ImportCvatSegZip(const std::map<std::string, std::string>& entries,
                                        const ImageMatcher& images, const ImportOptions& options);

// Writes the archive's files image by image (two PNGs each), then default.txt and
// labelmap.txt (the label map's lines, and "class <k>" for any other class met). Not
// thread-safe; Finish once, after the last Add.
class CvatSegZipWriter {
 public:
  using FileSink = std::function<Status(std::string_view name, std::string bytes)>;
  CvatSegZipWriter(LabelMap labels, bool instances, FileSink sink);
  Status Add(const ExportImage& image);  // the sink's error
  Status Finish();

 private:
  LabelMap labels_;
  bool instances_;
  FileSink sink_;
  std::string list_;  // ImageSets/Segmentation/default.txt
};

// The archive's files (name -> bytes), in order.
StatusOr<std::vector<std::pair<std::string, std::string>>> ExportCvatSegZip(
    const std::vector<ExportImage>& images, const LabelMap& labels, bool instances);

}  // namespace infera
