#include "annotations/cvat_xml.h"

#include <expat.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "annotations/polygon.h"
#include "common/strings.h"
#include "common/utf8.h"

namespace infera {
namespace {

struct Shape {
  std::string type;  // mask, polygon, box, ...
  std::map<std::string, std::string> attrs;
  std::map<std::string, std::string> attributes;  // <attribute name=...>text</attribute>
  int z_order = 0;
  size_t order = 0;
};

struct XmlImage {
  std::map<std::string, std::string> attrs;
  std::vector<Shape> shapes;
  int line = 0;
};

}  // namespace

// The parse of one document, streamed: the element stack, the <labels> read so far, and
// the one <image> being read (decoded and handed over at its end tag).
struct CvatXmlImporter::State {
  const ImageMatcher* matcher = nullptr;
  ImportOptions options;
  ImportSink* sink = nullptr;
  XML_Parser parser = nullptr;
  std::string error;  // a malformed or refused document (InvalidArgument)
  Status sink_error;  // the sink's error, which stops the parse
  std::vector<std::string> stack;
  std::optional<XmlImage> image;         // the <image> being read
  std::vector<std::string> label_names;  // <labels><label><name>
  std::string text;                      // character data of the current element
  std::string attribute_name;            // inside <attribute name=...>
  bool in_image = false;
  bool in_shape = false;
  // Shape label name -> label id, made when the first image ends (a CVAT document's
  // <meta><labels> come before its images).
  std::optional<std::map<std::string, int>> label_ids;
  std::set<int64_t> seen;  // images handed over or refused, by file id
  bool done = false;       // Finish ran, or an error stopped the parse
};

namespace {

using ParseState = CvatXmlImporter::State;

void ProcessImage(ParseState* s, XmlImage img);

std::map<std::string, std::string> Attrs(const XML_Char** atts) {
  std::map<std::string, std::string> out;
  for (int i = 0; atts[i] != nullptr; i += 2) out[atts[i]] = atts[i + 1];
  return out;
}

void Fail(ParseState* s, std::string message) {
  if (s->error.empty()) {
    s->error = StrCat(message, " (line ", XML_GetCurrentLineNumber(s->parser), ")");
  }
  XML_StopParser(s->parser, XML_FALSE);
}

void XMLCALL OnStart(void* data, const XML_Char* name, const XML_Char** atts) {
  auto* s = static_cast<ParseState*>(data);
  const std::string el = name;
  const std::string parent = s->stack.empty() ? "" : s->stack.back();
  s->stack.push_back(el);
  s->text.clear();
  if (s->stack.size() == 1 && el != "annotations") {
    return Fail(s, StrCat("the root element is <", el.substr(0, 40), ">, not <annotations>"));
  }
  if (el == "image" && parent == "annotations") {
    s->image = XmlImage{Attrs(atts), {}, static_cast<int>(XML_GetCurrentLineNumber(s->parser))};
    s->in_image = true;
  } else if (s->in_image && parent == "image") {
    Shape shape;
    shape.type = el;
    shape.attrs = Attrs(atts);
    shape.order = s->image->shapes.size();
    s->image->shapes.push_back(std::move(shape));
    s->in_shape = true;
  } else if (s->in_shape && el == "attribute") {
    auto a = Attrs(atts);
    s->attribute_name = a["name"];
  }
}

void XMLCALL OnEnd(void* data, const XML_Char* name) {
  auto* s = static_cast<ParseState*>(data);
  const std::string el = name;
  s->stack.pop_back();
  const std::string parent = s->stack.empty() ? "" : s->stack.back();
  if (el == "name" && parent == "label" && s->stack.size() >= 2 &&
      s->stack[s->stack.size() - 2] == "labels") {
    s->label_names.push_back(CleanDisplayText(s->text));
  } else if (el == "attribute" && s->in_shape && s->image && !s->image->shapes.empty()) {
    s->image->shapes.back().attributes[s->attribute_name] = s->text;
  } else if (el == "image" && parent == "annotations") {
    s->in_image = false;
    if (s->image) {
      XmlImage img = std::move(*s->image);
      s->image.reset();
      ProcessImage(s, std::move(img));
    }
  } else if (s->in_image && parent == "image") {
    s->in_shape = false;
  }
  s->text.clear();
}

void XMLCALL OnText(void* data, const XML_Char* text, int len) {
  auto* s = static_cast<ParseState*>(data);
  if (s->text.size() < 4096) s->text.append(text, static_cast<size_t>(len));
}

void XMLCALL OnDoctype(void* data, const XML_Char*, const XML_Char*, const XML_Char*, int) {
  Fail(static_cast<ParseState*>(data),
       "the XML has a DOCTYPE (refused: no DTDs or entities in annotation files)");
}

void XMLCALL OnEntity(void* data, const XML_Char*, int, const XML_Char*, int, const XML_Char*,
                      const XML_Char*, const XML_Char*, const XML_Char*) {
  Fail(static_cast<ParseState*>(data), "the XML declares an entity (refused)");
}

StatusOr<double> Number(const std::map<std::string, std::string>& attrs, const std::string& key) {
  auto it = attrs.find(key);
  if (it == attrs.end()) return absl::InvalidArgumentError(StrCat("missing attribute '", key, "'"));
  const std::string& t = it->second;
  double v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size() || !std::isfinite(v)) {
    return absl::InvalidArgumentError(
        StrCat("attribute '", key, "' is not a number: '", t.substr(0, 40), "'"));
  }
  return v;
}

StatusOr<int> Integer(const std::map<std::string, std::string>& attrs, const std::string& key) {
  ASSIGN_OR_RETURN(double v, Number(attrs, key));
  if (v != std::floor(v) || std::abs(v) > 1e9) {
    return absl::InvalidArgumentError(StrCat("attribute '", key, "' is not an integer"));
  }
  return static_cast<int>(v);
}

// "3, 5, 7" -> counts.
StatusOr<std::vector<uint32_t>> ParseCounts(std::string_view text) {
  std::vector<uint32_t> counts;
  size_t p = 0;
  while (p < text.size()) {
    while (p < text.size() && (text[p] == ' ' || text[p] == ',')) ++p;
    if (p >= text.size()) break;
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data() + p, text.data() + text.size(), v);
    if (ec != std::errc() || v > UINT32_MAX) {
      return absl::InvalidArgumentError("mask rle is not a list of non-negative integers");
    }
    counts.push_back(static_cast<uint32_t>(v));
    p = static_cast<size_t>(end - text.data());
    if (p < text.size() && text[p] != ',' && text[p] != ' ') {
      return absl::InvalidArgumentError("mask rle is not a list of non-negative integers");
    }
  }
  return counts;
}

