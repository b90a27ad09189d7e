#include "annotations/coco.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "annotations/coco_rle.h"
#include "annotations/polygon.h"
#include "common/json_text.h"
#include "common/strings.h"
#include "common/utf8.h"

namespace infera {
namespace {

using nlohmann::json;

// Paints `value` over the pixels of one annotation's segmentation on `out` (a w x h
// label image), and nothing else: no mask of the annotation's own is made.
Status PaintSegmentation(const json& seg, int value, Image* out) {
  const int width = out->width, height = out->height;
  if (seg.is_array()) {  // polygons
    if (seg.empty()) return absl::InvalidArgumentError("an empty polygon list");
    std::vector<double> xy;
    for (const json& poly : seg) {
      if (!poly.is_array()) return absl::InvalidArgumentError("a polygon is not a list of numbers");
      xy.clear();
      for (const json& v : poly) {
        if (!v.is_number()) return absl::InvalidArgumentError("a polygon is not a list of numbers");
        xy.push_back(v.get<double>());
      }
      // Polygons of one annotation are its disjoint pieces: their union.
      RETURN_IF_ERROR(RasterizePolygon(xy, width, height, [&](int x, int y) {
        SetLabel(out, static_cast<size_t>(y) * width + x, value);
      }));
    }
    return absl::OkStatus();
  }
  if (!seg.is_object()) {
    return absl::InvalidArgumentError("segmentation is neither polygons nor RLE");
  }
  const json& size = seg.contains("size") ? seg["size"] : json();
  if (!size.is_array() || size.size() != 2 || !size[0].is_number_integer() ||
      !size[1].is_number_integer()) {
    return absl::InvalidArgumentError("RLE 'size' is not [height, width]");
  }
  if (size[0].get<int64_t>() != height || size[1].get<int64_t>() != width) {
    return absl::InvalidArgumentError(
        StrCat("RLE size is ", size.dump(), ", the image is [", height, ", ", width, "]"));
  }
  const json& counts = seg.contains("counts") ? seg["counts"] : json();
  std::vector<uint32_t> c;
  if (counts.is_string()) {
    ASSIGN_OR_RETURN(c, CocoRleFromString(counts.get<std::string>()));
  } else if (counts.is_array()) {
    for (const json& v : counts) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > UINT32_MAX) {
        return absl::InvalidArgumentError("RLE counts are not non-negative integers");
      }
      c.push_back(static_cast<uint32_t>(v.get<int64_t>()));
    }
  } else {
    return absl::InvalidArgumentError("RLE 'counts' is neither a list nor a string");
  }
  const uint64_t total = static_cast<uint64_t>(width) * static_cast<uint64_t>(height);
  uint64_t sum = 0;
  for (uint32_t v : c) sum += v;
  if (sum != total) {  // as CocoRleDecode says it
    return absl::InvalidArgumentError(
        StrCat("RLE counts sum to ", sum, ", not ", width, "x", height, " = ", total));
  }
  uint64_t pos = 0;  // column-major position
  for (size_t i = 0; i < c.size(); ++i) {
    if (i % 2 == 1) {
      for (uint64_t k = pos; k < pos + c[i]; ++k) {
        SetLabel(out, (k % height) * width + k / height, value);
      }
    }
    pos += c[i];
  }
  return absl::OkStatus();
}

std::string Where(const json& ann, size_t index) {
  if (ann.contains("id") && ann["id"].is_number_integer()) {
    return StrCat("annotation ", ann["id"].get<int64_t>());
  }
  return StrCat("annotation #", index);
}

}  // namespace

