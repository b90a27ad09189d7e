// Format sniffing, the decode dispatcher and the shared size check. The codecs
// themselves live in png_codec.cc, jpeg_codec.cc and tiff_codec.cc.
#include "imaging/codec.h"

#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "imaging/codec_internal.h"

namespace infera {

namespace {

bool StartsWith(std::span<const std::byte> bytes, std::initializer_list<uint8_t> magic) {
  if (bytes.size() < magic.size()) return false;
  size_t i = 0;
  for (uint8_t b : magic) {
    if (std::to_integer<uint8_t>(bytes[i++]) != b) return false;
  }
  return true;
}

}  // namespace

ImageFormat DetectImageFormat(std::span<const std::byte> bytes) {
  if (StartsWith(bytes, {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A})) return ImageFormat::kPng;
  if (StartsWith(bytes, {0xFF, 0xD8, 0xFF})) return ImageFormat::kJpeg;
  // Classic TIFF (42) and BigTIFF (43), little- and big-endian.
  if (StartsWith(bytes, {'I', 'I', 42, 0}) || StartsWith(bytes, {'M', 'M', 0, 42}) ||
      StartsWith(bytes, {'I', 'I', 43, 0}) || StartsWith(bytes, {'M', 'M', 0, 43})) {
    return ImageFormat::kTiff;
  }
  return ImageFormat::kUnknown;
}

std::string_view ImageFormatName(ImageFormat format) {
  switch (format) {
    case ImageFormat::kPng:
      return "png";
    case ImageFormat::kJpeg:
      return "jpeg";
    case ImageFormat::kTiff:
      return "tiff";
    case ImageFormat::kUnknown:
      break;
  }
  return "unknown";
}

StatusOr<Image> DecodeImage(std::span<const std::byte> bytes, const DecodeLimits& limits) {
  if (bytes.empty()) return absl::InvalidArgumentError("empty image data");
  if (limits.max_pixels <= 0 || limits.max_bytes <= 0) {
    return absl::InvalidArgumentError("decode limits must be positive");
  }
  switch (DetectImageFormat(bytes)) {
    case ImageFormat::kPng:
      return imaging_internal::DecodePng(bytes, limits);
    case ImageFormat::kJpeg:
      return imaging_internal::DecodeJpeg(bytes, limits);
    case ImageFormat::kTiff:
      return imaging_internal::DecodeTiff(bytes, limits);
    case ImageFormat::kUnknown:
      break;
  }
  return absl::InvalidArgumentError("unrecognised image format (expected PNG, JPEG or TIFF)");
}

namespace imaging_internal {

Status CheckDecodedSize(std::string_view format, int64_t width, int64_t height, int64_t channels,
                        PixelType type, const DecodeLimits& limits) {
  if (width <= 0 || height <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("corrupt ", std::string(format), ": image has zero width or height"));
  }
  if (channels <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("corrupt ", std::string(format), ": no samples per pixel"));
  }
  constexpr int64_t kMaxDim = std::numeric_limits<int>::max();
  // width <= max_pixels / height  <=>  width * height <= max_pixels, without overflow.
  if (width > kMaxDim || height > kMaxDim || width > limits.max_pixels / height) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(format), " image of ", width, "x",
                                                   height, " pixels exceeds the limit of ",
                                                   limits.max_pixels, " pixels"));
  }
  const int64_t pixels = width * height;
  const int64_t sample_bytes = static_cast<int64_t>(PixelTypeSize(type));
  if (channels > kMaxDim || channels > limits.max_bytes / sample_bytes / pixels) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(format), " image of ", width, "x", height, " pixels with ",
                     channels, " channels exceeds the limit of ", limits.max_bytes, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace imaging_internal

}  // namespace infera