// Paints one shape's pixels with `value`.
Status PaintShape(const Shape& shape, int width, int height, int value, Image* out) {
  if (shape.type == "mask") {
    ASSIGN_OR_RETURN(int left, Integer(shape.attrs, "left"));
    ASSIGN_OR_RETURN(int top, Integer(shape.attrs, "top"));
    ASSIGN_OR_RETURN(int w, Integer(shape.attrs, "width"));
    ASSIGN_OR_RETURN(int h, Integer(shape.attrs, "height"));
    if (w <= 0 || h <= 0 || left < 0 || top < 0 || left + w > width || top + h > height) {
      return absl::InvalidArgumentError(StrCat("mask box ", left, ",", top, " ", w, "x", h,
                                               " is not inside the ", width, "x", height,
                                               " image"));
    }
    auto rle = shape.attrs.find("rle");
    if (rle == shape.attrs.end()) return absl::InvalidArgumentError("mask without rle");
    ASSIGN_OR_RETURN(std::vector<uint32_t> counts, ParseCounts(rle->second));
    ASSIGN_OR_RETURN(std::vector<uint8_t> box, CvatRleDecode(counts, w, h));
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        if (box[static_cast<size_t>(y) * w + x]) {
          SetLabel(out, static_cast<size_t>(top + y) * width + left + x, value);
        }
      }
    }
    return absl::OkStatus();
  }
  if (shape.type == "polygon") {
    auto points = shape.attrs.find("points");
    if (points == shape.attrs.end()) return absl::InvalidArgumentError("polygon without points");
    std::vector<double> xy;
    for (std::string_view rest = points->second; !rest.empty();) {
      const size_t semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      const size_t comma = pair.find(',');
      if (comma == std::string_view::npos) {
        return absl::InvalidArgumentError("polygon points are not 'x,y;x,y;...'");
      }
      for (std::string_view t : {pair.substr(0, comma), pair.substr(comma + 1)}) {
        double v = 0;
        const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        if (ec != std::errc() || end != t.data() + t.size()) {
          return absl::InvalidArgumentError("polygon points are not 'x,y;x,y;...'");
        }
        xy.push_back(v);
      }
    }
    return RasterizePolygon(xy, width, height, [&](int x, int y) {
      SetLabel(out, static_cast<size_t>(y) * width + x, value);
    });
  }
  return absl::InvalidArgumentError(
      StrCat("<", shape.type.substr(0, 40), "> is not a shape infera reads"));
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

