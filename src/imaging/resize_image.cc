#include "imaging/resize_image.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "common/strings.h"
#include "imaging/resize.h"

namespace infera {

namespace {

Image ResizeNearest(const Image& image, int width, int height) {
  Image out = MakeImage(width, height, image.channels, image.type);
  const AxisTaps xs = NearestTaps(image.width, width);
  const AxisTaps ys = NearestTaps(image.height, height);
  const size_t pixel_bytes = static_cast<size_t>(image.channels) * PixelTypeSize(image.type);
  const size_t src_row = image.row_bytes();
  const size_t dst_row = out.row_bytes();
  for (int y = 0; y < height; ++y) {
    const std::byte* src = image.data.data() + static_cast<size_t>(ys.index0[y]) * src_row;
    std::byte* dst = out.data.data() + static_cast<size_t>(y) * dst_row;
    if (y > 0 && ys.index0[y] == ys.index0[y - 1]) {  // same source row: copy the output row
      std::memcpy(dst, dst - dst_row, dst_row);
      continue;
    }
    for (int x = 0; x < width; ++x) {
      std::memcpy(dst + static_cast<size_t>(x) * pixel_bytes,
                  src + static_cast<size_t>(xs.index0[x]) * pixel_bytes, pixel_bytes);
    }
  }
  return out;
}

template <typename T>
void ResizeBilinearTyped(const Image& image, Image* out) {
  const AxisTaps xs = BilinearTaps(image.width, out->width);
  const AxisTaps ys = BilinearTaps(image.height, out->height);
  const int channels = image.channels;
  const size_t row_samples = static_cast<size_t>(image.width) * channels;
  const size_t row_len = static_cast<size_t>(out->width) * channels;
  const T* src = image.pixels<T>();
  T* dst = out->pixels<T>();
  std::vector<float> scratch;
  ResampleRows(
      ys, row_len, &scratch,
      [&](int r, float* row) {
        ResampleRow(
            src + static_cast<size_t>(r) * row_samples, static_cast<size_t>(channels), xs, channels,
            [](const T* p, int c) { return static_cast<float>(p[c]); }, row);
      },
      [&](int y, const float* row) {
        T* d = dst + static_cast<size_t>(y) * row_len;
        if constexpr (std::is_same_v<T, float>) {
          std::memcpy(d, row, row_len * sizeof(float));
        } else {
          constexpr float kMax = static_cast<float>(std::numeric_limits<T>::max());
          for (size_t i = 0; i < row_len; ++i) {
            d[i] = static_cast<T>(std::clamp(std::nearbyint(row[i]), 0.0f, kMax));
          }
        }
      });
}

}  // namespace

StatusOr<Image> ResizeImage(const Image& image, int width, int height,
                            Interpolation interpolation) {
  if (image.width <= 0 || image.height <= 0 || image.channels <= 0) {
    return absl::InvalidArgumentError("cannot resize an empty image");
  }
  if (image.data.size() != image.row_bytes() * static_cast<size_t>(image.height)) {
    return absl::InvalidArgumentError("image data size does not match its geometry");
  }
  if (width <= 0 || height <= 0 ||
      static_cast<int64_t>(width) * height > kMaxResizePixels / image.channels) {
    return absl::InvalidArgumentError(
        StrCat("cannot resize to ", width, "x", height, " with ", image.channels, " channels"));
  }
  if (width == image.width && height == image.height) {
    Image copy = image;
    copy.pages = 1;
    return copy;
  }
  if (interpolation == Interpolation::kNearest) return ResizeNearest(image, width, height);
  Image out = MakeImage(width, height, image.channels, image.type);
  switch (image.type) {
    case PixelType::kUInt8:
      ResizeBilinearTyped<uint8_t>(image, &out);
      break;
    case PixelType::kUInt16:
      ResizeBilinearTyped<uint16_t>(image, &out);
      break;
    case PixelType::kFloat32:
      ResizeBilinearTyped<float>(image, &out);
      break;
  }
  return out;
}

}  // namespace infera
