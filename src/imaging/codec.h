// Image codecs: PNG (libdeflate for the common PNGs, libpng for the rest), JPEG
// (libjpeg-turbo's TurboJPEG API), TIFF (libtiff).
// Decoding for all three; encoding for PNG and TIFF.
//
// Decoding untrusted bytes: every failure (truncated, corrupt, unsupported) is an
// InvalidArgument Status with a reason; an image whose pixel count exceeds
// limits.max_pixels is refused *before* its pixels are allocated (ResourceExhausted
// is not used here: a too-large image is the caller's input error -> InvalidArgument).
// Never throws, never aborts. Thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "imaging/image.h"

namespace infera {

enum class ImageFormat { kUnknown, kPng, kJpeg, kTiff };

// Sniffs the format from magic bytes.
ImageFormat DetectImageFormat(std::span<const std::byte> bytes);
std::string_view ImageFormatName(ImageFormat format);  // "png", "jpeg", "tiff", "unknown"

struct DecodeLimits {
  int64_t max_pixels = 100'000'000;  // width * height of one page
  // Decoded bytes of one page (width * height * channels * sample size); guards
  // against TIFFs with very many samples per pixel.
  int64_t max_bytes = 2'000'000'000;
};

// Decodes the first page of a PNG (1/2/4/8/16-bit gray, gray+alpha, palette, RGB,
// RGBA; 1/2/4-bit and palette are expanded to 8-bit), JPEG (gray or RGB; CMYK refused)
// or TIFF (8/16-bit unsigned, 32-bit float, 1..N channels, contiguous or planar,
// strips or tiles; `pages` is set to the directory count). TIFF details: MINISWHITE
// grey is inverted to MINISBLACK; 8-bit palette images are expanded to 8-bit RGB;
// JPEG-compressed YCbCr is converted to RGB; CMYK, Lab, signed integer, 1/2/4/12-bit
// and other sample layouts are refused. A JPEG whose data ends early is refused; other
// libjpeg warnings (e.g. extraneous bytes) are tolerated, as most viewers do.
// The first TIFF decoded silences libtiff's process-wide stderr handlers (errors are
// captured per handle and returned in the Status instead).
StatusOr<Image> DecodeImage(std::span<const std::byte> bytes, const DecodeLimits& limits = {});

// Encodes 8- or 16-bit images with 1-4 channels as PNG. InvalidArgument otherwise.
StatusOr<std::vector<std::byte>> EncodePng(const Image& image);

// Encodes any Image (8/16-bit unsigned or 32-bit float samples, 1..N channels) as a
// single-page TIFF that DecodeImage reads back sample for sample: contiguous
// (interleaved) samples in strips, Deflate-compressed (uncompressed when this libtiff
// lacks zlib); 8/16-bit images with 3 or 4 channels are written as RGB (the 4th channel
// as unassociated alpha), everything else as MINISBLACK with the channels after the
// first as unspecified extra samples. Images over 2 GiB are written as BigTIFF.
// InvalidArgument for an empty image or a data size that does not match the geometry;
// Internal when libtiff fails. Thread-safe.
StatusOr<std::vector<std::byte>> EncodeTiff(const Image& image);

}  // namespace infera
