// Tests for imaging/png_fast_decode.h: the libdeflate PNG decoder returns exactly the
// libpng path's Image over a corpus written by libpng's encoder with each filter type
// forced (every supported colour type x bit depth x odd sizes), leaves other PNGs to
// libpng, and refuses corrupt, truncated, mis-sized and oversized input without reading
// outside it; DecodeImage (the dispatch) always gives the libpng path's result.
#include "imaging/png_fast_decode.h"

#include <gtest/gtest.h>
#include <png.h>
#include <zlib.h>

#include <bit>
#include <csetjmp>
#include <cstdint>
#include <cstring>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "imaging/codec.h"
#include "imaging/codec_internal.h"

namespace infera {
namespace {

using imaging_internal::DecodePngFast;
using imaging_internal::DecodePngLibpng;
using imaging_internal::EndsInsideAncillaryChunk;
using Bytes = std::vector<std::byte>;

std::span<const std::byte> Span(const Bytes& bytes) { return {bytes.data(), bytes.size()}; }

// ---- A test-only encoder on libpng's writer, with the knobs EncodePng does not have ----

struct EncodeOptions {
  int color_type = PNG_COLOR_TYPE_RGB;
  int bit_depth = 8;
  int filters = PNG_ALL_FILTERS;  // png_set_filter's mask: PNG_FILTER_NONE, ..._SUB, ...
  bool interlace = false;
  bool trns = false;           // a tRNS chunk (gray / RGB: sample value 0)
  int palette_size = 256;      // PLTE entries of a palette image
  int trns_size = 0;           // tRNS entries of a palette image (0: none)
  bool text = false;           // a tEXt chunk before the image data
  size_t idat_size = 1 << 20;  // png_set_compression_buffer_size: the IDAT chunk size
  int compression_level = 6;
};

void WriteToVector(png_structp png, png_bytep data, size_t length) {
  auto* out = static_cast<Bytes*>(png_get_io_ptr(png));
  const auto* begin = reinterpret_cast<const std::byte*>(data);
  out->insert(out->end(), begin, begin + length);
}
void NoFlush(png_structp) {}
[[noreturn]] void OnError(png_structp png, png_const_charp) { png_longjmp(png, 1); }
void OnWarning(png_structp, png_const_charp) {}

// Only trivially destructible locals between setjmp and longjmp (see png_codec.cc).
bool WritePngPhase(png_structp png, png_infop info, Bytes* out, const Image& image,
                   const EncodeOptions& options, png_bytepp rows, png_colorp palette) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_write_fn(png, out, WriteToVector, NoFlush);
  png_set_filter(png, PNG_FILTER_TYPE_BASE, options.filters);
  png_set_compression_level(png, options.compression_level);
  png_set_compression_buffer_size(png, options.idat_size);
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.width),
               static_cast<png_uint_32>(image.height), options.bit_depth, options.color_type,
               options.interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_byte alphas[256];
  for (int i = 0; i < 256; ++i) alphas[i] = static_cast<png_byte>(i * 5 + 3);
  if (options.color_type == PNG_COLOR_TYPE_PALETTE) {
    png_set_PLTE(png, info, palette, options.palette_size);
    if (options.trns_size > 0) png_set_tRNS(png, info, alphas, options.trns_size, nullptr);
  }
  if (options.trns) {
    png_color_16 trans{};
    png_set_tRNS(png, info, nullptr, 0, &trans);
  }
  png_text text{};
  char key[] = "Comment";
  char value[] = "written by the fast-decoder test";
  if (options.text) {
    text.compression = PNG_TEXT_COMPRESSION_NONE;
    text.key = key;
    text.text = value;
    png_set_text(png, info, &text, 1);
  }
  png_write_info(png, info);
  if (options.bit_depth == 16 && std::endian::native == std::endian::little) png_set_swap(png);
  if (options.bit_depth < 8) png_set_packing(png);
  if (options.interlace) png_set_interlace_handling(png);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  return true;
}

// `image`: samples in host order, one byte per sample below 8 bits (then packed).
Bytes EncodeWithLibpng(const Image& image, const EncodeOptions& options) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, OnError, OnWarning);
  png_infop info = png_create_info_struct(png);
  std::vector<png_bytep> rows(static_cast<size_t>(image.height));
  for (size_t y = 0; y < rows.size(); ++y) {
    rows[y] = reinterpret_cast<png_bytep>(
        const_cast<std::byte*>(image.data.data() + y * image.row_bytes()));
  }
  std::vector<png_color> palette(256);
  for (int i = 0; i < 256; ++i) {
    palette[static_cast<size_t>(i)] = {static_cast<png_byte>(i), static_cast<png_byte>(255 - i),
                                       static_cast<png_byte>(i * 7)};
  }
  Bytes out;
  const bool ok = WritePngPhase(png, info, &out, image, options, rows.data(), palette.data());
  png_destroy_write_struct(&png, &info);
  EXPECT_TRUE(ok) << "libpng could not write the test image";
  return out;
}