std::vector<uint32_t> CvatRleEncode(const std::vector<uint8_t>& box_mask) {
  std::vector<uint32_t> counts;
  uint8_t current = 0;
  uint32_t run = 0;
  for (uint8_t v : box_mask) {
    const uint8_t b = v != 0 ? 1 : 0;
    if (b != current) {
      counts.push_back(run);
      run = 0;
      current = b;
    }
    ++run;
  }
  counts.push_back(run);
  return counts;
}

StatusOr<std::vector<uint8_t>> CvatRleDecode(const std::vector<uint32_t>& counts, int width,
                                             int height) {
  const uint64_t total = static_cast<uint64_t>(width) * static_cast<uint64_t>(height);
  uint64_t sum = 0;
  for (uint32_t c : counts) sum += c;
  if (sum != total) {
    return absl::InvalidArgumentError(StrCat("mask rle counts sum to ", sum, ", not its box's ",
                                             width, "x", height, " = ", total));
  }
  std::vector<uint8_t> out;
  out.reserve(total);
  for (size_t i = 0; i < counts.size(); ++i) out.insert(out.end(), counts[i], i % 2 == 1 ? 1 : 0);
  return out;
}

namespace {

// Decodes one <image> and hands it to the sink (or its refusal).
void ProcessImage(ParseState* s, XmlImage img) {
  const ImportOptions& options = s->options;
  if (!s->label_ids) {
    // Shape label name -> label id.
    s->label_ids.emplace();
    if (!options.labels.empty()) {
      for (const AnnotationLabel& l : options.labels) (*s->label_ids)[l.name] = l.id;
    } else {
      int next = 1;
      for (const std::string& n : s->label_names) {
        if (!s->label_ids->count(n)) (*s->label_ids)[n] = next++;
      }
    }
  }
  std::map<std::string, int>& label_ids = *s->label_ids;
  const std::string name = CleanDisplayText(img.attrs["name"]);
  auto refuse = [&](std::string reason) { s->sink->Refuse({name, std::move(reason)}); };
  const TargetImage* target = s->matcher->Find(name);
  if (target == nullptr) return refuse("no image of that name in the dataset");
  if (!s->seen.insert(target->file_id).second) return refuse("the file names this image twice");
  StatusOr<int> w = Integer(img.attrs, "width");
  StatusOr<int> h = Integer(img.attrs, "height");
  if (w.ok() && h.ok() && (*w != target->width || *h != target->height)) {
    return refuse(StrCat("the file says ", *w, "x", *h, ", the image is ", target->width, "x",
                         target->height));
  }
  std::vector<Shape> shapes;
  int boxes = 0;
  for (Shape& sh : img.shapes) {
    if (sh.type == "box") {
      ++boxes;
      continue;
    }
    if (sh.type != "mask" && sh.type != "polygon") continue;  // tags, points, ...
    auto z = sh.attrs.find("z_order");
    if (z != sh.attrs.end()) {
      StatusOr<int> zv = Integer(sh.attrs, "z_order");
      sh.z_order = zv.ok() ? *zv : 0;
    }
    shapes.push_back(std::move(sh));
  }
  if (boxes > 0) {
    s->sink->Note(StrCat(name, ": ", boxes, " <box> shape(s) skipped (a box is not a mask)"));
  }
  std::stable_sort(shapes.begin(), shapes.end(),
                   [](const Shape& a, const Shape& b) { return a.z_order < b.z_order; });
  std::vector<int> ids;
  if (options.instances) {
    std::set<int> distinct;
    for (const Shape& sh : shapes) {
      auto it = sh.attributes.find("instance_id");
      int v = 0;
      if (it != sh.attributes.end()) {
        const auto [end, ec] =
            std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
        if (ec != std::errc() || end != it->second.data() + it->second.size()) v = 0;
      }
      if (v >= 1 && v <= kMaxLabelId && distinct.insert(v).second) ids.push_back(v);
    }
    if (ids.size() != shapes.size()) {
      ids.clear();
      for (size_t k = 0; k < shapes.size(); ++k) ids.push_back(static_cast<int>(k + 1));
    }
    if (shapes.size() > static_cast<size_t>(kMaxLabelId)) {
      return refuse(StrCat("more than ", kMaxLabelId, " shapes"));
    }
  }
  int max_value = 0;
  std::vector<int> values;
  std::map<int, int> classes;
  for (size_t k = 0; k < shapes.size(); ++k) {
    const std::string label = CleanDisplayText(shapes[k].attrs["label"]);
    auto id = label_ids.find(label);
    if (id == label_ids.end() && options.labels.empty() && !label.empty() &&
        label_ids.size() < static_cast<size_t>(kMaxLabelId)) {
      // A set without labels takes the file's as they come.
      id = label_ids.emplace(label, static_cast<int>(label_ids.size()) + 1).first;
    }
    if (id == label_ids.end()) {
      return refuse(StrCat("<", shapes[k].type, "> ", k + 1, ": label '", label,
                           "' is not in the set's label map"));
    }
    const int value = options.instances ? ids[k] : id->second;
    if (options.instances) classes[value] = id->second;
    max_value = std::max(max_value, value);
    values.push_back(value);
  }
  ImportedMask mask;
  mask.source = name;
  mask.image = *target;
  mask.mask.labels = MakeLabelImage(target->width, target->height, max_value);
  for (size_t k = 0; k < shapes.size(); ++k) {
    Status painted =
        PaintShape(shapes[k], target->width, target->height, values[k], &mask.mask.labels);
    if (!painted.ok()) {
      return refuse(StrCat("<", shapes[k].type, "> ", k + 1, ": ", painted.message()));
    }
  }
  mask.mask.classes = std::move(classes);
  Status taken = s->sink->Accept(std::move(mask));
  if (!taken.ok()) {
    s->sink_error = std::move(taken);
    XML_StopParser(s->parser, XML_FALSE);
  }
}

}  // namespace

