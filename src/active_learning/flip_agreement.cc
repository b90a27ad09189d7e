#include "active_learning/flip_agreement.h"

#include <cmath>
#include <cstring>

namespace infera {

Image Flip(const Image& image, FlipAxis axis) {
  Image out = image;
  const size_t pixel = static_cast<size_t>(image.channels) * PixelTypeSize(image.type);
  const size_t row = image.row_bytes();
  const int w = image.width;
  const int h = image.height;
  if (w <= 0 || h <= 0 || image.data.size() < row * static_cast<size_t>(h)) return out;
  const std::byte* src = image.data.data();
  std::byte* dst = out.data.data();
  for (int y = 0; y < h; ++y) {
    if (axis == FlipAxis::kVertical) {
      std::memcpy(dst + static_cast<size_t>(h - 1 - y) * row, src + static_cast<size_t>(y) * row,
                  row);
      continue;
    }
    const std::byte* s = src + static_cast<size_t>(y) * row;
    std::byte* d = dst + static_cast<size_t>(y) * row;
    for (int x = 0; x < w; ++x) {
      std::memcpy(d + static_cast<size_t>(w - 1 - x) * pixel, s + static_cast<size_t>(x) * pixel,
                  pixel);
    }
  }
  return out;
}

StatusOr<double> MeanAbsoluteDifference(const Image& a, const Image& b) {
  if (a.type != PixelType::kFloat32 || b.type != PixelType::kFloat32) {
    return absl::InvalidArgumentError("probabilities must be float32 images");
  }
  if (a.width != b.width || a.height != b.height || a.channels != b.channels) {
    return absl::InvalidArgumentError("the flipped prediction's size differs from the image's");
  }
  const size_t n = static_cast<size_t>(a.width) * a.height * a.channels;
  if (a.width <= 0 || a.height <= 0 || a.channels <= 0 || a.data.size() < n * sizeof(float) ||
      b.data.size() < n * sizeof(float)) {
    return absl::InvalidArgumentError("probabilities must have pixels and channels");
  }
  const float* pa = a.pixels<float>();
  const float* pb = b.pixels<float>();
  double total = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double d = std::fabs(static_cast<double>(pa[i]) - static_cast<double>(pb[i]));
    if (std::isfinite(d)) total += d;
  }
  return total / static_cast<double>(n);
}

StatusOr<double> FlipDisagreement(const Image& base, const std::vector<Image>& flipped_back) {
  if (flipped_back.empty()) return absl::InvalidArgumentError("no flipped predictions");
  double total = 0.0;
  for (const Image& f : flipped_back) {
    ASSIGN_OR_RETURN(double d, MeanAbsoluteDifference(base, f));
    total += d;
  }
  return total / static_cast<double>(flipped_back.size());
}

}  // namespace infera