// ---- Helpers ----

Image RandomImage(int width, int height, int channels, PixelType type, uint32_t seed) {
  Image image = MakeImage(width, height, channels, type);
  std::mt19937 rng(seed);
  // Half smooth (so every predictor wins somewhere), half noise.
  const size_t samples = static_cast<size_t>(width) * height * channels;
  for (size_t i = 0; i < samples; ++i) {
    const uint32_t smooth = static_cast<uint32_t>(i / static_cast<size_t>(channels)) * 3;
    const uint32_t value = (i % 5 < 2) ? rng() : smooth + (rng() & 7);
    if (type == PixelType::kUInt16) {
      image.pixels<uint16_t>()[i] = static_cast<uint16_t>(value * 257);
    } else {
      image.pixels<uint8_t>()[i] = static_cast<uint8_t>(value);
    }
  }
  return image;
}

void ExpectSameImage(const Image& a, const Image& b, const std::string& what) {
  EXPECT_EQ(a.width, b.width) << what;
  EXPECT_EQ(a.height, b.height) << what;
  EXPECT_EQ(a.channels, b.channels) << what;
  EXPECT_EQ(a.type, b.type) << what;
  EXPECT_EQ(a.pages, b.pages) << what;
  EXPECT_TRUE(a.data == b.data) << what << ": samples differ";
}

// DecodeImage (fast decoder, then libpng) gives what the libpng path alone gives.
void ExpectDispatchMatchesLibpng(const Bytes& png, const std::string& what,
                                 const DecodeLimits& limits = {}) {
  const StatusOr<Image> dispatched = DecodeImage(Span(png), limits);
  const StatusOr<Image> libpng = DecodePngLibpng(Span(png), limits);
  ASSERT_EQ(dispatched.ok(), libpng.ok())
      << what << ": " << dispatched.status() << " vs " << libpng.status();
  if (libpng.ok()) {
    ExpectSameImage(*dispatched, *libpng, what);
  } else {
    EXPECT_EQ(dispatched.status(), libpng.status()) << what;
  }
}

struct ChunkPos {
  std::string type;
  size_t offset = 0;  // of the length field
  uint32_t length = 0;
};

uint32_t LoadBE32(const Bytes& b, size_t at) {
  return (std::to_integer<uint32_t>(b[at]) << 24) | (std::to_integer<uint32_t>(b[at + 1]) << 16) |
         (std::to_integer<uint32_t>(b[at + 2]) << 8) | std::to_integer<uint32_t>(b[at + 3]);
}
void StoreBE32(Bytes* b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*b)[at + static_cast<size_t>(i)] = std::byte(v >> (24 - 8 * i));
}

std::vector<ChunkPos> Chunks(const Bytes& png) {
  std::vector<ChunkPos> chunks;
  for (size_t at = 8; at + 12 <= png.size();) {
    ChunkPos c;
    c.offset = at;
    c.length = LoadBE32(png, at);
    c.type.assign(reinterpret_cast<const char*>(png.data() + at + 4), 4);
    chunks.push_back(c);
    at += size_t{c.length} + 12;
  }
  return chunks;
}

// Recomputes a chunk's CRC after its data was changed.
void FixCrc(Bytes* png, const ChunkPos& c) {
  const auto* typed = reinterpret_cast<const Bytef*>(png->data() + c.offset + 4);
  StoreBE32(png, c.offset + 8 + c.length,
            static_cast<uint32_t>(crc32(0, typed, static_cast<uInt>(c.length + 4))));
}

void AppendSignature(Bytes* out) {
  for (uint8_t b : {0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A}) out->push_back(std::byte(b));
}

void AppendChunk(Bytes* out, const char* type, const std::vector<uint8_t>& data) {
  const size_t at = out->size();
  out->resize(at + 12 + data.size());
  StoreBE32(out, at, static_cast<uint32_t>(data.size()));
  std::memcpy(out->data() + at + 4, type, 4);
  if (!data.empty()) std::memcpy(out->data() + at + 8, data.data(), data.size());
  FixCrc(out, {type, at, static_cast<uint32_t>(data.size())});
}

