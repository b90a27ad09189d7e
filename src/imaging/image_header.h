// ImageHeader: what the first bytes of an encoded image say — its format and, where the
// header holds them, its dimensions — read before anything is decoded or even read
// whole, so that an upload (or a ZIP entry) that is not an image, or that declares more
// pixels than allowed, is refused from its first kilobytes (decompression bombs).
//
// PNG: the IHDR chunk (bytes 16..23). JPEG: the first SOFn segment found by walking the
// markers within the bytes given. TIFF: the first IFD's ImageWidth/ImageLength when the
// IFD lies within the bytes given (classic TIFF only; BigTIFF dimensions are left
// unknown). Unknown dimensions are not an error: the decoder checks them again.
// Pure; thread-safe; never reads past `bytes`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/status.h"
#include "imaging/codec.h"

namespace infera {

struct ImageHeader {
  ImageFormat format = ImageFormat::kUnknown;
  int64_t width = 0;   // 0: not known from these bytes
  int64_t height = 0;  // 0: not known from these bytes
  bool dimensions_known() const { return width > 0 && height > 0; }
};

// The header facts found in `bytes` (a prefix of the file, or all of it).
ImageHeader ReadImageHeader(std::span<const std::byte> bytes);

// The bytes ReadImageHeader needs to see for a usual file (PNG always; JPEG unless
// large metadata comes first; TIFF when the first IFD is near the start).
inline constexpr size_t kImageHeaderProbeBytes = size_t{64} * 1024;

// CheckImageHeader refuses, with InvalidArgument and a reason for the user, bytes that
// are not a PNG, JPEG or TIFF, and declared dimensions of zero or over
// limits.max_pixels. Returns the header otherwise (dimensions possibly unknown).
StatusOr<ImageHeader> CheckImageHeader(std::span<const std::byte> bytes,
                                       const DecodeLimits& limits);

}  // namespace infera
