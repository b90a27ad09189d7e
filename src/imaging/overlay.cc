#include "imaging/overlay.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "common/strings.h"
#include "imaging/normalize.h"

namespace infera {

namespace {

constexpr Rgb8 kPalette[kPaletteSize] = {
    {0xe6, 0x19, 0x4b},  // red
    {0x3c, 0xb4, 0x4b},  // green
    {0xff, 0xe1, 0x19},  // yellow
    {0x43, 0x63, 0xd8},  // blue
    {0xf5, 0x82, 0x31},  // orange
    {0x91, 0x1e, 0xb4},  // purple
    {0x42, 0xd4, 0xf4},  // cyan
    {0xf0, 0x32, 0xe6},  // magenta
    {0xbf, 0xef, 0x45},  // lime
    {0xfa, 0xbe, 0xd4},  // pink
    {0x46, 0x99, 0x90},  // teal
    {0xdc, 0xbe, 0xff},  // lavender
    {0x9a, 0x63, 0x24},  // brown
    {0xff, 0xfa, 0xc8},  // beige
    {0x80, 0x00, 0x00},  // maroon
    {0xaa, 0xff, 0xc3},  // mint
    {0x80, 0x80, 0x00},  // olive
    {0xff, 0xd8, 0xb1},  // apricot
    {0x00, 0x00, 0x75},  // navy
    {0xa9, 0xa9, 0xa9},  // grey
};

Status CheckImage(const Image& image, std::string_view what) {
  if (image.width <= 0 || image.height <= 0 || image.channels <= 0) {
    return absl::InvalidArgumentError(StrCat("the ", what, " is empty"));
  }
  if (image.data.size() != image.row_bytes() * static_cast<size_t>(image.height)) {
    return absl::InvalidArgumentError(
        StrCat("the ", what, "'s data size does not match its geometry"));
  }
  return absl::OkStatus();
}

// The source channels shown: {0} (gray) or {0, 1, 2} (RGB).
std::vector<int> ShownChannels(int channels) {
  if (channels <= 2) return {0};
  return {0, 1, 2};
}

// Copies the shown channels of `source` into a new image of the same type.
Image SelectChannels(const Image& source, const std::vector<int>& shown) {
  Image out = MakeImage(source.width, source.height, static_cast<int>(shown.size()), source.type);
  const size_t sample = PixelTypeSize(source.type);
  const size_t n = static_cast<size_t>(source.width) * source.height;
  const std::byte* src = source.data.data();
  std::byte* dst = out.data.data();
  for (size_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < shown.size(); ++k) {
      std::memcpy(dst + (i * shown.size() + k) * sample,
                  src + (i * source.channels + shown[k]) * sample, sample);
    }
  }
  return out;
}

}  // namespace

Rgb8 LabelColor(int64_t label) {
  if (label <= 0) return {};
  return kPalette[(label - 1) % kPaletteSize];
}

Rgb8 InstanceColor(int64_t label) {
  if (label <= 0) return {};
  constexpr double kGolden = 0.618033988749894848;
  const double hue = std::fmod(static_cast<double>(label) * kGolden, 1.0) * 6.0;
  static constexpr double kSaturation[] = {0.85, 0.6, 0.95};
  static constexpr double kValue[] = {0.95, 0.8, 1.0, 0.7};
  const double s = kSaturation[label % 3];
  const double v = kValue[(label / 3) % 4];
  const int sector = static_cast<int>(hue) % 6;
  const double f = hue - std::floor(hue);
  const double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double r = 0, g = 0, b = 0;
  switch (sector) {
    case 0:
      r = v, g = t, b = p;
      break;
    case 1:
      r = q, g = v, b = p;
      break;
    case 2:
      r = p, g = v, b = t;
      break;
    case 3:
      r = p, g = q, b = v;
      break;
    case 4:
      r = t, g = p, b = v;
      break;
    default:
      r = v, g = p, b = q;
      break;
  }
  auto byte = [](double x) {
    return static_cast<uint8_t>(std::lround(std::clamp(x, 0.0, 1.0) * 255));
  };
  return {byte(r), byte(g), byte(b)};
}

