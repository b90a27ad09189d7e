#include "annotations/cvat_seg_zip.h"

#include <charconv>
#include <set>
#include <span>
#include <unordered_map>

#include "common/strings.h"
#include "common/utf8.h"

namespace infera {
namespace {

using Rgb = std::array<uint8_t, 3>;

uint32_t Key(const Rgb& c) { return (uint32_t{c[0]} << 16) | (uint32_t{c[1]} << 8) | c[2]; }

struct LabelmapLine {
  std::string name;
  Rgb colour{};
};

StatusOr<std::vector<LabelmapLine>> ParseLabelmap(std::string_view text) {
  std::vector<LabelmapLine> out;
  int line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const size_t c1 = line.find(':');
    const size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) {
      return absl::InvalidArgumentError(
          StrCat("labelmap.txt line ", line_no, " is not 'name:R,G,B:parts:actions'"));
    }
    LabelmapLine l;
    l.name = CleanDisplayText(line.substr(0, c1));
    std::string_view rgb = line.substr(c1 + 1, c2 - c1 - 1);
    for (int i = 0; i < 3; ++i) {
      const size_t comma = rgb.find(',');
      std::string_view part = rgb.substr(0, comma);
      int v = -1;
      const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
      if (ec != std::errc() || end != part.data() + part.size() || v < 0 || v > 255 ||
          (i < 2) == (comma == std::string_view::npos)) {
        return absl::InvalidArgumentError(
            StrCat("labelmap.txt line ", line_no, " has a colour that is not R,G,B"));
      }
      l.colour[i] = static_cast<uint8_t>(v);
      rgb = comma == std::string_view::npos ? std::string_view() : rgb.substr(comma + 1);
    }
    out.push_back(std::move(l));
  }
  if (out.empty()) return absl::InvalidArgumentError("labelmap.txt lists no labels");
  return out;
}

std::span<const std::byte> Bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

// Pixel colour (RGB image) or index (one-channel image) at i.
uint32_t Sample(const Image& im, size_t i) {
  if (im.channels == 1) {
    return im.type == PixelType::kUInt8 ? im.pixels<uint8_t>()[i] : im.pixels<uint16_t>()[i];
  }
  const uint8_t* p = im.pixels<uint8_t>() + i * im.channels;
  return Key({p[0], p[1], p[2]});
}

StatusOr<Image> DecodeSeg(const std::string& bytes, const DecodeLimits& limits) {
  ASSIGN_OR_RETURN(Image im, DecodeImage(Bytes(bytes), limits));
  const bool index = im.channels == 1 && im.type != PixelType::kFloat32;
  const bool colour = (im.channels == 3 || im.channels == 4) && im.type == PixelType::kUInt8;
  if (!index && !colour) {
    return absl::InvalidArgumentError("a segmentation PNG is 8-bit RGB(A) or one-channel indices");
  }
  return im;
}

const std::unordered_map<uint32_t, int>& VocIndex() {
  static const auto* index = [] {
    auto* m = new std::unordered_map<uint32_t, int>();
    for (int k = kMaxLabelId; k >= 1; --k) (*m)[Key(VocColour(k))] = k;
    return m;
  }();
  return *index;
}

std::string Png(const Image& im) {
  StatusOr<std::vector<std::byte>> bytes = EncodePng(im);
  if (!bytes.ok()) return "";
  return std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size());
}

}  // namespace

bool IsCvatSegZip(const std::vector<std::string>& entry_names) {
  for (const std::string& n : entry_names) {
    if (n == "labelmap.txt") return true;
  }
  return false;
}

