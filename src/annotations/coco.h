// COCO instances JSON (../shared/reference/mask-formats.md C1) to masks and back.
//
// Import: `images` matched by file_name (ImageMatcher; width/height must be the image's),
// `categories` matched to the set's labels by name (when the set has labels; else the
// category ids are the label ids), `annotations` in order: polygons (iscrowd 0),
// uncompressed or compressed RLE (any iscrowd), `size` [h, w] the image's. Instance sets
// get one instance per annotation, numbered 1, 2, ... in order, or by the annotation's
// `attributes.instance_id` when every annotation of the image has a distinct one (what
// the export writes); later annotations paint over earlier ones. Class sets paint the
// label id. An image whose annotations do not decode is refused whole, with a reason.
// A document that is not COCO (malformed JSON, missing arrays, an image without an id or
// file_name, an annotation without an image_id) is InvalidArgument, found before any image
// is handed over. The JSON is parsed whole (it is small beside the masks); the masks are
// made one image at a time, each annotation painted straight into its image's mask, and
// handed to the sink.
//
// Export (CocoWriter, streamed): one image entry per mask, categories from the label map, one
// annotation per instance (instance sets, with `attributes.instance_id`) or per label present
// (class sets), each compressed RLE with iscrowd 0, bbox and area — lossless through Import. Pure
// functions; thread-safe.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "annotations/import_types.h"
#include "common/status.h"

namespace infera {

// Each image's mask or refusal to `sink`, in the document's image order. InvalidArgument
// for a document that is not COCO; the sink's error.
Status ImportCoco(std::string_view json, const ImageMatcher& images, const ImportOptions& options,
                  ImportSink* sink);
// The same, every mask collected.
StatusOr<ImportResult> ImportCoco(std::string_view json, const ImageMatcher& images,
                                  const ImportOptions& options);

struct ExportImage {
  int64_t id = 0;  // the image id written (the dataset file id)
  std::string filename;
  AnnotationMask mask;
};

// Writes the COCO document image by image (only the small image entries are kept until
// the end, so memory does not grow with the masks): annotations first, then images and
// categories (the label map's, and "class <k>" for any other class met). Not
// thread-safe; Finish once, after the last Add.
class CocoWriter {
 public:
  using Sink = std::function<Status(std::string_view bytes)>;
  CocoWriter(LabelMap labels, bool instances, Sink sink);
  Status Add(const ExportImage& image);  // the sink's error
  Status Finish();

 private:
  LabelMap labels_;
  std::set<int> label_ids_;
  bool instances_;
  Sink sink_;
  nlohmann::json images_ = nlohmann::json::array();
  int64_t next_id_ = 1;
  bool started_ = false;
  bool first_annotation_ = true;
};

// The COCO document of `images` (masks of one set of `kind` instances / classes), whole.
std::string ExportCoco(const std::vector<ExportImage>& images, const LabelMap& labels,
                       bool instances);

}  // namespace infera
