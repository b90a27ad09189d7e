#include "imaging/image.h"

#include <algorithm>
#include <cstring>

namespace infera {

size_t PixelTypeSize(PixelType type) {
  switch (type) {
    case PixelType::kUInt8:
      return 1;
    case PixelType::kUInt16:
      return 2;
    case PixelType::kFloat32:
      return 4;
  }
  return 1;  // unreachable: every enumerator is handled above
}

double Image::max_value() const {
  switch (type) {
    case PixelType::kUInt8:
      return 255.0;
    case PixelType::kUInt16:
      return 65535.0;
    case PixelType::kFloat32:
      return 1.0;
  }
  return 1.0;  // unreachable
}

Image MakeImage(int width, int height, int channels, PixelType type) {
  Image image;
  image.width = width;
  image.height = height;
  image.channels = channels;
  image.type = type;
  if (width > 0 && height > 0 && channels > 0) {
    image.data.resize(static_cast<size_t>(width) * static_cast<size_t>(height) *
                      static_cast<size_t>(channels) * PixelTypeSize(type));
  }
  return image;
}

Image PlaceTopLeft(const Image& image, int width, int height) {
  Image out = MakeImage(width, height, image.channels, image.type);
  out.pages = image.pages;
  const size_t pixel = static_cast<size_t>(image.channels) * PixelTypeSize(image.type);
  const size_t row = static_cast<size_t>(std::min(width, image.width)) * pixel;
  const int rows = std::min(height, image.height);
  for (int y = 0; y < rows; ++y) {
    std::memcpy(out.data.data() + static_cast<size_t>(y) * out.row_bytes(),
                image.data.data() + static_cast<size_t>(y) * image.row_bytes(), row);
  }
  return out;
}

}  // namespace infera