Status ImportCvatSegZip(const std::vector<std::string>& entry_names, const EntryReader& read,
                        const ImageMatcher& images, const ImportOptions& options,
                        ImportSink* sink) {
  const std::set<std::string> names(entry_names.begin(), entry_names.end());
  if (!names.count("labelmap.txt")) {
    return absl::InvalidArgumentError("not a Segmentation mask archive: no labelmap.txt");
  }
  ASSIGN_OR_RETURN(std::string labelmap, read("labelmap.txt"));
  ASSIGN_OR_RETURN(std::vector<LabelmapLine> lines, ParseLabelmap(labelmap));
  // Labelmap line -> label id (0 for background / unknown names).
  std::vector<int> line_label(lines.size(), 0);
  std::vector<std::string> unknown(lines.size());
  int next = 1;
  for (size_t i = 0; i < lines.size(); ++i) {
    const bool background = i == 0 && lines[i].name == "background";
    if (background) continue;
    if (!options.labels.empty()) {
      const AnnotationLabel* l = FindLabelByName(options.labels, lines[i].name);
      if (l != nullptr) {
        line_label[i] = l->id;
      } else {
        unknown[i] = lines[i].name;
      }
    } else {
      line_label[i] = next++;
    }
  }
  std::unordered_map<uint32_t, size_t> colour_line;
  for (size_t i = 0; i < lines.size(); ++i) colour_line.emplace(Key(lines[i].colour), i);

  for (const std::string& name : names) {
    if (!name.starts_with("SegmentationClass/")) continue;
    const std::string source = CleanDisplayText(name);
    auto refuse = [&](std::string reason) { sink->Refuse({source, std::move(reason)}); };
    const std::string stem(Stem(BaseName(name)));
    const TargetImage* target = images.FindByStem(stem);
    if (target == nullptr) {
      refuse("no image of the dataset has this stem");
      continue;
    }
    StatusOr<Image> cls = absl::UnknownError("");
    {
      ASSIGN_OR_RETURN(std::string bytes, read(name));
      cls = DecodeSeg(bytes, options.limits);
    }
    if (!cls.ok()) {
      refuse(std::string(cls.status().message()));
      continue;
    }
    if (cls->width != target->width || cls->height != target->height) {
      refuse(StrCat("the mask is ", cls->width, "x", cls->height, ", the image ", target->filename,
                    " is ", target->width, "x", target->height));
      continue;
    }
    const size_t n = static_cast<size_t>(cls->width) * cls->height;
    // Class id per pixel.
    std::vector<uint16_t> classes(n, 0);
    std::string error;
    for (size_t p = 0; p < n && error.empty(); ++p) {
      const uint32_t s = Sample(*cls, p);
      size_t line = 0;
      if (cls->channels == 1) {
        line = s;
        if (line >= lines.size()) {
          error = StrCat("index ", s, " is past the labelmap's ", lines.size(), " lines");
          break;
        }
      } else {
        auto it = colour_line.find(s);
        if (it == colour_line.end()) {
          error = StrCat("colour ",
                         ColourHex({static_cast<uint8_t>(s >> 16), static_cast<uint8_t>(s >> 8),
                                    static_cast<uint8_t>(s)}),
                         " is not in labelmap.txt");
          break;
        }
        line = it->second;
      }
      if (!unknown[line].empty()) {
        error = StrCat("label '", unknown[line], "' is not in the set's label map");
        break;
      }
      classes[p] = static_cast<uint16_t>(line_label[line]);
    }
    if (!error.empty()) {
      refuse(std::move(error));
      continue;
    }
    ImportedMask out;
    out.source = source;
    out.image = *target;
    if (!options.instances) {
      int max = 0;
      for (int v : classes) max = std::max(max, v);
      out.mask.labels = MakeLabelImage(target->width, target->height, max);
      for (size_t p = 0; p < n; ++p) SetLabel(&out.mask.labels, p, classes[p]);
      cls = Image{};
      RETURN_IF_ERROR(sink->Accept(std::move(out)));
      continue;
    }
    cls = Image{};
    const std::string object = StrCat("SegmentationObject/", BaseName(name));
    if (!names.count(object)) {
      refuse("an instance set needs SegmentationObject/ of the same name");
      continue;
    }
    StatusOr<Image> obj = absl::UnknownError("");
    {
      ASSIGN_OR_RETURN(std::string bytes, read(object));
      obj = DecodeSeg(bytes, options.limits);
    }
    if (!obj.ok() || obj->width != target->width || obj->height != target->height ||
        obj->channels == 1) {
      refuse("SegmentationObject/ is not an RGB PNG of the image's shape");
      continue;
    }
    // Instance ids: VOC indices when every object colour is one, else in order.
    std::unordered_map<uint32_t, int> ids;
    std::vector<uint32_t> order;
    for (size_t p = 0; p < n; ++p) {
      const uint32_t s = Sample(*obj, p);
      if (s != 0 && ids.emplace(s, 0).second) order.push_back(s);
    }
    if (order.size() > static_cast<size_t>(kMaxLabelId)) {
      refuse(StrCat("more than ", kMaxLabelId, " objects"));
      continue;
    }
    bool voc = true;
    for (uint32_t c : order) voc = voc && VocIndex().count(c) != 0;
    for (size_t i = 0; i < order.size(); ++i) {
      ids[order[i]] = voc ? VocIndex().at(order[i]) : static_cast<int>(i + 1);
    }
    int max = 0;
    for (const auto& [colour, id] : ids) max = std::max(max, id);
    out.mask.labels = MakeLabelImage(target->width, target->height, max);
    for (size_t p = 0; p < n; ++p) {
      const uint32_t s = Sample(*obj, p);
      if (s == 0) continue;
      const int id = ids[s];
      SetLabel(&out.mask.labels, p, id);
      if (classes[p] != 0 && !out.mask.classes.count(id)) out.mask.classes[id] = classes[p];
    }
    RETURN_IF_ERROR(sink->Accept(std::move(out)));
  }
  return absl::OkStatus();
}