Status ImportCoco(std::string_view text, const ImageMatcher& images, const ImportOptions& options,
                  ImportSink* sink) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError("the COCO file is not valid JSON");
  if (!doc.is_object() || !doc.contains("images") || !doc["images"].is_array() ||
      !doc.contains("annotations") || !doc["annotations"].is_array()) {
    return absl::InvalidArgumentError(
        "not a COCO instances file: expected an object with 'images' and 'annotations' arrays");
  }
  // categories -> label ids
  std::map<int64_t, int> category_label;
  std::map<int64_t, std::string> category_name;
  if (doc.contains("categories")) {
    if (!doc["categories"].is_array()) {
      return absl::InvalidArgumentError("COCO 'categories' is not an array");
    }
    for (const json& c : doc["categories"]) {
      if (!c.is_object() || !c.contains("id") || !c["id"].is_number_integer() ||
          !c.contains("name") || !c["name"].is_string()) {
        return absl::InvalidArgumentError("a COCO category lacks an integer id or a name");
      }
      const int64_t id = c["id"].get<int64_t>();
      const std::string name = CleanDisplayText(c["name"].get<std::string>());
      category_name[id] = name;
      if (!options.labels.empty()) {
        if (const AnnotationLabel* l = FindLabelByName(options.labels, name)) {
          category_label[id] = l->id;
        }
      } else if (id >= 1 && id <= kMaxLabelId) {
        category_label[id] = static_cast<int>(id);
      }
    }
  }
  // The document's structure is checked whole before any image is handed over (so that
  // a document refused for it hands over nothing): annotations by image id, in order.
  std::map<int64_t, std::vector<size_t>> by_image;
  const json& anns = doc["annotations"];
  for (size_t i = 0; i < anns.size(); ++i) {
    if (!anns[i].is_object() || !anns[i].contains("image_id") ||
        !anns[i]["image_id"].is_number_integer()) {
      return absl::InvalidArgumentError(StrCat(Where(anns[i], i), " has no integer image_id"));
    }
    by_image[anns[i]["image_id"].get<int64_t>()].push_back(i);
  }
  for (const json& img : doc["images"]) {
    if (!img.is_object() || !img.contains("id") || !img["id"].is_number_integer() ||
        !img.contains("file_name") || !img["file_name"].is_string()) {
      return absl::InvalidArgumentError("a COCO image lacks an integer id or a file_name");
    }
  }
  std::set<int64_t> seen_files;
  static const std::vector<size_t> kNone;
  for (const json& img : doc["images"]) {
    const std::string name = CleanDisplayText(img["file_name"].get<std::string>());
    auto refuse = [&](std::string reason) { sink->Refuse({name, std::move(reason)}); };
    const TargetImage* target = images.Find(name);
    if (target == nullptr) {
      refuse("no image of that name in the dataset");
      continue;
    }
    if (!seen_files.insert(target->file_id).second) {
      refuse("the file names this image twice");
      continue;
    }
    if (img.contains("width") && img.contains("height") &&
        (img["width"] != target->width || img["height"] != target->height)) {
      refuse(StrCat("the file says ", img["width"].dump(), "x", img["height"].dump(),
                    ", the image is ", target->width, "x", target->height));
      continue;
    }
    auto found = by_image.find(img["id"].get<int64_t>());
    const std::vector<size_t>& mine = found == by_image.end() ? kNone : found->second;
    if (options.instances && mine.size() > static_cast<size_t>(kMaxLabelId)) {
      refuse(StrCat("more than ", kMaxLabelId, " instances"));
      continue;
    }
    // Explicit instance ids when every annotation has a distinct one.
    std::vector<int> ids;
    if (options.instances) {
      std::set<int> distinct;
      for (size_t i : mine) {
        const json& a = anns[i];
        if (a.contains("attributes") && a["attributes"].is_object() &&
            a["attributes"].contains("instance_id") &&
            a["attributes"]["instance_id"].is_number_integer()) {
          const int64_t v = a["attributes"]["instance_id"].get<int64_t>();
          if (v >= 1 && v <= kMaxLabelId && distinct.insert(static_cast<int>(v)).second) {
            ids.push_back(static_cast<int>(v));
          }
        }
      }
      if (ids.size() != mine.size()) {
        ids.clear();
        for (size_t k = 0; k < mine.size(); ++k) ids.push_back(static_cast<int>(k + 1));
      }
    }
    // First pass, cheap: each annotation's value (its label or instance id).
    std::string error;
    std::vector<int> values;
    std::map<int, int> classes;
    int max_value = 0;
    for (size_t k = 0; k < mine.size(); ++k) {
      const json& a = anns[mine[k]];
      if (!a.contains("category_id") || !a["category_id"].is_number_integer()) {
        error = StrCat(Where(a, mine[k]), " has no integer category_id");
        break;
      }
      const int64_t cat = a["category_id"].get<int64_t>();
      auto label = category_label.find(cat);
      if (label == category_label.end()) {
        auto named = category_name.find(cat);
        error = named == category_name.end()
                    ? StrCat(Where(a, mine[k]), ": category ", cat, " is not in 'categories'")
                    : StrCat(Where(a, mine[k]), ": category '", named->second,
                             "' is not in the set's label map");
        break;
      }
      if (!a.contains("segmentation")) {
        error = StrCat(Where(a, mine[k]), " has no segmentation");
        break;
      }
      int value = label->second;
      if (options.instances) {
        value = ids[k];
        classes[value] = label->second;
      }
      max_value = std::max(max_value, value);
      values.push_back(value);
    }
    if (!error.empty()) {
      refuse(std::move(error));
      continue;
    }
    // Second pass: each annotation painted straight into the image's one label image,
    // later ones over earlier ones.
    ImportedMask out;
    out.source = name;
    out.image = *target;
    out.mask.labels = MakeLabelImage(target->width, target->height, max_value);
    for (size_t k = 0; k < mine.size(); ++k) {
      const json& a = anns[mine[k]];
      Status painted = PaintSegmentation(a["segmentation"], values[k], &out.mask.labels);
      if (!painted.ok()) {
        error = StrCat(Where(a, mine[k]), ": ", painted.message());
        break;
      }
    }
    if (!error.empty()) {
      refuse(std::move(error));
      continue;
    }
    out.mask.classes = std::move(classes);
    RETURN_IF_ERROR(sink->Accept(std::move(out)));
  }
  return absl::OkStatus();
}

