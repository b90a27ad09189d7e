// Image: decoded pixels in host memory, interleaved (HWC), row-major.
//
// Pixel types cover what microscopy and medical images carry: 8-bit, 16-bit unsigned
// and 32-bit float samples, with 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA) or more
// channels. Channel order of 3/4-channel images is always RGB(A) after decoding.
// Value type; not thread-safe for concurrent mutation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace infera {

enum class PixelType { kUInt8, kUInt16, kFloat32 };

// Bytes of one sample of the given type.
size_t PixelTypeSize(PixelType type);

struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  PixelType type = PixelType::kUInt8;
  // Number of pages (frames) in the source file; the Image holds the first one.
  int pages = 1;
  // width * height * channels samples, interleaved, row-major.
  std::vector<std::byte> data;

  size_t row_bytes() const { return static_cast<size_t>(width) * channels * PixelTypeSize(type); }
  // Largest representable value (255, 65535, or 1.0 for float images).
  double max_value() const;
  template <typename T>
  T* pixels() {
    return reinterpret_cast<T*>(data.data());
  }
  template <typename T>
  const T* pixels() const {
    return reinterpret_cast<const T*>(data.data());
  }
};

// An empty (zeroed) image of the given geometry.
Image MakeImage(int width, int height, int channels, PixelType type);

// `image` placed at the top-left corner of a zeroed `width` x `height` image of its type
// and channels, cut where it does not fit (so this also crops). Requires positive sides.
Image PlaceTopLeft(const Image& image, int width, int height);

}  // namespace infera