StatusOr<ImportResult> ImportCvatSegZip(const std::map<std::string, std::string>& entries,
                                        const ImageMatcher& images, const ImportOptions& options) {
  std::vector<std::string> names;
  for (const auto& [name, bytes] : entries) names.push_back(name);
  CollectingSink sink;
  RETURN_IF_ERROR(ImportCvatSegZip(
      names,
      [&entries](const std::string& name) -> StatusOr<std::string> { return entries.at(name); },
      images, options, &sink));
  return std::move(sink.result);
}

CvatSegZipWriter::CvatSegZipWriter(LabelMap labels, bool instances, FileSink sink)
    : labels_(std::move(labels)), instances_(instances), sink_(std::move(sink)) {}

Status CvatSegZipWriter::Add(const ExportImage& image) {
  const Image& m = image.mask.labels;
  const size_t n = static_cast<size_t>(m.width) * m.height;
  const int default_class = labels_.empty() ? 1 : labels_[0].id;
  Image cls = MakeImage(m.width, m.height, 3, PixelType::kUInt8);
  Image obj = MakeImage(m.width, m.height, 3, PixelType::kUInt8);
  for (size_t p = 0; p < n; ++p) {
    const int v = LabelAt(m, p);
    if (v == 0) continue;
    int c = v;
    if (instances_) {
      auto it = image.mask.classes.find(v);
      c = it != image.mask.classes.end() ? it->second : default_class;
    }
    const AnnotationLabel* label = FindLabel(labels_, c);
    if (label == nullptr) {  // a class the map lacks: a VOC colour
      labels_.push_back({c, StrCat("class ", c), VocColour(c)});
      label = &labels_.back();
    }
    const Rgb cc = label->colour;
    const Rgb oc = VocColour(v);
    for (int k = 0; k < 3; ++k) {
      cls.pixels<uint8_t>()[p * 3 + k] = cc[k];
      obj.pixels<uint8_t>()[p * 3 + k] = oc[k];
    }
  }
  const std::string stem(Stem(BaseName(image.filename)));
  list_ += stem + "\n";
  RETURN_IF_ERROR(sink_(StrCat("SegmentationClass/", stem, ".png"), Png(cls)));
  return sink_(StrCat("SegmentationObject/", stem, ".png"), Png(obj));
}

Status CvatSegZipWriter::Finish() {
  std::string labelmap = "# label:color_rgb:parts:actions\nbackground:0,0,0::\n";
  for (const AnnotationLabel& l : labels_) {
    labelmap += StrCat(l.name, ":", l.colour[0], ",", l.colour[1], ",", l.colour[2], "::\n");
  }
  RETURN_IF_ERROR(sink_("ImageSets/Segmentation/default.txt", list_));
  return sink_("labelmap.txt", labelmap);
}

StatusOr<std::vector<std::pair<std::string, std::string>>> ExportCvatSegZip(
    const std::vector<ExportImage>& images, const LabelMap& labels, bool instances) {
  std::vector<std::pair<std::string, std::string>> files;
  CvatSegZipWriter writer(labels, instances, [&files](std::string_view name, std::string bytes) {
    files.emplace_back(std::string(name), std::move(bytes));
    return absl::OkStatus();
  });
  for (const ExportImage& image : images) RETURN_IF_ERROR(writer.Add(image));
  RETURN_IF_ERROR(writer.Finish());
  return files;
}

}  // namespace infera