StatusOr<Image> ColorizeLabels(const Image& labels, LabelPalette palette) {
  RETURN_IF_ERROR(CheckImage(labels, "label map"));
  if (labels.channels != 1) {
    return absl::InvalidArgumentError(
        StrCat("a label map has one channel; this image has ", labels.channels));
  }
  const size_t n = static_cast<size_t>(labels.width) * labels.height;
  auto label_at = [&labels](size_t i) -> int64_t {
    switch (labels.type) {
      case PixelType::kUInt8:
        return labels.pixels<uint8_t>()[i];
      case PixelType::kUInt16:
        return labels.pixels<uint16_t>()[i];
      case PixelType::kFloat32: {
        const float v = labels.pixels<float>()[i];
        // -1: not a label (checked below).
        return v >= 0 && v < 4294967296.0f && v == std::floor(v) ? static_cast<int64_t>(v) : -1;
      }
    }
    return -1;
  };
  bool binary = palette == LabelPalette::kClasses && labels.type == PixelType::kUInt8;
  for (size_t i = 0; binary && i < n; ++i) {
    const uint8_t v = labels.pixels<uint8_t>()[i];
    binary = v == 0 || v == 255;
  }
  Image out = MakeImage(labels.width, labels.height, 4, PixelType::kUInt8);
  uint8_t* px = out.pixels<uint8_t>();
  for (size_t i = 0; i < n; ++i) {
    int64_t label = label_at(i);
    if (label < 0) {
      return absl::InvalidArgumentError(
          "the label map holds values that are not non-negative whole numbers");
    }
    uint8_t* p = px + 4 * i;
    if (label == 0) {
      p[0] = p[1] = p[2] = p[3] = 0;
      continue;
    }
    if (binary) label = 1;
    const Rgb8 c = palette == LabelPalette::kClasses ? LabelColor(label) : InstanceColor(label);
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
    p[3] = 255;
  }
  return out;
}

std::string ColorHex(Rgb8 color) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "#%02x%02x%02x", color.r, color.g, color.b);
  return buf;
}

StatusOr<Image> PreviewBase(const Image& source) {
  RETURN_IF_ERROR(CheckImage(source, "source image"));
  const std::vector<int> shown = ShownChannels(source.channels);
  Image selected = SelectChannels(source, shown);
  if (selected.type != PixelType::kUInt8) {
    PercentileOptions options;
    options.clip = true;
    ASSIGN_OR_RETURN(Image stretched, NormalizePercentiles(selected, options));
    selected = MakeImage(source.width, source.height, stretched.channels, PixelType::kUInt8);
    const float* src = stretched.pixels<float>();
    uint8_t* dst = selected.pixels<uint8_t>();
    const size_t n = stretched.data.size() / sizeof(float);
    for (size_t i = 0; i < n; ++i) {
      const float v = std::isnan(src[i]) ? 0.0f : src[i];  // NaN samples: black
      dst[i] = static_cast<uint8_t>(std::nearbyint(v * 255.0f));
    }
  }
  if (selected.channels == 3) return selected;
  Image rgb = MakeImage(source.width, source.height, 3, PixelType::kUInt8);
  const uint8_t* gray = selected.pixels<uint8_t>();
  uint8_t* dst = rgb.pixels<uint8_t>();
  const size_t n = static_cast<size_t>(source.width) * source.height;
  for (size_t i = 0; i < n; ++i) dst[3 * i] = dst[3 * i + 1] = dst[3 * i + 2] = gray[i];
  return rgb;
}

StatusOr<Image> OverlayLabels(const Image& source, const Image& labels,
                              const OverlayOptions& options) {
  RETURN_IF_ERROR(CheckImage(labels, "label map"));
  if (labels.channels != 1 || labels.type == PixelType::kFloat32) {
    return absl::InvalidArgumentError("the label map must have one 8- or 16-bit channel");
  }
  if (labels.width != source.width || labels.height != source.height) {
    return absl::InvalidArgumentError(StrCat("the label map is ", labels.width, "x", labels.height,
                                             " but the image is ", source.width, "x",
                                             source.height));
  }
  if (!(options.alpha >= 0.0f && options.alpha <= 1.0f)) {
    return absl::InvalidArgumentError(
        StrCat("overlay alpha must be in [0, 1], got ", options.alpha));
  }
  ASSIGN_OR_RETURN(Image out, PreviewBase(source));
  const float alpha = options.alpha;
  uint8_t* px = out.pixels<uint8_t>();
  const size_t n = static_cast<size_t>(source.width) * source.height;
  auto blend = [alpha](uint8_t base, uint8_t colour) {
    return static_cast<uint8_t>(std::nearbyint((1.0f - alpha) * static_cast<float>(base) +
                                               alpha * static_cast<float>(colour)));
  };
  for (size_t i = 0; i < n; ++i) {
    const int64_t label = labels.type == PixelType::kUInt8 ? labels.pixels<uint8_t>()[i]
                                                           : labels.pixels<uint16_t>()[i];
    if (label == 0) continue;
    const Rgb8 c = LabelColor(label);
    uint8_t* p = px + 3 * i;
    p[0] = blend(p[0], c.r);
    p[1] = blend(p[1], c.g);
    p[2] = blend(p[2], c.b);
  }
  return out;
}

}  // namespace infera
