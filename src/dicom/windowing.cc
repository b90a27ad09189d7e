#include "dicom/windowing.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/strings.h"
#include "common/utf8.h"

namespace infera {

namespace {

constexpr NamedWindow kPresets[] = {
    {"lung", {-600, 1500}},
    {"soft_tissue", {40, 400}},
    {"bone", {400, 1800}},
    {"brain", {40, 80}},
};

std::string PresetKey(std::string_view name) {
  std::string key;
  for (char c : name) {
    key.push_back(c == '-' || c == ' ' ? '_' : static_cast<char>(std::tolower(c)));
  }
  return key;
}

}  // namespace

std::span<const NamedWindow> WindowPresets() { return kPresets; }

StatusOr<WindowSpec> ParseWindowSpec(const nlohmann::json& value) {
  constexpr std::string_view kForms =
      "expected \"file\", a preset (lung, soft_tissue, bone, brain) or [centre, width]";
  WindowSpec spec;
  if (value.is_string()) {
    const std::string key = PresetKey(value.get<std::string>());
    if (key == "file") return spec;
    for (const NamedWindow& preset : kPresets) {
      if (preset.name == key) {
        spec.kind = WindowSpec::Kind::kPreset;
        spec.preset = std::string(preset.name);
        spec.window = preset.window;
        return spec;
      }
    }
    return absl::InvalidArgumentError(
        StrCat("unknown window '", CleanDisplayText(key.substr(0, 40)), "': ", kForms));
  }
  if (value.is_array() && value.size() == 2 && value[0].is_number() && value[1].is_number()) {
    const double center = value[0].get<double>();
    const double width = value[1].get<double>();
    if (!std::isfinite(center) || !std::isfinite(width) || width < 1) {
      return absl::InvalidArgumentError(
          "the window [centre, width] needs finite numbers and a width of at least 1");
    }
    spec.kind = WindowSpec::Kind::kExplicit;
    spec.window = VoiWindow{center, width};
    return spec;
  }
  return absl::InvalidArgumentError(StrCat("'window': ", kForms));
}

nlohmann::json WindowSpecJson(const WindowSpec& spec) {
  switch (spec.kind) {
    case WindowSpec::Kind::kFile:
      return "file";
    case WindowSpec::Kind::kPreset:
      return spec.preset;
    case WindowSpec::Kind::kExplicit:
      return nlohmann::json::array({spec.window.center, spec.window.width});
  }
  return "file";
}

VoiWindow ResolveWindow(const WindowSpec& spec, const DicomInstanceInfo& info, const Image& frame) {
  if (spec.kind != WindowSpec::Kind::kFile) return spec.window;
  if (info.window) return *info.window;
  float lo = std::numeric_limits<float>::max();
  float hi = std::numeric_limits<float>::lowest();
  const float* p = frame.pixels<float>();
  const size_t n = static_cast<size_t>(frame.width) * frame.height * frame.channels;
  for (size_t i = 0; i < n; ++i) {
    lo = std::min(lo, p[i]);
    hi = std::max(hi, p[i]);
  }
  if (n == 0) return VoiWindow{0, 1};
  return VoiWindow{(static_cast<double>(lo) + hi) / 2, std::max(1.0, static_cast<double>(hi) - lo)};
}

Image ApplyWindow(const Image& frame, VoiWindow window, bool invert) {
  Image out = MakeImage(frame.width, frame.height, 1, PixelType::kUInt8);
  const float* src = frame.pixels<float>();
  uint8_t* dst = out.pixels<uint8_t>();
  const double c = window.center;
  const double w = std::max(1.0, window.width);
  const double low = c - 0.5 - (w - 1) / 2;
  const double high = c - 0.5 + (w - 1) / 2;
  const size_t n = static_cast<size_t>(frame.width) * frame.height;
  for (size_t i = 0; i < n; ++i) {
    const double x = src[i];
    double y;
    if (x <= low) {
      y = 0;
    } else if (x > high) {
      y = 255;
    } else {
      y = w > 1 ? ((x - (c - 0.5)) / (w - 1) + 0.5) * 255 : 255;
    }
    const int level = static_cast<int>(std::lround(std::clamp(y, 0.0, 255.0)));
    dst[i] = static_cast<uint8_t>(invert ? 255 - level : level);
  }
  return out;
}

Image DisplayFrame(const DicomPixels& pixels, int index, const WindowSpec& spec) {
  const Image& frame = pixels.frames[static_cast<size_t>(index)];
  if (frame.channels == 1) {
    return ApplyWindow(frame, ResolveWindow(spec, pixels.info, frame), pixels.info.monochrome1());
  }
  Image out = MakeImage(frame.width, frame.height, frame.channels, PixelType::kUInt8);
  const int bits = std::clamp(pixels.info.bits_stored, 1, 32);
  const double scale = bits <= 8 ? 1.0 : 255.0 / (std::ldexp(1.0, bits) - 1);
  const float* src = frame.pixels<float>();
  uint8_t* dst = out.pixels<uint8_t>();
  const size_t n = static_cast<size_t>(frame.width) * frame.height * frame.channels;
  for (size_t i = 0; i < n; ++i) {
    dst[i] = static_cast<uint8_t>(std::lround(std::clamp(src[i] * scale, 0.0, 255.0)));
  }
  return out;
}

}  // namespace infera
