// Label images: an annotation of one image as a one-channel 8- or 16-bit unsigned image
// (0 = background; class ids for semantic sets, instance ids for instance sets), and for
// instance sets each instance's class. The stored form of a mask is its label PNG.
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "imaging/codec.h"
#include "imaging/image.h"

namespace infera {

struct AnnotationMask {
  Image labels;                // 1 channel, kUInt8 or kUInt16
  std::map<int, int> classes;  // instance id -> label id (instance sets; may be empty)
};

// Decodes a label image (PNG or TIFF; one channel, 8- or 16-bit unsigned samples).
// InvalidArgument, saying what the image is, for anything else.
StatusOr<Image> DecodeLabelImage(std::span<const std::byte> bytes, const DecodeLimits& limits);
// Checks that `image` is a label image (as DecodeLabelImage's result).
Status CheckLabelImage(const Image& image);
// The label PNG of a label image (its own bit depth).
StatusOr<std::vector<std::byte>> EncodeLabelPng(const Image& labels);

// A zeroed width x height label image deep enough for `max_label` (8-bit up to 255).
Image MakeLabelImage(int width, int height, int max_label);
// Sample i (row-major) of a label image.
inline int LabelAt(const Image& labels, size_t i) {
  return labels.type == PixelType::kUInt8 ? labels.pixels<uint8_t>()[i]
                                          : labels.pixels<uint16_t>()[i];
}
inline void SetLabel(Image* labels, size_t i, int value) {
  if (labels->type == PixelType::kUInt8) {
    labels->pixels<uint8_t>()[i] = static_cast<uint8_t>(value);
  } else {
    labels->pixels<uint16_t>()[i] = static_cast<uint16_t>(value);
  }
}
// The labels present, ascending, without 0.
std::vector<int> LabelsPresent(const Image& labels);

// One label's bounding box (inclusive) and pixel count.
struct LabelExtent {
  int value = 0;
  int x0 = 0, y0 = 0, x1 = -1, y1 = -1;
  int64_t area = 0;
  int width() const { return x1 - x0 + 1; }
  int height() const { return y1 - y0 + 1; }
};
// Every label present (ascending, without 0) with its extent, from one row-major pass:
// writers that handle one label at a time then read only its box, not the whole image.
std::vector<LabelExtent> LabelExtents(const Image& labels);

// {"<instance id>": label id} and back. InvalidArgument for keys that are not ids in
// 1..65535 or values that are not such integers.
nlohmann::json ClassesJson(const std::map<int, int>& classes);
StatusOr<std::map<int, int>> ParseClassesJson(const nlohmann::json& classes);

}  // namespace infera
