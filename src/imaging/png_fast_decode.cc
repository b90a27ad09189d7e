#include "imaging/png_fast_decode.h"

#include <libdeflate.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "imaging/codec_internal.h"

namespace infera::imaging_internal {

namespace {

constexpr bool kLittleEndian = std::endian::native == std::endian::little;
constexpr uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
constexpr uint32_t kMaxUInt31 = 0x7FFFFFFF;
// libpng's defaults (pnglibconf.h): PNG_USER_WIDTH_MAX / PNG_USER_HEIGHT_MAX, and
// PNG_USER_CHUNK_MALLOC_MAX (Debian's libpng 1.6.39 reads longer ancillary chunks all
// the same: chunks over it are simply left to libpng).
constexpr uint32_t kLibpngMaxSide = 1'000'000;
constexpr uint64_t kLibpngMaxChunk = 8'000'000;

constexpr uint32_t Tag(char a, char b, char c, char d) {
  return (uint32_t{static_cast<uint8_t>(a)} << 24) | (uint32_t{static_cast<uint8_t>(b)} << 16) |
         (uint32_t{static_cast<uint8_t>(c)} << 8) | uint32_t{static_cast<uint8_t>(d)};
}
constexpr uint32_t kIHDR = Tag('I', 'H', 'D', 'R');
constexpr uint32_t kIDAT = Tag('I', 'D', 'A', 'T');
constexpr uint32_t kTRNS = Tag('t', 'R', 'N', 'S');
constexpr uint32_t kPLTE = Tag('P', 'L', 'T', 'E');

uint32_t LoadBE32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string TagName(uint32_t tag) {
  std::string name(4, '?');
  for (int i = 0; i < 4; ++i) {
    const char c = static_cast<char>((tag >> (24 - 8 * i)) & 0xFF);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) name[static_cast<size_t>(i)] = c;
  }
  return name;
}

Status Corrupt(const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("corrupt PNG: ", what));
}
Status NotHandled(const std::string& what) {
  return absl::UnimplementedError(absl::StrCat("PNG left to libpng: ", what));
}

struct Chunk {
  uint32_t type = 0;
  const uint8_t* data = nullptr;
  uint32_t length = 0;
};

// Walks the chunks of a PNG file. Every chunk it returns lies wholly within the file
// and its CRC matched.
class ChunkReader {
 public:
  ChunkReader(const uint8_t* data, size_t size, size_t offset)
      : data_(data), size_(size), offset_(offset) {}

  // True when fewer bytes remain than a chunk header.
  bool AtEnd() const { return size_ - offset_ < 8; }
  // The type of the next chunk; requires !AtEnd().
  uint32_t PeekType() const { return LoadBE32(data_ + offset_ + 4); }

  // Reads the next chunk; `max_length` is the largest length accepted (libpng refuses
  // longer chunks).
  Status Next(uint64_t max_length, Chunk* chunk) {
    if (AtEnd()) return Corrupt("unexpected end of data");
    const uint32_t length = LoadBE32(data_ + offset_);
    const uint32_t type = PeekType();
    for (int shift = 0; shift < 32; shift += 8) {
      const uint8_t c = static_cast<uint8_t>(type >> shift);
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) {
        return Corrupt("invalid chunk type");
      }
    }
    if (length > kMaxUInt31) return Corrupt("PNG unsigned integer out of range");
    if (length > max_length) return NotHandled(absl::StrCat(TagName(type), " chunk over 8 MB"));
    // The type, the data and the CRC: 4 + length + 4 bytes after the length field.
    if (size_ - offset_ - 4 < uint64_t{length} + 8) return Corrupt("unexpected end of data");
    const uint8_t* typed = data_ + offset_ + 4;
    const uint32_t crc = libdeflate_crc32(0, typed, size_t{length} + 4);
    if (crc != LoadBE32(typed + 4 + length))
      return Corrupt(absl::StrCat(TagName(type), ": CRC error"));
    chunk->type = type;
    chunk->data = typed + 4;
    chunk->length = length;
    offset_ += size_t{length} + 12;
    return absl::OkStatus();
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t offset_;
};

