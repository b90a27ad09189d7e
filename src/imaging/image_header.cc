#include "imaging/image_header.h"

#include "common/strings.h"

namespace infera {

namespace {

uint32_t Be16(std::span<const std::byte> b, size_t at) {
  return (std::to_integer<uint32_t>(b[at]) << 8) | std::to_integer<uint32_t>(b[at + 1]);
}
uint32_t Be32(std::span<const std::byte> b, size_t at) {
  return (Be16(b, at) << 16) | Be16(b, at + 2);
}
uint32_t Le16(std::span<const std::byte> b, size_t at) {
  return (std::to_integer<uint32_t>(b[at + 1]) << 8) | std::to_integer<uint32_t>(b[at]);
}
uint32_t Le32(std::span<const std::byte> b, size_t at) {
  return (Le16(b, at + 2) << 16) | Le16(b, at);
}

void ReadPng(std::span<const std::byte> b, ImageHeader* h) {
  // Signature (8), IHDR length (4) and type (4), then width and height.
  if (b.size() < 24 || Be32(b, 12) != 0x49484452) return;  // "IHDR"
  h->width = Be32(b, 16);
  h->height = Be32(b, 20);
}

void ReadJpeg(std::span<const std::byte> b, ImageHeader* h) {
  size_t at = 2;  // after SOI
  while (at + 4 <= b.size()) {
    if (std::to_integer<uint8_t>(b[at]) != 0xFF) return;  // lost sync: leave it to the decoder
    const uint8_t marker = std::to_integer<uint8_t>(b[at + 1]);
    if (marker == 0xFF) {  // fill byte
      ++at;
      continue;
    }
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
      at += 2;  // markers without a length
      continue;
    }
    if (marker == 0xD9 || marker == 0xDA) return;  // EOI, or SOS before any SOF
    const size_t length = Be16(b, at + 2);
    const bool sof =
        marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      if (at + 9 > b.size() || length < 7) return;
      h->height = Be16(b, at + 5);
      h->width = Be16(b, at + 7);
      return;
    }
    if (length < 2) return;
    at += 2 + length;
  }
}

void ReadTiff(std::span<const std::byte> b, ImageHeader* h) {
  if (b.size() < 8) return;
  const bool little = std::to_integer<uint8_t>(b[0]) == 'I';
  auto u16 = [&](size_t at) { return little ? Le16(b, at) : Be16(b, at); };
  auto u32 = [&](size_t at) { return little ? Le32(b, at) : Be32(b, at); };
  if (u16(2) != 42) return;  // BigTIFF (43): dimensions left to the decoder
  const size_t ifd = u32(4);
  if (ifd < 8 || ifd + 2 > b.size()) return;
  const size_t count = u16(ifd);
  for (size_t i = 0; i < count; ++i) {
    const size_t entry = ifd + 2 + 12 * i;
    if (entry + 12 > b.size()) return;
    const uint32_t tag = u16(entry);
    const uint32_t type = u16(entry + 2);
    if (tag != 256 && tag != 257) continue;
    int64_t value = 0;
    if (type == 3) {  // SHORT, left-justified in the value field
      value = u16(entry + 8);
    } else if (type == 4) {  // LONG
      value = u32(entry + 8);
    } else {
      continue;
    }
    (tag == 256 ? h->width : h->height) = value;
  }
}

}  // namespace

ImageHeader ReadImageHeader(std::span<const std::byte> bytes) {
  ImageHeader h;
  h.format = DetectImageFormat(bytes);
  switch (h.format) {
    case ImageFormat::kPng:
      ReadPng(bytes, &h);
      break;
    case ImageFormat::kJpeg:
      ReadJpeg(bytes, &h);
      break;
    case ImageFormat::kTiff:
      ReadTiff(bytes, &h);
      break;
    case ImageFormat::kUnknown:
      break;
  }
  return h;
}

StatusOr<ImageHeader> CheckImageHeader(std::span<const std::byte> bytes,
                                       const DecodeLimits& limits) {
  const ImageHeader h = ReadImageHeader(bytes);
  if (h.format == ImageFormat::kUnknown) {
    return absl::InvalidArgumentError("not an image (PNG, JPEG or TIFF expected)");
  }
  const bool png = h.format == ImageFormat::kPng;
  if (png && bytes.size() >= 24 && (h.width == 0 || h.height == 0)) {
    return absl::InvalidArgumentError("the png declares an empty image (0 pixels)");
  }
  // width * height > max_pixels, without the product: PNG and TIFF declare up to 2^32 - 1
  // each, whose product overflows int64 (found by fuzz/targets/image_header.cc).
  if (h.dimensions_known() && h.width > limits.max_pixels / h.height) {
    return absl::InvalidArgumentError(
        StrCat("the ", ImageFormatName(h.format), " declares ", h.width, " x ", h.height,
               " pixels, over the limit of ", limits.max_pixels, " pixels per image"));
  }
  return h;
}

}  // namespace infera
