// LabelImage and FlowField: the plain 2-D arrays Cellpose's mask reconstruction reads and
// writes, so a runner can fill them straight from model outputs.
//
// Conventions (Cellpose's): row-major, axis 0 = Y. A LabelImage holds one label per pixel,
// 0 = background, any other value names one object (values need not be consecutive unless
// a function says so). A FlowField holds the two flow components dY (down the rows) and dX
// (along a row) per pixel. Plain values; not thread-safe for concurrent mutation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/status.h"

namespace infera::cellpose {

// The largest height or width accepted by the functions of src/cellpose/: positions are
// float32 and must hold every pixel coordinate exactly.
inline constexpr int kMaxSide = 1 << 24;
// The largest pixel count accepted: pixel indices are uint32.
inline constexpr int64_t kMaxPixels = int64_t{1} << 31;

struct LabelImage {
  int height = 0;
  int width = 0;
  // height * width labels, row-major; 0 = background.
  std::vector<uint32_t> labels;

  // height * width.
  size_t size() const { return static_cast<size_t>(height) * static_cast<size_t>(width); }
  uint32_t at(int y, int x) const { return labels[static_cast<size_t>(y) * width + x]; }
};

// A zero (all background) LabelImage of the given size; the caller checks the size.
LabelImage MakeLabelImage(int height, int width);

struct FlowField {
  int height = 0;
  int width = 0;
  // height * width values each, row-major: the flow along Y and along X.
  std::vector<float> dy;
  std::vector<float> dx;

  size_t size() const { return static_cast<size_t>(height) * static_cast<size_t>(width); }
};

// A zero FlowField of the given size; the caller checks the size.
FlowField MakeFlowField(int height, int width);

// OK when 1 <= height, width <= kMaxSide, height * width <= kMaxPixels; otherwise
// InvalidArgument naming `what` and the size.
Status ValidateSize(int height, int width, const char* what);

// OK when the size is valid (ValidateSize) and `labels` holds height * width values;
// otherwise InvalidArgument.
Status ValidateLabelImage(const LabelImage& image);

// OK when the size is valid (ValidateSize) and dy and dx hold height * width values each;
// otherwise InvalidArgument. Values are not checked (callers say how they treat NaN).
Status ValidateFlowField(const FlowField& flows);

}  // namespace infera::cellpose