std::vector<uint8_t> Ihdr(uint32_t width, uint32_t height, uint8_t bit_depth, uint8_t color_type) {
  std::vector<uint8_t> d(13, 0);
  for (int i = 0; i < 4; ++i) {
    d[static_cast<size_t>(i)] = static_cast<uint8_t>(width >> (24 - 8 * i));
    d[static_cast<size_t>(4 + i)] = static_cast<uint8_t>(height >> (24 - 8 * i));
  }
  d[8] = bit_depth;
  d[9] = color_type;
  return d;
}

std::vector<uint8_t> Zlib(const std::vector<uint8_t>& raw, int window_bits = 15) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<uint8_t> out(deflateBound(&z, raw.size()));
  z.next_in = const_cast<Bytef*>(raw.data());
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// A hand-made 8-bit gray PNG: IHDR, the given zlib stream as one IDAT, IEND.
Bytes HandMadePng(uint32_t width, uint32_t height, const std::vector<uint8_t>& idat) {
  Bytes png;
  AppendSignature(&png);
  AppendChunk(&png, "IHDR", Ihdr(width, height, 8, 0));
  AppendChunk(&png, "IDAT", idat);
  AppendChunk(&png, "IEND", {});
  return png;
}

// Filtered gray rows of `width` x `height`, each with filter type `filter`.
std::vector<uint8_t> FilteredRows(int width, int height, uint8_t filter) {
  std::vector<uint8_t> raw;
  for (int y = 0; y < height; ++y) {
    raw.push_back(filter);
    for (int x = 0; x < width; ++x) raw.push_back(static_cast<uint8_t>(x * 13 + y * 7));
  }
  return raw;
}

// The filter types used by a non-interlaced PNG's rows (zlib-inflated here).
std::set<int> FilterTypes(const Bytes& png, size_t row_bytes, size_t height) {
  std::vector<uint8_t> stream;
  for (const ChunkPos& c : Chunks(png)) {
    if (c.type != "IDAT") continue;
    const auto* data = reinterpret_cast<const uint8_t*>(png.data() + c.offset + 8);
    stream.insert(stream.end(), data, data + c.length);
  }
  std::vector<uint8_t> raw(height * (row_bytes + 1));
  uLongf size = raw.size();
  EXPECT_EQ(uncompress(raw.data(), &size, stream.data(), stream.size()), Z_OK);
  std::set<int> types;
  for (size_t y = 0; y < height; ++y) types.insert(raw[y * (row_bytes + 1)]);
  return types;
}

// ---- The corpus: fast == libpng, exactly ----

struct ColourType {
  int png_type;
  int channels;
  const char* name;
};
constexpr ColourType kColourTypes[] = {{PNG_COLOR_TYPE_GRAY, 1, "gray"},
                                       {PNG_COLOR_TYPE_GRAY_ALPHA, 2, "gray+alpha"},
                                       {PNG_COLOR_TYPE_RGB, 3, "rgb"},
                                       {PNG_COLOR_TYPE_RGB_ALPHA, 4, "rgba"}};
struct Filter {
  int mask;
  int value;  // the filter type byte it forces; -1 for all
  const char* name;
};
constexpr Filter kFilters[] = {{PNG_FILTER_NONE, 0, "none"},   {PNG_FILTER_SUB, 1, "sub"},
                               {PNG_FILTER_UP, 2, "up"},       {PNG_FILTER_AVG, 3, "avg"},
                               {PNG_FILTER_PAETH, 4, "paeth"}, {PNG_ALL_FILTERS, -1, "all"}};

TEST(PngFastDecodeTest, EqualsLibpngForEveryFilterColourTypeDepthAndSize) {
  const int sizes[][2] = {{1, 1}, {3, 5}, {17, 9}, {224, 224}};
  uint32_t seed = 1;
  int decoded = 0;
  for (const ColourType& colour : kColourTypes) {
    for (int depth : {8, 16}) {
      for (const auto& size : sizes) {
        const PixelType type = depth == 16 ? PixelType::kUInt16 : PixelType::kUInt8;
        const Image source = RandomImage(size[0], size[1], colour.channels, type, seed++);
        for (const Filter& filter : kFilters) {
          const std::string what = absl::StrCat(colour.name, " ", depth, "-bit ", size[0], "x",
                                                size[1], " filter ", filter.name);
          EncodeOptions options;
          options.color_type = colour.png_type;
          options.bit_depth = depth;
          options.filters = filter.mask;
          const Bytes png = EncodeWithLibpng(source, options);
          // The forced filter is really there (libpng falls back to None only where the
          // filter has nothing to predict from: one row or one column).
          if (filter.value > 0 && size[0] > 1 && size[1] > 1) {
            EXPECT_TRUE(FilterTypes(png, source.row_bytes(), static_cast<size_t>(size[1]))
                            .contains(filter.value))
                << what;
          }
          const StatusOr<Image> fast = DecodePngFast(Span(png), {});
          const StatusOr<Image> libpng = DecodePngLibpng(Span(png), {});
          ASSERT_TRUE(fast.ok()) << what << ": " << fast.status();
          ASSERT_TRUE(libpng.ok()) << what << ": " << libpng.status();
          ExpectSameImage(*fast, *libpng, what);
          ExpectSameImage(*fast, source, what);  // and both are the encoder's input
          ++decoded;
        }
      }
    }
  }
  EXPECT_EQ(decoded, 4 * 2 * 4 * 6);
}

