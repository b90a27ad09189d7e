// Internal to the imaging module: a PNG decoder on libdeflate for the common PNGs —
// non-interlaced 8- or 16-bit gray, gray+alpha, RGB or RGBA without tRNS or PLTE, and
// 8-bit palette (to RGB, or RGBA with a tRNS) — used by DecodePng before libpng
// (imaging/png_codec.cc), which handles everything else.
// Not for use outside src/imaging.
//
// Why: libpng's per-row calls and transforms and zlib's inflate and Adler-32 were the top
// user-space items of a served /predict outside the engine (docs/PERFORMANCE.md, "PNG
// decode on libdeflate"). This decoder walks the chunks, checks every CRC it reads,
// inflates the IDAT stream in one call (libdeflate also checks the Adler-32) into the
// Image's own buffer and unfilters the rows in place.
#pragma once

#include <cstddef>
#include <span>

#include "common/status.h"
#include "imaging/codec.h"
#include "imaging/image.h"

namespace infera::imaging_internal {

// Decodes `bytes` (a whole PNG file) when it is within the subset above.
// - OK: an Image identical to what the libpng path (DecodePngLibpng) returns for the same
//   bytes: channels 1-4 as stored (a palette image as RGB, RGBA with a tRNS; indexes
//   past the palette black, past the tRNS opaque), kUInt8 or kUInt16, 16-bit samples
//   in host order.
// - Unimplemented: a PNG outside the subset (bit depth < 8, 16-bit palette, interlaced,
//   a tRNS or PLTE in a non-palette image, a PLTE or tRNS that libpng ignores or
//   refuses: missing, duplicated, out of order, bad length), an unknown critical chunk,
//   a side over libpng's 1,000,000-pixel limit, a chunk over libpng's default 8 MB chunk
//   limit, a zlib window smaller than the image data; the libpng path decides.
// - InvalidArgument: truncated or corrupt (bad CRC of any chunk read, bad zlib data or
//   Adler-32, a stream that inflates to more or fewer bytes than height * (1 + row
//   bytes), data after the stream's end, a bad filter type), or over `limits` (checked
//   from the chunks before the image data, before any pixel is allocated). Some of these libpng
//   tolerates (an ancillary chunk's CRC, a longer stream, an Adler-32 it meets only after the last
//   row), so DecodePng hands every non-OK result to libpng, which gives today's verdict and message
//   (but see EndsInsideAncillaryChunk).
// Reads only within `bytes`. Thread-safe: each thread keeps its own libdeflate
// decompressor (thread_local).
StatusOr<Image> DecodePngFast(std::span<const std::byte> bytes, const DecodeLimits& limits);

// True when `bytes` (a PNG file) ends inside an ancillary chunk before the image data,
// after a valid IHDR and complete ancillary chunks. libpng would allocate that chunk's declared
// length (up to 2 GiB, and touch it: a 54-byte PNG declaring a 1.6 GB tEXt chunk took 1.7 GB of
// RSS) before finding the end of the data, and then fail with "unexpected end of data", so
// DecodePng returns that error without calling libpng. Reads only within `bytes`; thread-safe.
bool EndsInsideAncillaryChunk(std::span<const std::byte> bytes);

}  // namespace infera::imaging_internal