CvatXmlImporter::CvatXmlImporter(const ImageMatcher& images, const ImportOptions& options,
                                 ImportSink* sink)
    : state_(std::make_unique<State>()) {
  state_->matcher = &images;
  state_->options = options;
  state_->sink = sink;
  state_->parser = XML_ParserCreate("UTF-8");
  if (state_->parser == nullptr) return;
  XML_SetUserData(state_->parser, state_.get());
  XML_SetElementHandler(state_->parser, OnStart, OnEnd);
  XML_SetCharacterDataHandler(state_->parser, OnText);
  XML_SetStartDoctypeDeclHandler(state_->parser, OnDoctype);
  XML_SetEntityDeclHandler(state_->parser, OnEntity);
  XML_SetParamEntityParsing(state_->parser, XML_PARAM_ENTITY_PARSING_NEVER);
}

CvatXmlImporter::~CvatXmlImporter() {
  if (state_->parser != nullptr) XML_ParserFree(state_->parser);
}

Status CvatXmlImporter::Parse(std::string_view bytes, bool last) {
  State& s = *state_;
  if (s.parser == nullptr) return absl::InternalError("cannot create an XML parser");
  if (s.done) return absl::FailedPreconditionError("the XML import has ended");
  const XML_Status parsed = XML_Parse(s.parser, bytes.data(), static_cast<int>(bytes.size()),
                                      last ? XML_TRUE : XML_FALSE);
  if (last) s.done = true;
  if (!s.sink_error.ok()) {
    s.done = true;
    return s.sink_error;
  }
  if (!s.error.empty()) {
    s.done = true;
    return absl::InvalidArgumentError(s.error);
  }
  if (parsed != XML_STATUS_OK) {
    s.done = true;
    return absl::InvalidArgumentError(
        StrCat("malformed XML: ", XML_ErrorString(XML_GetErrorCode(s.parser)), " (line ",
               XML_GetCurrentLineNumber(s.parser), ")"));
  }
  return absl::OkStatus();
}

Status CvatXmlImporter::Feed(std::string_view bytes) {
  while (!bytes.empty()) {
    const size_t piece = std::min<size_t>(bytes.size(), size_t{1} << 24);
    RETURN_IF_ERROR(Parse(bytes.substr(0, piece), /*last=*/false));
    bytes.remove_prefix(piece);
  }
  return absl::OkStatus();
}

Status CvatXmlImporter::Finish() { return Parse({}, /*last=*/true); }