TEST(PngFastDecodeTest, EqualsLibpngForPaletteImages) {
  // 8-bit palette, with no tRNS, a tRNS for every entry and a short one: RGB or RGBA.
  const int sizes[][2] = {{1, 1}, {3, 5}, {17, 9}, {224, 224}};
  uint32_t seed = 100;
  for (int trns_size : {0, 256, 10}) {
    for (const auto& size : sizes) {
      const Image indexes = RandomImage(size[0], size[1], 1, PixelType::kUInt8, seed++);
      for (const Filter& filter : kFilters) {
        const std::string what = absl::StrCat("palette, tRNS ", trns_size, ", ", size[0], "x",
                                              size[1], " filter ", filter.name);
        EncodeOptions options;
        options.color_type = PNG_COLOR_TYPE_PALETTE;
        options.filters = filter.mask;
        options.trns_size = trns_size;
        const Bytes png = EncodeWithLibpng(indexes, options);
        const StatusOr<Image> fast = DecodePngFast(Span(png), {});
        const StatusOr<Image> libpng = DecodePngLibpng(Span(png), {});
        ASSERT_TRUE(fast.ok()) << what << ": " << fast.status();
        ASSERT_TRUE(libpng.ok()) << what << ": " << libpng.status();
        EXPECT_EQ(fast->channels, trns_size > 0 ? 4 : 3) << what;
        ExpectSameImage(*fast, *libpng, what);
      }
    }
  }
}

TEST(PngFastDecodeTest, PaletteEdgeCasesByHand) {
  // A 3-entry palette and a 2-entry tRNS over indexes 0..255: libpng paints indexes past
  // the palette black and past the tRNS opaque. Then the chunk orders libpng ignores or
  // refuses, which stay libpng's.
  std::vector<uint8_t> raw;
  for (int y = 0; y < 4; ++y) {
    raw.push_back(0);
    for (int x = 0; x < 64; ++x) raw.push_back(static_cast<uint8_t>(y * 64 + x));
  }
  const std::vector<uint8_t> plte = {10, 20, 30, 40, 50, 60, 70, 80, 90};
  const std::vector<uint8_t> trns = {0, 128};
  struct Case {
    const char* name;
    std::vector<std::pair<const char*, std::vector<uint8_t>>> chunks;
    bool fast;
  };
  const Case cases[] = {
      {"PLTE", {{"PLTE", plte}}, true},
      {"PLTE tRNS", {{"PLTE", plte}, {"tRNS", trns}}, true},
      {"no PLTE", {}, false},
      {"tRNS before PLTE", {{"tRNS", trns}, {"PLTE", plte}}, false},
      {"two PLTE", {{"PLTE", plte}, {"PLTE", plte}}, false},
      {"two tRNS", {{"PLTE", plte}, {"tRNS", trns}, {"tRNS", {1}}}, false},
      {"tRNS longer than PLTE", {{"PLTE", plte}, {"tRNS", {1, 2, 3, 4}}}, false},
      {"empty PLTE", {{"PLTE", {}}}, false},
      {"PLTE of 4 bytes", {{"PLTE", {1, 2, 3, 4}}}, false},
  };
  for (const Case& c : cases) {
    Bytes png;
    AppendSignature(&png);
    AppendChunk(&png, "IHDR", Ihdr(64, 4, 8, 3));
    for (const auto& [type, data] : c.chunks) AppendChunk(&png, type, data);
    AppendChunk(&png, "IDAT", Zlib(raw));
    AppendChunk(&png, "IEND", {});
    const StatusOr<Image> fast = DecodePngFast(Span(png), {});
    EXPECT_EQ(fast.ok(), c.fast) << c.name << ": " << fast.status();
    ExpectDispatchMatchesLibpng(png, c.name);
    if (fast.ok()) {
      const StatusOr<Image> libpng = DecodePngLibpng(Span(png), {});
      ASSERT_TRUE(libpng.ok()) << c.name;
      ExpectSameImage(*fast, *libpng, c.name);
    }
  }
}