StatusOr<ImportResult> ImportCoco(std::string_view json, const ImageMatcher& images,
                                  const ImportOptions& options) {
  CollectingSink sink;
  RETURN_IF_ERROR(ImportCoco(json, images, options, &sink));
  return std::move(sink.result);
}

CocoWriter::CocoWriter(LabelMap labels, bool instances, Sink sink)
    : labels_(std::move(labels)), instances_(instances), sink_(std::move(sink)) {
  for (const AnnotationLabel& l : labels_) label_ids_.insert(l.id);
}

Status CocoWriter::Add(const ExportImage& image) {
  std::string out = started_ ? ""
                             : R"({"info":{"description":"infera annotation export"},)"
                               R"("licenses":[],"annotations":[)";
  started_ = true;
  const Image& m = image.mask.labels;
  images_.push_back(
      {{"id", image.id}, {"file_name", image.filename}, {"width", m.width}, {"height", m.height}});
  const int default_class = labels_.empty() ? 1 : labels_.front().id;
  for (const LabelExtent& e : LabelExtents(m)) {
    const int value = e.value;
    int category = value;
    if (instances_) {
      auto it = image.mask.classes.find(value);
      category = it != image.mask.classes.end() ? it->second : default_class;
    }
    if (label_ids_.insert(category).second) {
      labels_.push_back({category, StrCat("class ", category), VocColour(category)});
    }
    json ann = {
        {"id", next_id_++},
        {"image_id", image.id},
        {"category_id", category},
        {"segmentation",
         {{"size", {m.height, m.width}}, {"counts", CocoRleToString(CocoRleEncodeLabel(m, e))}}},
        {"area", e.area},
        {"bbox", {e.x0, e.y0, e.width(), e.height()}},
        {"iscrowd", 0}};
    if (instances_) ann["attributes"] = {{"instance_id", value}};
    if (!first_annotation_) out += ",";
    first_annotation_ = false;
    out += JsonText(ann);
  }
  return sink_(out);
}

Status CocoWriter::Finish() {
  std::string out = started_ ? ""
                             : R"({"info":{"description":"infera annotation export"},)"
                               R"("licenses":[],"annotations":[)";
  started_ = true;
  json categories = json::array();
  for (const AnnotationLabel& l : labels_) {
    categories.push_back({{"id", l.id}, {"name", l.name}, {"supercategory", ""}});
  }
  out +=
      StrCat(R"(],"images":)", JsonText(images_), R"(,"categories":)", JsonText(categories), "}");
  return sink_(out);
}

std::string ExportCoco(const std::vector<ExportImage>& images, const LabelMap& labels,
                       bool instances) {
  std::string out;
  CocoWriter writer(labels, instances, [&out](std::string_view bytes) {
    out.append(bytes);
    return absl::OkStatus();
  });
  for (const ExportImage& image : images) (void)writer.Add(image);
  (void)writer.Finish();
  return out;
}

}  // namespace infera