Status ImportCvatXml(std::string_view xml, const ImageMatcher& images, const ImportOptions& options,
                     ImportSink* sink) {
  CvatXmlImporter importer(images, options, sink);
  RETURN_IF_ERROR(importer.Feed(xml));
  return importer.Finish();
}

StatusOr<CvatImportResult> ImportCvatXml(std::string_view xml, const ImageMatcher& images,
                                         const ImportOptions& options) {
  CollectingSink sink;
  RETURN_IF_ERROR(ImportCvatXml(xml, images, options, &sink));
  CvatImportResult out;
  out.result = std::move(sink.result);
  out.notes = std::move(sink.notes);
  return out;
}

CvatXmlWriter::CvatXmlWriter(LabelMap labels, bool instances, Sink sink)
    : labels_(std::move(labels)), instances_(instances), sink_(std::move(sink)) {}

std::string CvatXmlWriter::Header() const {
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<annotations>\n";
  out += "  <version>1.1</version>\n  <meta>\n    <task>\n      <labels>\n";
  for (const AnnotationLabel& l : labels_) {
    out +=
        StrCat("        <label>\n          <name>", XmlEscape(l.name), "</name>\n          <color>",
               ColourHex(l.colour), "</color>\n          <type>mask</type>\n",
               instances_ ? "          <attributes>\n            <attribute>\n"
                            "              <name>instance_id</name>\n"
                            "              <mutable>False</mutable>\n"
                            "              <input_type>number</input_type>\n"
                            "              <default_value>0</default_value>\n"
                            "              <values>0;65535;1</values>\n"
                            "            </attribute>\n          </attributes>\n"
                          : "          <attributes></attributes>\n",
               "        </label>\n");
  }
  out += "      </labels>\n    </task>\n  </meta>\n";
  return out;
}

Status CvatXmlWriter::Add(const ExportImage& image) {
  std::string out;
  if (!started_) out = Header();
  started_ = true;
  const std::string fallback = labels_.empty() ? "class 1" : labels_.front().name;
  auto label_name = [&](int id) {
    const AnnotationLabel* l = FindLabel(labels_, id);
    return l != nullptr ? l->name : StrCat("class ", id);
  };
  const Image& m = image.mask.labels;
  out += StrCat("  <image id=\"", next_index_++, "\" name=\"", XmlEscape(image.filename),
                "\" width=\"", m.width, "\" height=\"", m.height, "\">\n");
  for (const LabelExtent& e : LabelExtents(m)) {
    const int value = e.value, x0 = e.x0, y0 = e.y0;
    const int bw = e.width(), bh = e.height();
    std::vector<uint8_t> box(static_cast<size_t>(bw) * bh, 0);
    for (int y = 0; y < bh; ++y) {
      for (int x = 0; x < bw; ++x) {
        box[static_cast<size_t>(y) * bw + x] =
            LabelAt(m, static_cast<size_t>(y0 + y) * m.width + x0 + x) == value ? 1 : 0;
      }
    }
    std::string label;
    if (instances_) {
      auto it = image.mask.classes.find(value);
      label = it != image.mask.classes.end() ? label_name(it->second) : fallback;
    } else {
      label = label_name(value);
    }
    out +=
        StrCat("    <mask label=\"", XmlEscape(label), "\" source=\"manual\" occluded=\"0\" rle=\"",
               StrJoin(CvatRleEncode(box), ", "), "\" left=\"", x0, "\" top=\"", y0, "\" width=\"",
               bw, "\" height=\"", bh, "\" z_order=\"0\">");
    if (instances_) {
      out += StrCat("\n      <attribute name=\"instance_id\">", value, "</attribute>\n    ");
    }
    out += "</mask>\n";
  }
  out += "  </image>\n";
  return sink_(out);
}

Status CvatXmlWriter::Finish() {
  std::string out;
  if (!started_) out = Header();
  started_ = true;
  out += "</annotations>\n";
  return sink_(out);
}

std::string ExportCvatXml(const std::vector<ExportImage>& images, const LabelMap& labels,
                          bool instances) {
  std::string out;
  CvatXmlWriter writer(labels, instances, [&out](std::string_view bytes) {
    out.append(bytes);
    return absl::OkStatus();
  });
  for (const ExportImage& image : images) (void)writer.Add(image);
  (void)writer.Finish();
  return out;
}

}  // namespace infera
