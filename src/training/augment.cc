#include "training/augment.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "imaging/resize_image.h"

namespace infera {

namespace {

// Copies pixel (sx, sy) of `src` to (dx, dy) of `dst` (same type and channels).
inline void CopyPixel(const Image& src, int sx, int sy, Image& dst, int dx, int dy) {
  const size_t px = static_cast<size_t>(src.channels) * PixelTypeSize(src.type);
  std::memcpy(dst.data.data() + static_cast<size_t>(dy) * dst.row_bytes() + dx * px,
              src.data.data() + static_cast<size_t>(sy) * src.row_bytes() + sx * px, px);
}

// Per channel: v -> v * gain + bias * (the channel's largest sample), clamped to the
// type's range. The shift is relative to the channel's own brightness, so a dim 16-bit
// image is not pushed into saturation; a constant channel (e.g. an empty nucleus channel)
// is left alone, so that it stays a blank channel for the runner's normalisation.
template <typename T>
void Jitter(Image& image, double gain, double bias) {
  T* p = image.pixels<T>();
  const size_t channels = static_cast<size_t>(image.channels);
  const size_t n = image.data.size() / sizeof(T) / channels;
  const double max = image.max_value();
  for (size_t c = 0; c < channels; ++c) {
    double top = static_cast<double>(p[c]), bottom = top;
    for (size_t i = 0; i < n; ++i) {
      top = std::max(top, static_cast<double>(p[i * channels + c]));
      bottom = std::min(bottom, static_cast<double>(p[i * channels + c]));
    }
    if (!(top > bottom)) continue;
    for (size_t i = 0; i < n; ++i) {
      double v = static_cast<double>(p[i * channels + c]) * gain + bias * top;
      if constexpr (!std::is_floating_point_v<T>) v = std::clamp(std::round(v), 0.0, max);
      p[i * channels + c] = static_cast<T>(v);
    }
  }
}

}  // namespace

double UniformUnit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

Image FlipLeftRight(const Image& image) {
  Image out = MakeImage(image.width, image.height, image.channels, image.type);
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) CopyPixel(image, image.width - 1 - x, y, out, x, y);
  }
  return out;
}

Image FlipUpDown(const Image& image) {
  Image out = MakeImage(image.width, image.height, image.channels, image.type);
  for (int y = 0; y < image.height; ++y) {
    std::memcpy(out.data.data() + static_cast<size_t>(y) * out.row_bytes(),
                image.data.data() + static_cast<size_t>(image.height - 1 - y) * image.row_bytes(),
                image.row_bytes());
  }
  return out;
}

Image Rotate90(const Image& image, int quarter_turns) {
  quarter_turns = ((quarter_turns % 4) + 4) % 4;
  if (quarter_turns == 0) return image;
  if (quarter_turns == 2) return FlipUpDown(FlipLeftRight(image));
  // One counter-clockwise quarter turn: out(x', y') with x' = y, y' = W - 1 - x.
  Image out = MakeImage(image.height, image.width, image.channels, image.type);
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) CopyPixel(image, x, y, out, y, image.width - 1 - x);
  }
  return quarter_turns == 1 ? out : FlipUpDown(FlipLeftRight(out));
}

Image Crop(const Image& image, int x, int y, int width, int height) {
  Image out = MakeImage(width, height, image.channels, image.type);
  const size_t px = static_cast<size_t>(image.channels) * PixelTypeSize(image.type);
  for (int r = 0; r < height; ++r) {
    std::memcpy(out.data.data() + static_cast<size_t>(r) * out.row_bytes(),
                image.data.data() + static_cast<size_t>(y + r) * image.row_bytes() + x * px,
                out.row_bytes());
  }
  return out;
}

StatusOr<std::pair<Image, Image>> Augment(const Image& image, const Image& mask,
                                          std::mt19937_64& rng) {
  if (image.width <= 0 || image.height <= 0) {
    return absl::InvalidArgumentError("cannot augment an empty image");
  }
  const bool has_mask = mask.width > 0;
  if (has_mask && (mask.width != image.width || mask.height != image.height)) {
    return absl::InvalidArgumentError("the mask's size differs from the image's");
  }
  Image img = image, msk = mask;
  img.pages = 1;
  // Every draw is made whether or not its step applies, so that one sample's draws do not
  // depend on its size (the stream stays in step across images).
  const double crop_p = UniformUnit(rng), s = 0.75 + 0.25 * UniformUnit(rng);
  const double ux = UniformUnit(rng), uy = UniformUnit(rng);
  if (crop_p < 0.5) {
    const int w = std::max(1, static_cast<int>(std::lround(s * img.width)));
    const int h = std::max(1, static_cast<int>(std::lround(s * img.height)));
    const int x = static_cast<int>(ux * (img.width - w + 1));
    const int y = static_cast<int>(uy * (img.height - h + 1));
    ASSIGN_OR_RETURN(img, ResizeImage(Crop(img, x, y, w, h), image.width, image.height,
                                      Interpolation::kBilinear));
    if (has_mask) {
      ASSIGN_OR_RETURN(msk, ResizeImage(Crop(msk, x, y, w, h), image.width, image.height,
                                        Interpolation::kNearest));
    }
  }
  if (UniformUnit(rng) < 0.5) {
    img = FlipLeftRight(img);
    if (has_mask) msk = FlipLeftRight(msk);
  }
  if (UniformUnit(rng) < 0.5) {
    img = FlipUpDown(img);
    if (has_mask) msk = FlipUpDown(msk);
  }
  int turns = static_cast<int>(UniformUnit(rng) * 4);
  if (img.width != img.height) turns &= 2;  // keep the size: 0 or 2
  img = Rotate90(img, turns);
  if (has_mask) msk = Rotate90(msk, turns);
  const double gain = 0.8 + 0.4 * UniformUnit(rng), bias = -0.1 + 0.2 * UniformUnit(rng);
  switch (img.type) {
    case PixelType::kUInt8:
      Jitter<uint8_t>(img, gain, bias);
      break;
    case PixelType::kUInt16:
      Jitter<uint16_t>(img, gain, bias);
      break;
    case PixelType::kFloat32:
      Jitter<float>(img, gain, bias);
      break;
  }
  return std::make_pair(std::move(img), std::move(msk));
}

}  // namespace infera
