#include "annotations/label_image.h"

#include <algorithm>
#include <charconv>

#include "annotations/label_map.h"
#include "common/strings.h"

namespace infera {

Status CheckLabelImage(const Image& image) {
  if (image.channels != 1 ||
      (image.type != PixelType::kUInt8 && image.type != PixelType::kUInt16)) {
    const char* type = image.type == PixelType::kUInt8    ? "8-bit"
                       : image.type == PixelType::kUInt16 ? "16-bit"
                                                          : "float";
    return absl::InvalidArgumentError(
        StrCat("a label image has one channel of 8- or 16-bit unsigned samples; this one has ",
               image.channels, " channel(s) of ", type, " samples"));
  }
  if (image.width <= 0 || image.height <= 0) {
    return absl::InvalidArgumentError("the label image is empty");
  }
  return absl::OkStatus();
}

StatusOr<Image> DecodeLabelImage(std::span<const std::byte> bytes, const DecodeLimits& limits) {
  const ImageFormat format = DetectImageFormat(bytes);
  if (format != ImageFormat::kPng && format != ImageFormat::kTiff) {
    return absl::InvalidArgumentError("a label image must be a PNG or a TIFF");
  }
  ASSIGN_OR_RETURN(Image image, DecodeImage(bytes, limits));
  RETURN_IF_ERROR(CheckLabelImage(image));
  return image;
}

StatusOr<std::vector<std::byte>> EncodeLabelPng(const Image& labels) {
  RETURN_IF_ERROR(CheckLabelImage(labels));
  return EncodePng(labels);
}

Image MakeLabelImage(int width, int height, int max_label) {
  return MakeImage(width, height, 1, max_label > 255 ? PixelType::kUInt16 : PixelType::kUInt8);
}

std::vector<int> LabelsPresent(const Image& labels) {
  std::vector<bool> seen(labels.type == PixelType::kUInt8 ? 256 : 65536, false);
  const size_t n = static_cast<size_t>(labels.width) * labels.height;
  for (size_t i = 0; i < n; ++i) seen[LabelAt(labels, i)] = true;
  std::vector<int> out;
  for (size_t v = 1; v < seen.size(); ++v) {
    if (seen[v]) out.push_back(static_cast<int>(v));
  }
  return out;
}

std::vector<LabelExtent> LabelExtents(const Image& labels) {
  std::vector<LabelExtent> by_value(labels.type == PixelType::kUInt8 ? 256 : 65536);
  for (int y = 0; y < labels.height; ++y) {
    const size_t row = static_cast<size_t>(y) * labels.width;
    for (int x = 0; x < labels.width; ++x) {
      const int v = LabelAt(labels, row + x);
      if (v == 0) continue;
      LabelExtent& e = by_value[v];
      if (e.area++ == 0) {
        e.value = v;
        e.x0 = e.x1 = x;
        e.y0 = e.y1 = y;
        continue;
      }
      e.x0 = std::min(e.x0, x), e.x1 = std::max(e.x1, x);
      e.y1 = y;  // rows come in order
    }
  }
  std::vector<LabelExtent> out;
  for (const LabelExtent& e : by_value) {
    if (e.area > 0) out.push_back(e);
  }
  return out;
}

nlohmann::json ClassesJson(const std::map<int, int>& classes) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [instance, label] : classes) out[std::to_string(instance)] = label;
  return out;
}

StatusOr<std::map<int, int>> ParseClassesJson(const nlohmann::json& classes) {
  if (!classes.is_object()) {
    return absl::InvalidArgumentError("instance classes must be an object {\"<instance>\": label}");
  }
  std::map<int, int> out;
  for (const auto& [key, value] : classes.items()) {
    int instance = 0;
    const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), instance);
    if (ec != std::errc() || end != key.data() + key.size() || instance < 1 ||
        instance > kMaxLabelId) {
      return absl::InvalidArgumentError(
          StrCat("instance classes: '", key.substr(0, 32), "' is not an instance id"));
    }
    if (!value.is_number_integer() || value.get<int64_t>() < 1 ||
        value.get<int64_t>() > kMaxLabelId) {
      return absl::InvalidArgumentError(
          StrCat("instance classes: the class of instance ", instance, " is not a label id"));
    }
    out[instance] = value.get<int>();
  }
  return out;
}

}  // namespace infera