// libpng's limit on one IDAT chunk's length (png_check_chunk_length, non-interlaced):
// the uncompressed image plus deflate's worst-case overhead, at least the general limit.
uint64_t IdatLengthLimit(uint64_t width, uint64_t height, uint64_t channels, int bit_depth) {
  uint64_t row_factor = width * channels * (bit_depth > 8 ? 2 : 1) + 1;
  uint64_t limit = height > 0xFFFFFFFFu / row_factor ? kMaxUInt31 : height * row_factor;
  row_factor = std::min<uint64_t>(row_factor, 32566);
  limit += 6 + 5 * (limit / row_factor + 1);
  limit = std::min<uint64_t>(limit, kMaxUInt31);
  return std::max(limit, kLibpngMaxChunk);
}

struct DecompressorDeleter {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

libdeflate_decompressor* ThreadDecompressor() {
  thread_local std::unique_ptr<libdeflate_decompressor, DecompressorDeleter> decompressor(
      libdeflate_alloc_decompressor());
  return decompressor.get();
}

// ---- Unfiltering (PNG spec section 9) ----
//
// Row y's filtered bytes (a filter-type byte, then row_bytes bytes) start at
// buf + y * (row_bytes + 1); its unfiltered bytes go to buf + y * row_bytes, i.e.
// y + 1 bytes lower. Writing out[x] therefore only overwrites bytes of this row's
// filtered data that were already read (or earlier rows'), never the previous
// unfiltered row, so the loops below work in place, front to back. `prev` is the
// previous unfiltered row, nullptr on the first row (a row of zeros).

uint8_t Paeth(int a, int b, int c) {
  const int pa = std::abs(b - c);
  const int pb = std::abs(a - c);
  const int pc = std::abs(a + b - 2 * c);
  return static_cast<uint8_t>((pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c));
}

// One row; row_bytes is a multiple of kBpp. The left pixel (`a`) and the upper-left one
// (`c`) are carried in locals, zeros before the first pixel, so that the serial
// dependency of Sub, Average and Paeth runs through registers, not through the bytes
// just stored.
template <size_t kBpp>
void UnfilterRow(int filter, const uint8_t* src, const uint8_t* prev, uint8_t* out,
                 size_t row_bytes) {
  uint8_t a[kBpp] = {};
  uint8_t c[kBpp] = {};
  switch (filter) {
    case 0:  // None
      std::memmove(out, src, row_bytes);
      return;
    case 1:  // Sub
      for (size_t x = 0; x < row_bytes; x += kBpp) {
        for (size_t i = 0; i < kBpp; ++i) {
          a[i] = static_cast<uint8_t>(src[x + i] + a[i]);
          out[x + i] = a[i];
        }
      }
      return;
    case 2:  // Up
      if (prev == nullptr) {
        std::memmove(out, src, row_bytes);
      } else {
        for (size_t x = 0; x < row_bytes; ++x) out[x] = static_cast<uint8_t>(src[x] + prev[x]);
      }
      return;
    case 3:  // Average
      for (size_t x = 0; x < row_bytes; x += kBpp) {
        for (size_t i = 0; i < kBpp; ++i) {
          const int b = prev == nullptr ? 0 : prev[x + i];
          a[i] = static_cast<uint8_t>(src[x + i] + ((a[i] + b) >> 1));
          out[x + i] = a[i];
        }
      }
      return;
    case 4:  // Paeth; with a zero row above it is Sub
      if (prev == nullptr) {
        for (size_t x = 0; x < row_bytes; x += kBpp) {
          for (size_t i = 0; i < kBpp; ++i) {
            a[i] = static_cast<uint8_t>(src[x + i] + a[i]);
            out[x + i] = a[i];
          }
        }
        return;
      }
      for (size_t x = 0; x < row_bytes; x += kBpp) {
        for (size_t i = 0; i < kBpp; ++i) {
          const uint8_t b = prev[x + i];
          a[i] = static_cast<uint8_t>(src[x + i] + Paeth(a[i], b, c[i]));
          c[i] = b;
          out[x + i] = a[i];
        }
      }
      return;
    default:
      return;  // refused by the caller
  }
}

void SwapBytes16(uint8_t* row, size_t row_bytes) {
  for (size_t x = 0; x + 1 < row_bytes; x += 2) std::swap(row[x], row[x + 1]);
}

// Unfilters `height` rows in place (layout above); 16-bit samples end in host order.
template <size_t kBpp>
Status UnfilterImage(uint8_t* buf, size_t height, size_t row_bytes, bool swap16) {
  const uint8_t* prev = nullptr;
  for (size_t y = 0; y < height; ++y) {
    const uint8_t* filtered = buf + y * (row_bytes + 1);
    uint8_t* out = buf + y * row_bytes;
    const int filter = filtered[0];
    if (filter > 4) return Corrupt("bad adaptive filter value");
    UnfilterRow<kBpp>(filter, filtered + 1, prev, out, row_bytes);
    // The row above is no longer needed as a predictor: put its samples in host order.
    if (swap16 && prev != nullptr) SwapBytes16(out - row_bytes, row_bytes);
    prev = out;
  }
  if (swap16 && prev != nullptr) SwapBytes16(buf + (height - 1) * row_bytes, row_bytes);
  return absl::OkStatus();
}

Status Unfilter(size_t bytes_per_pixel, uint8_t* buf, size_t height, size_t row_bytes,
                bool swap16) {
  switch (bytes_per_pixel) {
    case 1:
      return UnfilterImage<1>(buf, height, row_bytes, swap16);
    case 2:
      return UnfilterImage<2>(buf, height, row_bytes, swap16);
    case 3:
      return UnfilterImage<3>(buf, height, row_bytes, swap16);
    case 4:
      return UnfilterImage<4>(buf, height, row_bytes, swap16);
    case 6:
      return UnfilterImage<6>(buf, height, row_bytes, swap16);
    case 8:
      return UnfilterImage<8>(buf, height, row_bytes, swap16);
    default:
      return absl::InternalError("unexpected PNG pixel size");
  }
}

}  // namespace