TEST(PngFastDecodeTest, AllFiltersOnEveryRowByHand) {
  // Rows each with its own filter type, including Up/Average/Paeth on the first row
  // (whose row above is zeros), which libpng's writer never emits there.
  for (uint8_t first : {0, 1, 2, 3, 4}) {
    std::vector<uint8_t> raw;
    const int width = 7;
    for (int y = 0; y < 10; ++y) {
      raw.push_back(static_cast<uint8_t>((first + y) % 5));
      for (int x = 0; x < width; ++x) raw.push_back(static_cast<uint8_t>(x * 91 + y * 37 + 5));
    }
    const Bytes png = HandMadePng(width, 10, Zlib(raw));
    const StatusOr<Image> fast = DecodePngFast(Span(png), {});
    const StatusOr<Image> libpng = DecodePngLibpng(Span(png), {});
    ASSERT_TRUE(fast.ok()) << fast.status();
    ASSERT_TRUE(libpng.ok()) << libpng.status();
    ExpectSameImage(*fast, *libpng, absl::StrCat("first filter ", first));
  }
}

TEST(PngFastDecodeTest, ManyIdatChunks) {
  const Image source = RandomImage(61, 47, 3, PixelType::kUInt8, 99);
  EncodeOptions options;
  options.idat_size = 100;  // IDATs of 100 bytes
  options.text = true;      // and an ancillary chunk before them
  const Bytes png = EncodeWithLibpng(source, options);
  int idats = 0;
  for (const ChunkPos& c : Chunks(png)) idats += c.type == "IDAT" ? 1 : 0;
  EXPECT_GT(idats, 20);
  const StatusOr<Image> fast = DecodePngFast(Span(png), {});
  ASSERT_TRUE(fast.ok()) << fast.status();
  ExpectSameImage(*fast, source, "many IDATs");
  ExpectDispatchMatchesLibpng(png, "many IDATs");
}

TEST(PngFastDecodeTest, LeavesOtherPngsToLibpng) {
  struct Case {
    const char* name;
    Image image;
    EncodeOptions options;
  };
  std::vector<Case> cases;
  {
    Image indexes = MakeImage(9, 7, 1, PixelType::kUInt8);
    for (size_t i = 0; i < indexes.data.size(); ++i) indexes.data[i] = std::byte(i % 16);
    Case c{"4-bit palette", indexes, {}};
    c.options.color_type = PNG_COLOR_TYPE_PALETTE;
    c.options.bit_depth = 4;
    c.options.palette_size = 16;
    cases.push_back(c);
  }
  {
    Image bits = MakeImage(13, 5, 1, PixelType::kUInt8);
    for (size_t i = 0; i < bits.data.size(); ++i) bits.data[i] = std::byte(i % 3 == 0 ? 1 : 0);
    Case c{"1-bit gray", bits, {}};
    c.options.color_type = PNG_COLOR_TYPE_GRAY;
    c.options.bit_depth = 1;
    cases.push_back(c);
  }
  {
    Case c{"interlaced", RandomImage(19, 11, 3, PixelType::kUInt8, 6), {}};
    c.options.interlace = true;
    cases.push_back(c);
  }
  {
    Case c{"tRNS", RandomImage(8, 8, 3, PixelType::kUInt8, 7), {}};
    c.options.trns = true;
    cases.push_back(c);
  }
  for (const Case& c : cases) {
    const Bytes png = EncodeWithLibpng(c.image, c.options);
    const StatusOr<Image> fast = DecodePngFast(Span(png), {});
    EXPECT_EQ(fast.status().code(), absl::StatusCode::kUnimplemented) << c.name << fast.status();
    ASSERT_TRUE(DecodeImage(Span(png)).ok()) << c.name;
    ExpectDispatchMatchesLibpng(png, c.name);
  }
}

