// Internal to the imaging module: the per-format decoders behind DecodeImage and the
// size check they all run before allocating pixels. Not for use outside src/imaging.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/status.h"
#include "imaging/codec.h"
#include "imaging/image.h"

namespace infera::imaging_internal {

// CheckDecodedSize: OK when a page of width x height pixels with `channels` samples of
// `type` is non-empty, fits an Image (int dimensions) and is within `limits`;
// InvalidArgument naming `format` ("PNG", ...) otherwise. Overflow-safe for any inputs.
Status CheckDecodedSize(std::string_view format, int64_t width, int64_t height, int64_t channels,
                        PixelType type, const DecodeLimits& limits);

// The decoders: each expects bytes of its own format (see DetectImageFormat) and has
// DecodeImage's contract. DecodePng tries DecodePngFast (imaging/png_fast_decode.h) and
// falls back to DecodePngLibpng, the libpng decoder, for everything it does not return.
StatusOr<Image> DecodePngLibpng(std::span<const std::byte> bytes, const DecodeLimits& limits);
StatusOr<Image> DecodePng(std::span<const std::byte> bytes, const DecodeLimits& limits);
StatusOr<Image> DecodeJpeg(std::span<const std::byte> bytes, const DecodeLimits& limits);
StatusOr<Image> DecodeTiff(std::span<const std::byte> bytes, const DecodeLimits& limits);

}  // namespace infera::imaging_internal