bool EndsInsideAncillaryChunk(std::span<const std::byte> bytes) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t size = bytes.size();
  if (size < 8 || std::memcmp(data, kSignature, 8) != 0) return false;
  size_t offset = 8;
  bool first = true;
  while (size - offset >= 8) {
    const uint32_t length = LoadBE32(data + offset);
    const uint32_t type = LoadBE32(data + offset + 4);
    for (int shift = 0; shift < 32; shift += 8) {
      const uint8_t c = static_cast<uint8_t>(type >> shift);
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
    }
    if (length > kMaxUInt31 || (first && type != kIHDR)) return false;
    const bool critical = (type & 0x20000000u) == 0;
    if (size - offset - 8 < uint64_t{length} + 4) return !critical;
    if (first) {
      // An IHDR that libpng accepts (else it refuses that first).
      const uint8_t* ihdr = data + offset + 8;
      if (length != 13 || libdeflate_crc32(0, data + offset + 4, 17) != LoadBE32(ihdr + 13)) {
        return false;
      }
      const uint32_t width = LoadBE32(ihdr);
      const uint32_t height = LoadBE32(ihdr + 4);
      const int depth = ihdr[8];
      const int colour = ihdr[9];
      const bool depth_ok =
          colour == 0 ? (depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16)
          : colour == 3
              ? (depth == 1 || depth == 2 || depth == 4 || depth == 8)
              : (colour == 2 || colour == 4 || colour == 6) && (depth == 8 || depth == 16);
      if (width == 0 || height == 0 || width > kLibpngMaxSide || height > kLibpngMaxSide ||
          !depth_ok || ihdr[10] != 0 || ihdr[11] != 0 || ihdr[12] > 1) {
        return false;
      }
    } else if (critical) {
      return false;  // the image data, or a critical chunk libpng may refuse first
    }
    // libpng reads every ancillary chunk before the image data, ignoring a bad CRC.
    offset += size_t{length} + 12;
    first = false;
  }
  return false;
}