TEST(PngFastDecodeTest, CorruptCrcs) {
  EncodeOptions options;
  options.text = true;
  options.idat_size = 256;
  const Bytes good = EncodeWithLibpng(RandomImage(40, 30, 3, PixelType::kUInt8, 8), options);
  for (const ChunkPos& c : Chunks(good)) {
    std::vector<size_t> positions = {c.offset + 8 + c.length};  // the CRC's first byte
    if (c.length > 0) positions.push_back(c.offset + 8);        // the data's first byte
    for (size_t at : positions) {
      Bytes png = good;
      png[at] ^= std::byte{0x20};
      const std::string what = absl::StrCat(c.type, " at ", at);
      if (c.type == "IEND") {
        // After the image data: neither decoder reads it.
        EXPECT_TRUE(DecodePngFast(Span(png), {}).ok()) << what;
      } else {
        const StatusOr<Image> fast = DecodePngFast(Span(png), {});
        ASSERT_FALSE(fast.ok()) << what;
        EXPECT_EQ(fast.status().code(), absl::StatusCode::kInvalidArgument) << what;
        EXPECT_TRUE(absl::StrContains(fast.status().message(), "CRC error")) << fast.status();
      }
      // libpng refuses a critical chunk's bad CRC and ignores an ancillary one's
      // (tEXt): DecodeImage gives its verdict either way.
      ExpectDispatchMatchesLibpng(png, what);
    }
  }
  Bytes bad_idat = good;
  for (const ChunkPos& c : Chunks(good)) {
    if (c.type == "IDAT") {
      bad_idat[c.offset + 8 + 3] ^= std::byte{1};
      break;
    }
  }
  EXPECT_FALSE(DecodeImage(Span(bad_idat)).ok());
}

TEST(PngFastDecodeTest, CorruptAdler32) {
  // One IDAT and several: the Adler-32 is the zlib stream's last 4 bytes.
  for (size_t idat_size : {size_t{1} << 20, size_t{50}}) {
    EncodeOptions options;
    options.idat_size = idat_size;
    Bytes png = EncodeWithLibpng(RandomImage(33, 21, 4, PixelType::kUInt8, 9), options);
    ChunkPos last;
    for (const ChunkPos& c : Chunks(png)) {
      if (c.type == "IDAT") last = c;
    }
    ASSERT_GE(last.length, 1u);
    png[last.offset + 8 + last.length - 1] ^= std::byte{0x55};
    FixCrc(&png, last);
    const StatusOr<Image> fast = DecodePngFast(Span(png), {});
    ASSERT_FALSE(fast.ok());
    EXPECT_EQ(fast.status().code(), absl::StatusCode::kInvalidArgument) << fast.status();
    EXPECT_TRUE(absl::StrContains(fast.status().message(), "Adler-32")) << fast.status();
    ExpectDispatchMatchesLibpng(png, absl::StrCat("bad Adler-32, IDATs of ", idat_size));
  }
}

TEST(PngFastDecodeTest, TruncatedAtEveryCutPoint) {
  for (size_t idat_size : {size_t{1} << 20, size_t{64}}) {
    EncodeOptions options;
    options.idat_size = idat_size;
    options.text = true;
    options.bit_depth = 16;
    const Bytes png = EncodeWithLibpng(RandomImage(11, 9, 3, PixelType::kUInt16, 10), options);
    size_t image_data_end = 0;
    for (const ChunkPos& c : Chunks(png)) {
      if (c.type == "IDAT") image_data_end = c.offset + 12 + c.length;
    }
    for (size_t keep = 0; keep < png.size(); ++keep) {
      // An exact-size copy, so that a read past the end is a heap overflow under ASan.
      const Bytes cut(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(keep));
      const std::string what = absl::StrCat("kept ", keep, " of ", png.size());
      const StatusOr<Image> fast = DecodePngFast(Span(cut), {});
      if (keep < image_data_end) {
        EXPECT_FALSE(fast.ok()) << what;
      } else {
        EXPECT_TRUE(fast.ok()) << what << fast.status();  // only IEND is missing
      }
      if (keep >= 8) ExpectDispatchMatchesLibpng(cut, what);  // shorter: not sniffed as PNG
    }
  }
}

TEST(PngFastDecodeTest, StreamThatInflatesShortOrLong) {
  const int width = 10;
  const int height = 6;
  std::vector<uint8_t> raw = FilteredRows(width, height, 1);
  const Bytes exact = HandMadePng(width, height, Zlib(raw));
  ASSERT_TRUE(DecodePngFast(Span(exact), {}).ok());

  std::vector<uint8_t> shorter(raw.begin(), raw.end() - 1);
  const StatusOr<Image> short_fast =
      DecodePngFast(Span(HandMadePng(width, height, Zlib(shorter))), {});
  ASSERT_FALSE(short_fast.ok());
  EXPECT_TRUE(absl::StrContains(short_fast.status().message(), "not enough image data"))
      << short_fast.status();
  EXPECT_FALSE(DecodeImage(Span(HandMadePng(width, height, Zlib(shorter)))).ok());

  for (size_t extra : {size_t{1}, size_t{5000}}) {
    std::vector<uint8_t> longer = raw;
    longer.insert(longer.end(), extra, 0);
    const Bytes png = HandMadePng(width, height, Zlib(longer));
    const StatusOr<Image> fast = DecodePngFast(Span(png), {});
    ASSERT_FALSE(fast.ok());
    EXPECT_TRUE(absl::StrContains(fast.status().message(), "more bytes")) << fast.status();
    // libpng ignores the excess (a benign error): DecodeImage still gives its Image.
    ExpectDispatchMatchesLibpng(png, absl::StrCat(extra, " bytes too many"));
  }

  // Bytes after the end of the zlib stream, inside the IDAT.
  std::vector<uint8_t> trailing = Zlib(raw);
  trailing.push_back(0);
  const Bytes png = HandMadePng(width, height, trailing);
  EXPECT_FALSE(DecodePngFast(Span(png), {}).ok());
  ExpectDispatchMatchesLibpng(png, "data after the stream");
}

