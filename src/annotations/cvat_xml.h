// CVAT for images 1.1 XML (../shared/reference/mask-formats.md C2) to masks and back.
//
// Import: parsed with expat, refusing any DOCTYPE (so no entity can be declared: XXE
// and billion laughs are refused before they start) and any malformed document
// (InvalidArgument naming the line). `<image name width height>` matched by name
// (ImageMatcher: with or without folders), its shapes painted in z_order (stable):
// `<mask rle left top width height>` — CVAT's row-major RLE over its box, 0-runs first,
// counts summing to width x height and the box inside the image —, `<polygon points=
// "x,y;x,y;...">` (inside the image). `<box>` shapes are not masks: they are skipped and
// said so in the result's notes. Shape labels match the set's labels by name (or, for a
// set without labels, the `<labels>` of the file in order, ids 1, 2, ..., then any other
// shape label as it comes). Instance sets
// get one instance per shape (by its `<attribute name="instance_id">` when every shape
// of the image has a distinct one, as the export writes), class sets the label id.
// An image with a bad shape is refused whole.
// Streamed (CvatXmlImporter): the document is parsed as its bytes are fed, each <image>
// decoded when its end tag is read and handed to the sink, so that one image's shapes and
// mask are held at a time. A document found malformed after some images were handed over
// returns InvalidArgument all the same: the caller drops what it took (the import route
// stages and rolls back). The <labels> a set without labels takes are those read before
// the first image ends (CVAT writes <meta> first).
//
// Export (CvatXmlWriter, streamed): per image one `<mask>` per instance (with its instance_id
// attribute) or per label present, over the tight box — lossless through Import. Pure; thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "annotations/coco.h"  // ExportImage
#include "annotations/import_types.h"
#include "common/status.h"

namespace infera {

struct CvatImportResult {
  ImportResult result;
  std::vector<std::string> notes;  // what was skipped and why (boxes)
};

// Streams one document into a sink: Feed its bytes in pieces of any size as they are read,
// then Finish. Errors (both): InvalidArgument for a malformed document (naming the line),
// a DOCTYPE or entity, a root other than <annotations>; the sink's error. After an error,
// or Finish, the import has ended. Not thread-safe; `images` and `sink` must outlive it.
class CvatXmlImporter {
 public:
  CvatXmlImporter(const ImageMatcher& images, const ImportOptions& options, ImportSink* sink);
  ~CvatXmlImporter();
  CvatXmlImporter(const CvatXmlImporter&) = delete;
  CvatXmlImporter& operator=(const CvatXmlImporter&) = delete;

  Status Feed(std::string_view bytes);
  Status Finish();

  struct State;

 private:
  Status Parse(std::string_view bytes, bool last);

  std::unique_ptr<State> state_;
};

// A whole document through CvatXmlImporter.
Status ImportCvatXml(std::string_view xml, const ImageMatcher& images, const ImportOptions& options,
                     ImportSink* sink);
// The same, every mask (and note) collected.
StatusOr<CvatImportResult> ImportCvatXml(std::string_view xml, const ImageMatcher& images,
                                         const ImportOptions& options);

// Writes the XML image by image (the label map in <meta> first; nothing kept between
// images). Not thread-safe; Finish once, after the last Add.
class CvatXmlWriter {
 public:
  using Sink = std::function<Status(std::string_view bytes)>;
  CvatXmlWriter(LabelMap labels, bool instances, Sink sink);
  Status Add(const ExportImage& image);  // the sink's error
  Status Finish();

 private:
  std::string Header() const;

  LabelMap labels_;
  bool instances_;
  Sink sink_;
  int64_t next_index_ = 0;
  bool started_ = false;
};

// The whole document of `images`.
std::string ExportCvatXml(const std::vector<ExportImage>& images, const LabelMap& labels,
                          bool instances);

// CVAT's mask RLE over a w x h box (row-major, 0-runs first) and back; Decode is
// InvalidArgument when the counts do not sum to w x h.
std::vector<uint32_t> CvatRleEncode(const std::vector<uint8_t>& box_mask);
StatusOr<std::vector<uint8_t>> CvatRleDecode(const std::vector<uint32_t>& counts, int width,
                                             int height);

}  // namespace infera