StatusOr<Image> DecodePngFast(std::span<const std::byte> bytes, const DecodeLimits& limits) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t size = bytes.size();
  if (size < 8 || std::memcmp(data, kSignature, 8) != 0) return Corrupt("not a PNG signature");
  ChunkReader reader(data, size, 8);

  // IHDR.
  Chunk chunk;
  if (reader.AtEnd() || reader.PeekType() != kIHDR) return Corrupt("missing IHDR");
  RETURN_IF_ERROR(reader.Next(kLibpngMaxChunk, &chunk));
  if (chunk.length != 13) return Corrupt("IHDR: invalid");
  const uint32_t width = LoadBE32(chunk.data);
  const uint32_t height = LoadBE32(chunk.data + 4);
  const int bit_depth = chunk.data[8];
  const int color_type = chunk.data[9];
  const int compression = chunk.data[10];
  const int filter_method = chunk.data[11];
  const int interlace = chunk.data[12];
  if (width == 0 || height == 0 || width > kMaxUInt31 || height > kMaxUInt31) {
    return Corrupt("invalid image size in IHDR");
  }
  if (compression != 0 || filter_method != 0 || interlace > 1) return Corrupt("IHDR: invalid");
  if (width > kLibpngMaxSide || height > kLibpngMaxSide) {
    return NotHandled("a side over libpng's limit of 1000000 pixels");
  }
  // Samples per pixel in the file; a palette image's index expands to RGB(A).
  int file_channels = 0;
  switch (color_type) {
    case 0:
    case 3:
      file_channels = 1;
      break;
    case 2:
      file_channels = 3;
      break;
    case 4:
      file_channels = 2;
      break;
    case 6:
      file_channels = 4;
      break;
    default:
      return NotHandled(absl::StrCat("colour type ", color_type));
  }
  const bool palette = color_type == 3;
  if (bit_depth != 8 && (bit_depth != 16 || palette)) {
    return NotHandled(absl::StrCat(bit_depth, "-bit samples"));
  }
  if (interlace != 0) return NotHandled("interlaced");

  // Chunks before the first IDAT: ancillary ones that do not change the pixels are
  // skipped (after their CRC check); a palette image's PLTE and tRNS are read as libpng
  // reads them; anything unusual is libpng's.
  std::array<uint8_t, 3 * 256> colours = {};  // libpng's palette: zeros past its entries
  std::array<uint8_t, 256> alphas = {};
  size_t num_colours = 0;
  size_t num_alphas = 0;
  bool have_trns = false;
  for (;;) {
    if (reader.AtEnd()) return Corrupt("no image data");
    const uint32_t next = reader.PeekType();
    if (next == kIDAT) break;
    const bool critical = (next & 0x20000000u) == 0;  // upper-case first letter
    if (palette && next == kPLTE && num_colours == 0) {
      RETURN_IF_ERROR(reader.Next(kLibpngMaxChunk, &chunk));
      if (chunk.length == 0 || chunk.length % 3 != 0 || chunk.length > colours.size()) {
        return NotHandled("a PLTE chunk libpng refuses");
      }
      std::memcpy(colours.data(), chunk.data, chunk.length);
      num_colours = chunk.length / 3;
      continue;
    }
    if (palette && next == kTRNS && num_colours > 0 && !have_trns) {
      RETURN_IF_ERROR(reader.Next(kLibpngMaxChunk, &chunk));
      // libpng ignores (with a warning) an empty tRNS or one longer than the palette.
      if (chunk.length == 0 || chunk.length > num_colours) {
        return NotHandled("a tRNS chunk libpng ignores");
      }
      std::memcpy(alphas.data(), chunk.data, chunk.length);
      num_alphas = chunk.length;
      have_trns = true;
      continue;
    }
    if (critical || next == kTRNS) return NotHandled(absl::StrCat(TagName(next), " chunk"));
    RETURN_IF_ERROR(reader.Next(kLibpngMaxChunk, &chunk));
  }
  if (palette && num_colours == 0) return NotHandled("no PLTE before the image data");
  const int channels = palette ? (num_alphas > 0 ? 4 : 3) : file_channels;
  const PixelType type = bit_depth == 16 ? PixelType::kUInt16 : PixelType::kUInt8;
  RETURN_IF_ERROR(CheckDecodedSize("PNG", width, height, channels, type, limits));

  // The IDAT run: every consecutive IDAT chunk. What follows it is not read (libpng
  // stops after the image data too).
  const uint64_t idat_limit = IdatLengthLimit(width, height, file_channels, bit_depth);
  std::vector<Chunk> idats;
  while (!reader.AtEnd() && reader.PeekType() == kIDAT) {
    RETURN_IF_ERROR(reader.Next(idat_limit, &chunk));
    idats.push_back(chunk);
  }
  std::vector<uint8_t> joined;
  const uint8_t* stream = idats[0].data;
  size_t stream_size = idats[0].length;
  if (idats.size() > 1) {
    size_t total = 0;
    for (const Chunk& c : idats) total += c.length;
    joined.reserve(total);
    for (const Chunk& c : idats) joined.insert(joined.end(), c.data, c.data + c.length);
    stream = joined.data();
    stream_size = joined.size();
  }

  // Bytes of one row as stored (without its filter-type byte).
  const size_t row_bytes = size_t{width} * static_cast<size_t>(file_channels) * (bit_depth / 8);
  const size_t filtered_size = size_t{height} * (row_bytes + 1);
  // zlib (libpng's inflater) honours the window size in the stream's header; libdeflate
  // always allows 32 KiB. They agree when no distance can exceed the declared window.
  if (stream_size >= 1 && (stream[0] & 0x0F) == 8) {
    const int window_bits = (stream[0] >> 4) + 8;
    if (window_bits < 15 && filtered_size > (size_t{1} << window_bits)) {
      return NotHandled("a zlib window smaller than the image data");
    }
  }

  libdeflate_decompressor* decompressor = ThreadDecompressor();
  if (decompressor == nullptr) return absl::ResourceExhaustedError("cannot allocate an inflater");
  Image image;
  image.width = static_cast<int>(width);
  image.height = static_cast<int>(height);
  image.channels = channels;
  image.type = type;
  // The filtered rows are inflated into the Image's own buffer (height bytes larger than
  // the pixels) and unfiltered in place; the buffer is then cut to the pixels. A palette
  // image's indexes go to a buffer of their own and are expanded into the Image.
  std::vector<uint8_t> indexes;
  uint8_t* buf = nullptr;
  if (palette) {
    indexes.resize(filtered_size);
    buf = indexes.data();
  } else {
    image.data.resize(filtered_size);
    buf = reinterpret_cast<uint8_t*>(image.data.data());
  }
  size_t in_used = 0;
  size_t out_size = 0;
  switch (libdeflate_zlib_decompress_ex(decompressor, stream, stream_size, buf, filtered_size,
                                        &in_used, &out_size)) {
    case LIBDEFLATE_SUCCESS:
      break;
    case LIBDEFLATE_INSUFFICIENT_SPACE:
      return Corrupt("image data inflates to more bytes than the image needs");
    default:
      return Corrupt("invalid compressed image data or Adler-32 checksum");
  }
  if (out_size != filtered_size) return Corrupt("not enough image data");
  if (in_used != stream_size) return Corrupt("extra compressed data after the image data");

  const size_t bytes_per_pixel = static_cast<size_t>(file_channels) * (bit_depth / 8);
  RETURN_IF_ERROR(
      Unfilter(bytes_per_pixel, buf, height, row_bytes, kLittleEndian && bit_depth == 16));
  if (!palette) {
    image.data.resize(size_t{height} * row_bytes);
    return image;
  }
  // As png_do_expand_palette: an index past the palette's entries is black, past the
  // tRNS entries opaque.
  const size_t pixels = size_t{width} * height;
  image.data.resize(pixels * static_cast<size_t>(channels));
  auto* out = reinterpret_cast<uint8_t*>(image.data.data());
  if (channels == 3) {
    for (size_t i = 0; i < pixels; ++i, out += 3) std::memcpy(out, &colours[3 * size_t{buf[i]}], 3);
  } else {
    for (size_t i = 0; i < pixels; ++i, out += 4) {
      const uint8_t index = buf[i];
      std::memcpy(out, &colours[3 * size_t{index}], 3);
      out[3] = index < num_alphas ? alphas[index] : 255;
    }
  }
  return image;
}

}  // namespace infera::imaging_internal