TEST(PngFastDecodeTest, BadFilterTypeAndBadZlibData) {
  const Bytes bad_filter = HandMadePng(5, 4, Zlib(FilteredRows(5, 4, 5)));
  const StatusOr<Image> fast = DecodePngFast(Span(bad_filter), {});
  ASSERT_FALSE(fast.ok());
  EXPECT_TRUE(absl::StrContains(fast.status().message(), "filter")) << fast.status();
  EXPECT_FALSE(DecodeImage(Span(bad_filter)).ok());

  std::vector<uint8_t> garbage = Zlib(FilteredRows(5, 4, 0));
  for (size_t i = 2; i < garbage.size(); ++i) garbage[i] = static_cast<uint8_t>(i * 151);
  const Bytes bad_stream = HandMadePng(5, 4, garbage);
  EXPECT_EQ(DecodePngFast(Span(bad_stream), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  ExpectDispatchMatchesLibpng(bad_stream, "garbage zlib data");
}

TEST(PngFastDecodeTest, SmallZlibWindow) {
  // A window of 512 bytes: fine when the image data fits in it (libpng writes such
  // streams for small images), left to libpng (zlib enforces the window) when not.
  const Bytes small = HandMadePng(20, 10, Zlib(FilteredRows(20, 10, 2), 9));
  ASSERT_TRUE(DecodePngFast(Span(small), {}).ok());
  ExpectDispatchMatchesLibpng(small, "small window, small image");
  const Bytes large = HandMadePng(100, 50, Zlib(FilteredRows(100, 50, 2), 9));
  EXPECT_EQ(DecodePngFast(Span(large), {}).status().code(), absl::StatusCode::kUnimplemented);
  ExpectDispatchMatchesLibpng(large, "small window, large image");
}

TEST(PngFastDecodeTest, PixelLimitsBeforeAllocating) {
  // 100,000 x 100,000 16-bit RGBA would be 80 GB: refused from the header alone.
  Bytes huge;
  AppendSignature(&huge);
  AppendChunk(&huge, "IHDR", Ihdr(100'000, 100'000, 16, 6));
  AppendChunk(&huge, "IDAT", Zlib({0, 0, 0}));
  AppendChunk(&huge, "IEND", {});
  const StatusOr<Image> fast = DecodePngFast(Span(huge), {});
  ASSERT_FALSE(fast.ok());
  EXPECT_TRUE(absl::StrContains(fast.status().message(), "exceeds the limit")) << fast.status();
  ExpectDispatchMatchesLibpng(huge, "huge");

  const Bytes png = EncodeWithLibpng(RandomImage(10, 10, 1, PixelType::kUInt8, 11),
                                     {.color_type = PNG_COLOR_TYPE_GRAY});
  EXPECT_TRUE(DecodePngFast(Span(png), {.max_pixels = 100}).ok());
  EXPECT_FALSE(DecodePngFast(Span(png), {.max_pixels = 99}).ok());
  EXPECT_FALSE(DecodePngFast(Span(png), {.max_bytes = 99}).ok());
  ExpectDispatchMatchesLibpng(png, "limit 99", {.max_pixels = 99});

  // Zero sides and sides over libpng's limit.
  for (uint32_t side : {0u, 1'000'001u, 0x80000000u}) {
    Bytes odd;
    AppendSignature(&odd);
    AppendChunk(&odd, "IHDR", Ihdr(side, 1, 8, 0));
    AppendChunk(&odd, "IDAT", Zlib({0, 0}));
    EXPECT_FALSE(DecodePngFast(Span(odd), {}).ok()) << side;
    EXPECT_FALSE(DecodeImage(Span(odd)).ok()) << side;
  }
}

// A file that ends inside an ancillary chunk declaring a huge length: libpng would
// allocate (and touch) that length before finding the end; DecodePng answers its
// verdict without calling it (found by the decode_png fuzzer: a 54-byte PNG declaring
// a 1.6 GB tEXt chunk took 1.7 GB of RSS).
Bytes TruncatedTextChunk(uint32_t declared, const std::vector<uint8_t>& ihdr) {
  Bytes png;
  AppendSignature(&png);
  AppendChunk(&png, "IHDR", ihdr);
  AppendChunk(&png, "tIME", {7, 234, 12, 7, 13, 0, 0});  // a complete ancillary chunk
  const size_t at = png.size();
  AppendChunk(&png, "tEXt", {'k', 0, 'v', 'a', 'l', 'u', 'e'});
  StoreBE32(&png, at, declared);
  return png;
}

TEST(PngFastDecodeTest, EndsInsideAHugeAncillaryChunk) {
  const Bytes huge = TruncatedTextChunk(0x63000003, Ihdr(1, 1, 8, 0));
  EXPECT_TRUE(EndsInsideAncillaryChunk(Span(huge)));
  const StatusOr<Image> decoded = DecodeImage(Span(huge));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status(), absl::InvalidArgumentError("corrupt PNG: unexpected end of data"));
  // The same verdict as libpng's (a declared length it allocates cheaply here).
  const Bytes small = TruncatedTextChunk(20'000, Ihdr(1, 1, 8, 0));
  EXPECT_TRUE(EndsInsideAncillaryChunk(Span(small)));
  ExpectDispatchMatchesLibpng(small, "truncated tEXt");
  // Not when libpng refuses something before it: an invalid IHDR, a critical chunk.
  for (const auto& ihdr : {Ihdr(0, 1, 8, 0), Ihdr(1, 1, 3, 0), Ihdr(1, 1, 16, 3)}) {
    const Bytes bad = TruncatedTextChunk(20'000, ihdr);
    EXPECT_FALSE(EndsInsideAncillaryChunk(Span(bad)));
    ExpectDispatchMatchesLibpng(bad, "bad IHDR, truncated tEXt");
  }
  Bytes cut_idat;
  AppendSignature(&cut_idat);
  AppendChunk(&cut_idat, "IHDR", Ihdr(1, 1, 8, 0));
  AppendChunk(&cut_idat, "IDAT", {1, 2, 3});
  StoreBE32(&cut_idat, cut_idat.size() - 15, 20'000);
  EXPECT_FALSE(EndsInsideAncillaryChunk(Span(cut_idat)));
  ExpectDispatchMatchesLibpng(cut_idat, "truncated IDAT");
}

TEST(PngFastDecodeTest, ChunksOverLibpngsDefaultLimitGoToLibpng) {
  // A complete 9 MB ancillary chunk: outside the fast path, libpng decides.
  EncodeOptions options;
  options.color_type = PNG_COLOR_TYPE_GRAY;
  const Bytes plain = EncodeWithLibpng(RandomImage(5, 5, 1, PixelType::kUInt8, 14), options);
  const std::vector<ChunkPos> chunks = Chunks(plain);
  ASSERT_EQ(chunks[0].type, "IHDR");
  const size_t after_ihdr = chunks[1].offset;
  Bytes big(plain.begin(), plain.begin() + static_cast<std::ptrdiff_t>(after_ihdr));
  std::vector<uint8_t> payload(9'000'000, 'x');
  payload[0] = 'k';
  payload[1] = 0;
  AppendChunk(&big, "tEXt", payload);
  big.insert(big.end(), plain.begin() + static_cast<std::ptrdiff_t>(after_ihdr), plain.end());
  EXPECT_EQ(DecodePngFast(Span(big), {}).status().code(), absl::StatusCode::kUnimplemented);
  ExpectDispatchMatchesLibpng(big, "9 MB tEXt");
}

TEST(PngFastDecodeTest, RandomBytesAfterTheSignatureNeverCrash) {
  std::mt19937 rng(12);
  const Bytes good = EncodeWithLibpng(RandomImage(16, 16, 4, PixelType::kUInt8, 13), {});
  for (int trial = 0; trial < 300; ++trial) {
    Bytes png = good;
    // Flip a few bytes anywhere after the signature.
    for (int k = 0; k < 1 + trial % 4; ++k) {
      png[8 + rng() % (png.size() - 8)] ^= std::byte(static_cast<uint8_t>(1 + rng() % 255));
    }
    const StatusOr<Image> fast = DecodePngFast(Span(png), {});
    if (fast.ok()) {
      EXPECT_EQ(fast->data.size(), fast->row_bytes() * static_cast<size_t>(fast->height));
    }
    ExpectDispatchMatchesLibpng(png, absl::StrCat("trial ", trial));
  }
}

}  // namespace
}  // namespace infera
