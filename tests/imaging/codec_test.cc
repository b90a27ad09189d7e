// Tests for imaging/codec.h: PNG, JPEG and TIFF decoding (images made in the test with
// our encoder, by hand, with TurboJPEG or with libtiff), PNG encoding, and refusal of
// corrupt, truncated, unsupported and oversized input.
#include "imaging/codec.h"

#include <gtest/gtest.h>
#include <tiffio.h>
#include <turbojpeg.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"

namespace infera {
namespace {

using Bytes = std::vector<std::byte>;

std::span<const std::byte> Span(const Bytes& bytes) { return {bytes.data(), bytes.size()}; }

template <typename T>
void AppendBE(Bytes* out, T value) {
  for (int shift = 8 * (static_cast<int>(sizeof(T)) - 1); shift >= 0; shift -= 8) {
    out->push_back(static_cast<std::byte>((value >> shift) & 0xFF));
  }
}

void Append(Bytes* out, std::initializer_list<uint8_t> values) {
  for (uint8_t v : values) out->push_back(static_cast<std::byte>(v));
}

void ExpectInvalid(const StatusOr<Image>& result, std::string_view message_part) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
  EXPECT_TRUE(absl::StrContains(result.status().message(), std::string(message_part)))
      << result.status();
}

// Fills an image with a deterministic pattern that uses the whole sample range.
Image PatternImage(int width, int height, int channels, PixelType type) {
  Image image = MakeImage(width, height, channels, type);
  const size_t n = static_cast<size_t>(width) * height * channels;
  for (size_t i = 0; i < n; ++i) {
    switch (type) {
      case PixelType::kUInt8:
        image.pixels<uint8_t>()[i] = static_cast<uint8_t>(i * 37 + 11);
        break;
      case PixelType::kUInt16:
        image.pixels<uint16_t>()[i] = static_cast<uint16_t>(i * 4099 + 257);
        break;
      case PixelType::kFloat32:
        image.pixels<float>()[i] = static_cast<float>(i) * 0.25f - 3.5f;
        break;
    }
  }
  return image;
}

void ExpectSameImage(const Image& actual, const Image& expected) {
  EXPECT_EQ(actual.width, expected.width);
  EXPECT_EQ(actual.height, expected.height);
  EXPECT_EQ(actual.channels, expected.channels);
  EXPECT_EQ(actual.type, expected.type);
  EXPECT_TRUE(actual.data == expected.data) << "pixel data differs";
}

// ---- Hand-made PNGs (independent of our encoder) ----

uint32_t Crc32(const Bytes& data, size_t begin) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = begin; i < data.size(); ++i) {
    crc ^= std::to_integer<uint32_t>(data[i]);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void AppendChunk(Bytes* png, const char* type, const Bytes& payload) {
  AppendBE<uint32_t>(png, static_cast<uint32_t>(payload.size()));
  const size_t type_at = png->size();
  for (int i = 0; i < 4; ++i) png->push_back(static_cast<std::byte>(type[i]));
  png->insert(png->end(), payload.begin(), payload.end());
  Bytes crc_input(png->begin() + static_cast<std::ptrdiff_t>(type_at), png->end());
  AppendBE<uint32_t>(png, Crc32(crc_input, 0));
}

// A zlib stream of one stored (uncompressed) deflate block.
Bytes StoredZlib(const Bytes& raw) {
  Bytes out;
  Append(&out, {0x78, 0x01, 0x01});
  const auto len = static_cast<uint16_t>(raw.size());
  Append(&out, {static_cast<uint8_t>(len & 0xFF), static_cast<uint8_t>(len >> 8),
                static_cast<uint8_t>(~len & 0xFF), static_cast<uint8_t>((~len >> 8) & 0xFF)});
  out.insert(out.end(), raw.begin(), raw.end());
  uint32_t a = 1;
  uint32_t b = 0;
  for (std::byte v : raw) {
    a = (a + std::to_integer<uint32_t>(v)) % 65521;
    b = (b + a) % 65521;
  }
  AppendBE<uint32_t>(&out, (b << 16) | a);
  return out;
}

// A PNG with the given header fields whose IDAT holds `filtered` (rows with filter
// bytes) and optional extra chunks (PLTE, tRNS) before it.
Bytes HandMadePng(uint32_t width, uint32_t height, uint8_t bit_depth, uint8_t color_type,
                  uint8_t interlace, const Bytes& filtered,
                  const std::vector<std::pair<const char*, Bytes>>& extra = {}) {
  Bytes png;
  Append(&png, {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A});
  Bytes ihdr;
  AppendBE<uint32_t>(&ihdr, width);
  AppendBE<uint32_t>(&ihdr, height);
  Append(&ihdr, {bit_depth, color_type, 0, 0, interlace});
  AppendChunk(&png, "IHDR", ihdr);
  for (const auto& [type, payload] : extra) AppendChunk(&png, type, payload);
  AppendChunk(&png, "IDAT", StoredZlib(filtered));
  AppendChunk(&png, "IEND", {});
  return png;
}

Bytes Raw(std::initializer_list<uint8_t> values) {
  Bytes out;
  Append(&out, values);
  return out;
}

// ---- Detection ----

TEST(DetectImageFormatTest, RecognisesMagicBytes) {
  EXPECT_EQ(DetectImageFormat(Span(Raw({0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A}))),
            ImageFormat::kPng);
  EXPECT_EQ(DetectImageFormat(Span(Raw({0xFF, 0xD8, 0xFF, 0xE0}))), ImageFormat::kJpeg);
  EXPECT_EQ(DetectImageFormat(Span(Raw({'I', 'I', 42, 0}))), ImageFormat::kTiff);
  EXPECT_EQ(DetectImageFormat(Span(Raw({'M', 'M', 0, 42}))), ImageFormat::kTiff);
  EXPECT_EQ(DetectImageFormat(Span(Raw({'I', 'I', 43, 0}))), ImageFormat::kTiff);
  EXPECT_EQ(DetectImageFormat(Span(Raw({'G', 'I', 'F', '8', '9', 'a'}))), ImageFormat::kUnknown);
  EXPECT_EQ(DetectImageFormat(Span(Raw({0x89, 'P', 'N'}))), ImageFormat::kUnknown);
  EXPECT_EQ(DetectImageFormat({}), ImageFormat::kUnknown);
}

TEST(DetectImageFormatTest, Names) {
  EXPECT_EQ(ImageFormatName(ImageFormat::kPng), "png");
  EXPECT_EQ(ImageFormatName(ImageFormat::kJpeg), "jpeg");
  EXPECT_EQ(ImageFormatName(ImageFormat::kTiff), "tiff");
  EXPECT_EQ(ImageFormatName(ImageFormat::kUnknown), "unknown");
}

TEST(DecodeImageTest, EmptyInputIsInvalid) { ExpectInvalid(DecodeImage({}), "empty"); }

TEST(DecodeImageTest, UnknownFormatIsInvalid) {
  ExpectInvalid(DecodeImage(Span(Raw({'h', 'e', 'l', 'l', 'o'}))), "unrecognised image format");
}

// ---- PNG ----

class PngRoundTripTest : public testing::TestWithParam<std::tuple<PixelType, int>> {};

TEST_P(PngRoundTripTest, DecodesWhatItEncodes) {
  const auto [type, channels] = GetParam();
  const Image image = PatternImage(7, 5, channels, type);
  const StatusOr<Bytes> png = EncodePng(image);
  ASSERT_TRUE(png.ok()) << png.status();
  EXPECT_EQ(DetectImageFormat(Span(*png)), ImageFormat::kPng);
  const StatusOr<Image> decoded = DecodeImage(Span(*png));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameImage(*decoded, image);
  EXPECT_EQ(decoded->pages, 1);
}

INSTANTIATE_TEST_SUITE_P(AllDepthsAndChannels, PngRoundTripTest,
                         testing::Combine(testing::Values(PixelType::kUInt8, PixelType::kUInt16),
                                          testing::Values(1, 2, 3, 4)));

TEST(PngTest, SixteenBitSamplesAreBigEndianInTheFileAndHostOrderInTheImage) {
  // One 16-bit gray pixel 0x0102, stored uncompressed: filter byte 0, then 01 02.
  const Bytes png = HandMadePng(1, 1, 16, /*gray*/ 0, 0, Raw({0, 0x01, 0x02}));
  const StatusOr<Image> decoded = DecodeImage(Span(png));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->type, PixelType::kUInt16);
  EXPECT_EQ(decoded->pixels<uint16_t>()[0], 0x0102);

  // The decoder is now known to read big-endian files correctly, so a round trip of a
  // value whose two bytes differ shows that the encoder writes big-endian too.
  const StatusOr<Bytes> encoded = EncodePng(*decoded);
  ASSERT_TRUE(encoded.ok());
  const StatusOr<Image> again = DecodeImage(Span(*encoded));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->pixels<uint16_t>()[0], 0x0102);
}

TEST(PngTest, ExpandsOneBitGrayToEightBit) {
  // 8 pixels, 1 bit each: 1011 0000.
  const Bytes png = HandMadePng(8, 1, 1, /*gray*/ 0, 0, Raw({0, 0xB0}));
  const StatusOr<Image> decoded = DecodeImage(Span(png));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->type, PixelType::kUInt8);
  EXPECT_EQ(decoded->channels, 1);
  const std::vector<uint8_t> expected = {255, 0, 255, 255, 0, 0, 0, 0};
  EXPECT_EQ(std::vector<uint8_t>(decoded->pixels<uint8_t>(), decoded->pixels<uint8_t>() + 8),
            expected);
}

TEST(PngTest, ExpandsPaletteWithTransparencyToRgba) {
  const Bytes palette = Raw({10, 20, 30, 40, 50, 60});
  const Bytes alpha = Raw({255, 0});
  const Bytes png =
      HandMadePng(2, 1, 8, /*palette*/ 3, 0, Raw({0, 1, 0}), {{"PLTE", palette}, {"tRNS", alpha}});
  const StatusOr<Image> decoded = DecodeImage(Span(png));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->channels, 4);
  const std::vector<uint8_t> expected = {40, 50, 60, 0, 10, 20, 30, 255};
  EXPECT_EQ(std::vector<uint8_t>(decoded->pixels<uint8_t>(), decoded->pixels<uint8_t>() + 8),
            expected);
}

TEST(PngTest, ExpandsPaletteWithoutTransparencyToRgb) {
  const Bytes png = HandMadePng(2, 1, 8, /*palette*/ 3, 0, Raw({0, 1, 0}),
                                {{"PLTE", Raw({10, 20, 30, 40, 50, 60})}});
  const StatusOr<Image> decoded = DecodeImage(Span(png));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->channels, 3);
  const std::vector<uint8_t> expected = {40, 50, 60, 10, 20, 30};
  EXPECT_EQ(std::vector<uint8_t>(decoded->pixels<uint8_t>(), decoded->pixels<uint8_t>() + 6),
            expected);
}

TEST(PngTest, DeinterlacesAdam7) {
  // 2x2 gray: Adam7 puts (0,0) in pass 1, (1,0) in pass 6, row 1 in pass 7.
  const Bytes png = HandMadePng(2, 2, 8, /*gray*/ 0, /*adam7*/ 1, Raw({0, 11, 0, 22, 0, 33, 44}));
  const StatusOr<Image> decoded = DecodeImage(Span(png));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const std::vector<uint8_t> expected = {11, 22, 33, 44};
  EXPECT_EQ(std::vector<uint8_t>(decoded->pixels<uint8_t>(), decoded->pixels<uint8_t>() + 4),
            expected);
}

TEST(PngTest, HugeDimensionsAreRefusedBeforeAllocating) {
  // Claims 100000 x 100000 RGB (30 GB) but carries one row of data.
  const Bytes png = HandMadePng(100000, 100000, 8, /*rgb*/ 2, 0, Raw({0, 1, 2, 3}));
  ExpectInvalid(DecodeImage(Span(png)), "exceeds the limit of 100000000 pixels");
}

TEST(PngTest, MaxPixelsIsInclusive) {
  const StatusOr<Bytes> png = EncodePng(PatternImage(10, 10, 1, PixelType::kUInt8));
  ASSERT_TRUE(png.ok());
  EXPECT_TRUE(DecodeImage(Span(*png), {.max_pixels = 100}).ok());
  ExpectInvalid(DecodeImage(Span(*png), {.max_pixels = 99}), "exceeds the limit of 99 pixels");
}

TEST(PngTest, TruncatedIsInvalid) {
  const StatusOr<Bytes> png = EncodePng(PatternImage(32, 32, 3, PixelType::kUInt8));
  ASSERT_TRUE(png.ok());
  for (size_t keep : {size_t{8}, size_t{20}, size_t{40}, png->size() / 2, png->size() - 13}) {
    const Bytes cut(png->begin(), png->begin() + static_cast<std::ptrdiff_t>(keep));
    ExpectInvalid(DecodeImage(Span(cut)), "corrupt PNG");
  }
}

TEST(PngTest, BadChecksumIsInvalid) {
  StatusOr<Bytes> png = EncodePng(PatternImage(8, 8, 3, PixelType::kUInt8));
  ASSERT_TRUE(png.ok());
  (*png)[20] ^= std::byte{0x40};  // inside IHDR: its CRC no longer matches
  ExpectInvalid(DecodeImage(Span(*png)), "corrupt PNG");
}

TEST(PngTest, GarbageAfterSignatureIsInvalid) {
  Bytes png = Raw({0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A});
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) png.push_back(static_cast<std::byte>(rng()));
  ExpectInvalid(DecodeImage(Span(png)), "corrupt PNG");
}

TEST(EncodePngTest, RefusesWhatPngCannotHold) {
  EXPECT_EQ(EncodePng(PatternImage(2, 2, 3, PixelType::kFloat32)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodePng(PatternImage(2, 2, 5, PixelType::kUInt8)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodePng(Image{}).status().code(), absl::StatusCode::kInvalidArgument);
  Image short_data = PatternImage(2, 2, 3, PixelType::kUInt8);
  short_data.data.pop_back();
  EXPECT_EQ(EncodePng(short_data).status().code(), absl::StatusCode::kInvalidArgument);
}

// ---- JPEG ----

Bytes MakeJpeg(const Image& image, int pixel_format, int subsampling, int quality = 95) {
  tjhandle handle = tjInitCompress();
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  const int rc = tjCompress2(handle, reinterpret_cast<const unsigned char*>(image.data.data()),
                             image.width, 0, image.height, pixel_format, &buffer, &size,
                             subsampling, quality, TJFLAG_ACCURATEDCT);
  Bytes out;
  if (rc == 0) {
    const auto* begin = reinterpret_cast<const std::byte*>(buffer);
    out.assign(begin, begin + size);
  }
  tjFree(buffer);
  tjDestroy(handle);
  return out;
}

Image SmoothRgb(int width, int height, int channels = 3) {
  Image image = MakeImage(width, height, channels, PixelType::kUInt8);
  uint8_t* p = image.pixels<uint8_t>();
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) {
        *p++ = static_cast<uint8_t>(std::min(255, 20 + 2 * x + 2 * y + 30 * c));
      }
    }
  }
  return image;
}

int MaxAbsDiff(const Image& a, const Image& b) {
  int worst = 0;
  for (size_t i = 0; i < a.data.size() && i < b.data.size(); ++i) {
    worst = std::max(worst,
                     std::abs(std::to_integer<int>(a.data[i]) - std::to_integer<int>(b.data[i])));
  }
  return worst;
}

TEST(JpegTest, DecodesRgb) {
  const Image image = SmoothRgb(24, 16);
  const Bytes jpeg = MakeJpeg(image, TJPF_RGB, TJSAMP_444);
  ASSERT_FALSE(jpeg.empty());
  EXPECT_EQ(DetectImageFormat(Span(jpeg)), ImageFormat::kJpeg);
  const StatusOr<Image> decoded = DecodeImage(Span(jpeg));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->width, 24);
  EXPECT_EQ(decoded->height, 16);
  EXPECT_EQ(decoded->channels, 3);
  EXPECT_EQ(decoded->type, PixelType::kUInt8);
  EXPECT_EQ(decoded->pages, 1);
  EXPECT_LE(MaxAbsDiff(*decoded, image), 4);
}

TEST(JpegTest, DecodesGray) {
  const Image image = SmoothRgb(16, 16, 1);
  const Bytes jpeg = MakeJpeg(image, TJPF_GRAY, TJSAMP_GRAY);
  ASSERT_FALSE(jpeg.empty());
  const StatusOr<Image> decoded = DecodeImage(Span(jpeg));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->channels, 1);
  EXPECT_LE(MaxAbsDiff(*decoded, image), 4);
}

TEST(JpegTest, RefusesCmyk) {
  const Image image = SmoothRgb(16, 16, 4);
  const Bytes jpeg = MakeJpeg(image, TJPF_CMYK, TJSAMP_444);
  ASSERT_FALSE(jpeg.empty());
  ExpectInvalid(DecodeImage(Span(jpeg)), "unsupported JPEG: CMYK");
}

TEST(JpegTest, TruncatedIsInvalid) {
  const Bytes jpeg = MakeJpeg(SmoothRgb(64, 64), TJPF_RGB, TJSAMP_420);
  ASSERT_FALSE(jpeg.empty());
  for (size_t keep : {size_t{3}, size_t{30}, jpeg.size() / 2, jpeg.size() - 40}) {
    const Bytes cut(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(keep));
    ExpectInvalid(DecodeImage(Span(cut)), "corrupt JPEG");
  }
}

TEST(JpegTest, MaxPixels) {
  const Bytes jpeg = MakeJpeg(SmoothRgb(16, 16), TJPF_RGB, TJSAMP_444);
  ExpectInvalid(DecodeImage(Span(jpeg), {.max_pixels = 255}), "exceeds the limit");
}

TEST(JpegTest, GarbageAfterMarkerIsInvalid) {
  Bytes jpeg = Raw({0xFF, 0xD8, 0xFF});
  std::mt19937 rng(11);
  for (int i = 0; i < 300; ++i) jpeg.push_back(static_cast<std::byte>(rng()));
  ExpectInvalid(DecodeImage(Span(jpeg)), "corrupt JPEG");
}

// ---- TIFF ----

// TiffSpec: what WriteTiff writes; data is interleaved like Image::data.
struct TiffSpec {
  uint16_t photometric = PHOTOMETRIC_MINISBLACK;
  uint16_t sample_format = SAMPLEFORMAT_UINT;
  int bits = 0;  // 0: from the image's pixel type
  bool planar = false;
  bool tiled = false;
  uint32_t tile_size = 16;
  uint32_t rows_per_strip = 3;
  uint16_t compression = COMPRESSION_NONE;
  uint16_t predictor = 0;
  bool big_endian = false;
  int pages = 1;
  std::vector<uint16_t> colormap = {};  // 3 * 256 entries for palette images
};

class TempFile {
 public:
  TempFile() {
    path_ = testing::TempDir() + "/codec_test_XXXXXX";
    const int fd = mkstemp(path_.data());
    if (fd >= 0) close(fd);
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Bytes out(chars.size());
  if (!chars.empty()) std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

// Writes `image` (each page the same image with its first sample offset by the page
// number, so pages differ) as a TIFF and returns the file's bytes; empty on failure.
Bytes WriteTiff(const Image& image, const TiffSpec& spec) {
  TempFile file;
  TIFF* tif = TIFFOpen(file.path().c_str(), spec.big_endian ? "wb" : "wl");
  if (tif == nullptr) return {};
  const size_t sample_bytes = PixelTypeSize(image.type);
  const int bits = spec.bits != 0 ? spec.bits : static_cast<int>(sample_bytes * 8);
  const uint16_t samples = static_cast<uint16_t>(image.channels);
  bool ok = true;
  for (int page = 0; page < spec.pages && ok; ++page) {
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, static_cast<uint32_t>(image.width));
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, static_cast<uint32_t>(image.height));
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, samples);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, static_cast<uint16_t>(bits));
    TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, spec.sample_format);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, spec.photometric);
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG,
                 spec.planar ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG);
    TIFFSetField(tif, TIFFTAG_COMPRESSION, spec.compression);
    if (spec.predictor != 0) TIFFSetField(tif, TIFFTAG_PREDICTOR, spec.predictor);
    const int color_samples = spec.photometric == PHOTOMETRIC_RGB ? 3 : 1;
    if (samples > color_samples) {
      std::vector<uint16_t> extra(samples - color_samples, EXTRASAMPLE_UNSPECIFIED);
      TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, static_cast<uint16_t>(extra.size()), extra.data());
    }
    if (!spec.colormap.empty()) {
      TIFFSetField(tif, TIFFTAG_COLORMAP, spec.colormap.data(), spec.colormap.data() + 256,
                   spec.colormap.data() + 512);
    }
    if (spec.compression == COMPRESSION_JPEG) {
      TIFFSetField(tif, TIFFTAG_JPEGQUALITY, 95);
      TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
    }
    if (spec.pages > 1) {
      TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
      TIFFSetField(tif, TIFFTAG_PAGENUMBER, static_cast<uint16_t>(page),
                   static_cast<uint16_t>(spec.pages));
    }
    Image page_image = image;
    page_image.data[0] = static_cast<std::byte>(std::to_integer<int>(image.data[0]) + page);

    // Gathers sample `s` (or all samples when contiguous) of the region into `out`.
    auto gather = [&](uint32_t x0, uint32_t y0, uint32_t w, uint32_t h, int s, Bytes* out) {
      const size_t pixel = samples * sample_bytes;
      const size_t per = spec.planar ? sample_bytes : pixel;
      out->assign(static_cast<size_t>(w) * h * per, std::byte{0});
      for (uint32_t y = 0; y < h && y0 + y < static_cast<uint32_t>(image.height); ++y) {
        for (uint32_t x = 0; x < w && x0 + x < static_cast<uint32_t>(image.width); ++x) {
          const std::byte* src = page_image.data.data() +
                                 ((y0 + y) * static_cast<size_t>(image.width) + x0 + x) * pixel;
          if (spec.planar) src += s * sample_bytes;
          std::memcpy(out->data() + (static_cast<size_t>(y) * w + x) * per, src, per);
        }
      }
    };
    const int planes = spec.planar ? samples : 1;
    Bytes buffer;
    if (spec.tiled) {
      TIFFSetField(tif, TIFFTAG_TILEWIDTH, spec.tile_size);
      TIFFSetField(tif, TIFFTAG_TILELENGTH, spec.tile_size);
      for (int s = 0; s < planes && ok; ++s) {
        for (uint32_t y = 0; y < static_cast<uint32_t>(image.height); y += spec.tile_size) {
          for (uint32_t x = 0; x < static_cast<uint32_t>(image.width); x += spec.tile_size) {
            gather(x, y, spec.tile_size, spec.tile_size, s, &buffer);
            ok = ok && TIFFWriteTile(tif, buffer.data(), x, y, 0, static_cast<uint16_t>(s)) > 0;
          }
        }
      }
    } else if (bits % 8 == 0) {
      TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, spec.rows_per_strip);
      for (int s = 0; s < planes && ok; ++s) {
        for (uint32_t y = 0; y < static_cast<uint32_t>(image.height); ++y) {
          gather(0, y, static_cast<uint32_t>(image.width), 1, s, &buffer);
          ok = ok && TIFFWriteScanline(tif, buffer.data(), y, static_cast<uint16_t>(s)) == 1;
        }
      }
    } else {  // odd bit depths: write zeroed packed rows, only the header matters
      TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, spec.rows_per_strip);
      Bytes row(static_cast<size_t>(TIFFScanlineSize(tif)), std::byte{0});
      for (uint32_t y = 0; y < static_cast<uint32_t>(image.height) && ok; ++y) {
        ok = TIFFWriteScanline(tif, row.data(), y, 0) == 1;
      }
    }
    ok = ok && TIFFWriteDirectory(tif) == 1;
  }
  TIFFClose(tif);
  return ok ? ReadFile(file.path()) : Bytes{};
}

StatusOr<Image> DecodeTiffOf(const Image& image, const TiffSpec& spec) {
  const Bytes tiff = WriteTiff(image, spec);
  if (tiff.empty()) return absl::InternalError("test could not write the TIFF");
  EXPECT_EQ(DetectImageFormat(Span(tiff)), ImageFormat::kTiff);
  return DecodeImage(Span(tiff));
}

TEST(TiffTest, EightBitRgbStrips) {
  const Image image = PatternImage(13, 10, 3, PixelType::kUInt8);
  const StatusOr<Image> decoded = DecodeTiffOf(image, {.photometric = PHOTOMETRIC_RGB});
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameImage(*decoded, image);
  EXPECT_EQ(decoded->pages, 1);
}

TEST(TiffTest, SixteenBitGrayBigEndian) {
  const Image image = PatternImage(9, 7, 1, PixelType::kUInt16);
  const StatusOr<Image> decoded = DecodeTiffOf(image, {.big_endian = true});
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameImage(*decoded, image);
}

TEST(TiffTest, Float32WithDeflateAndFloatingPointPredictor) {
  // Little-endian: libtiff 4.5.0 itself does not round-trip big-endian files with the
  // floating-point predictor.
  const Image image = PatternImage(11, 6, 2, PixelType::kFloat32);
  const StatusOr<Image> decoded = DecodeTiffOf(image, {.sample_format = SAMPLEFORMAT_IEEEFP,
                                                       .compression = COMPRESSION_ADOBE_DEFLATE,
                                                       .predictor = PREDICTOR_FLOATINGPOINT});
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameImage(*decoded, image);
}

TEST(TiffTest, Float32BigEndian) {
  const Image image = PatternImage(5, 4, 1, PixelType::kFloat32);
  const StatusOr<Image> decoded =
      DecodeTiffOf(image, {.sample_format = SAMPLEFORMAT_IEEEFP, .big_endian = true});
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameImage(*decoded, image);
}

TEST(TiffTest, MultiPageCountsPagesAndReturnsTheFirst) {
  const Image image = PatternImage(8, 8, 1, PixelType::kUInt8);
  const StatusOr<Image> decoded = DecodeTiffOf(image, {.pages = 3});
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->pages, 3);
  ExpectSameImage(*decoded, image);  // page 0 is the unmodified image
}

TEST(TiffTest, PlanarSeparateStripsAreInterleaved) {
  const Image image = PatternImage(10, 9, 3, PixelType::kUInt8);
  const StatusOr<Image> decoded =
      DecodeTiffOf(image, {.photometric = PHOTOMETRIC_RGB, .planar = true});
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameImage(*decoded, image);
}

TEST(TiffTest, TiledContiguousWithPartialEdgeTiles) {
  const Image image = PatternImage(40, 35, 4, PixelType::kUInt16);
  const StatusOr<Image> decoded =
      DecodeTiffOf(image, {.photometric = PHOTOMETRIC_RGB, .tiled = true});
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameImage(*decoded, image);
}

TEST(TiffTest, TiledPlanarSeparate) {
  const Image image = PatternImage(20, 18, 3, PixelType::kUInt8);
  const StatusOr<Image> decoded =
      DecodeTiffOf(image, {.photometric = PHOTOMETRIC_RGB, .planar = true, .tiled = true});
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameImage(*decoded, image);
}

TEST(TiffTest, LzwWithHorizontalPredictor) {
  const Image image = PatternImage(17, 12, 3, PixelType::kUInt16);
  const StatusOr<Image> decoded = DecodeTiffOf(image, {.photometric = PHOTOMETRIC_RGB,
                                                       .rows_per_strip = 5,
                                                       .compression = COMPRESSION_LZW,
                                                       .predictor = PREDICTOR_HORIZONTAL});
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameImage(*decoded, image);
}

TEST(TiffTest, ManyChannelMicroscopyStack) {
  const Image image = PatternImage(6, 5, 7, PixelType::kUInt16);
  const StatusOr<Image> decoded = DecodeTiffOf(image, {.planar = true});
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameImage(*decoded, image);
}

TEST(TiffTest, MinIsWhiteIsInverted) {
  const Image image = PatternImage(5, 4, 1, PixelType::kUInt8);
  const StatusOr<Image> decoded = DecodeTiffOf(image, {.photometric = PHOTOMETRIC_MINISWHITE});
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->data.size(), image.data.size());
  for (size_t i = 0; i < image.data.size(); ++i) {
    EXPECT_EQ(decoded->pixels<uint8_t>()[i], 255 - image.pixels<uint8_t>()[i]) << i;
  }
}

TEST(TiffTest, PaletteIsExpandedToRgb) {
  Image indices = MakeImage(4, 1, 1, PixelType::kUInt8);
  const uint8_t values[] = {0, 1, 2, 255};
  std::memcpy(indices.data.data(), values, 4);
  TiffSpec spec{.photometric = PHOTOMETRIC_PALETTE};
  spec.colormap.assign(size_t{3} * 256, 0);
  for (int i = 0; i < 256; ++i) {
    spec.colormap[i] = static_cast<uint16_t>(i * 257);                // red
    spec.colormap[256 + i] = static_cast<uint16_t>((255 - i) * 257);  // green
    spec.colormap[512 + i] = static_cast<uint16_t>(0x8000);           // blue
  }
  const StatusOr<Image> decoded = DecodeTiffOf(indices, spec);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->channels, 3);
  const std::vector<uint8_t> expected = {0, 255, 128, 1, 254, 128, 2, 253, 128, 255, 0, 128};
  EXPECT_EQ(std::vector<uint8_t>(decoded->pixels<uint8_t>(), decoded->pixels<uint8_t>() + 12),
            expected);
}

TEST(TiffTest, JpegCompressedYCbCrBecomesRgb) {
  if (TIFFIsCODECConfigured(COMPRESSION_JPEG) != 1) GTEST_SKIP() << "libtiff without JPEG";
  const Image image = SmoothRgb(32, 32);
  const StatusOr<Image> decoded = DecodeTiffOf(
      image,
      {.photometric = PHOTOMETRIC_YCBCR, .rows_per_strip = 16, .compression = COMPRESSION_JPEG});
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->channels, 3);
  EXPECT_LE(MaxAbsDiff(*decoded, image), 6);
}

TEST(TiffTest, RefusesTwelveBitSamples) {
  const Image image = PatternImage(4, 4, 1, PixelType::kUInt16);
  ExpectInvalid(DecodeTiffOf(image, {.bits = 12}), "unsupported TIFF: 12-bit samples");
}

TEST(TiffTest, RefusesSignedSamples) {
  const Image image = PatternImage(4, 4, 1, PixelType::kUInt16);
  ExpectInvalid(DecodeTiffOf(image, {.sample_format = SAMPLEFORMAT_INT}),
                "unsupported TIFF: signed 16-bit samples");
}

TEST(TiffTest, RefusesCmyk) {
  const Image image = PatternImage(4, 4, 4, PixelType::kUInt8);
  ExpectInvalid(DecodeTiffOf(image, {.photometric = PHOTOMETRIC_SEPARATED}),
                "unsupported TIFF: CMYK");
}

TEST(TiffTest, MaxPixels) {
  const Bytes tiff = WriteTiff(PatternImage(10, 10, 1, PixelType::kUInt8), {});
  ASSERT_FALSE(tiff.empty());
  EXPECT_TRUE(DecodeImage(Span(tiff), {.max_pixels = 100}).ok());
  ExpectInvalid(DecodeImage(Span(tiff), {.max_pixels = 99}), "exceeds the limit of 99 pixels");
}

TEST(TiffTest, MaxBytesGuardsManyChannels) {
  const Bytes tiff = WriteTiff(PatternImage(10, 10, 7, PixelType::kUInt16), {.planar = true});
  ASSERT_FALSE(tiff.empty());
  ExpectInvalid(DecodeImage(Span(tiff), {.max_bytes = 1000}), "exceeds the limit of 1000 bytes");
}

TEST(TiffTest, TruncatedIsInvalid) {
  const Bytes tiff =
      WriteTiff(PatternImage(32, 32, 3, PixelType::kUInt8), {.photometric = PHOTOMETRIC_RGB});
  ASSERT_FALSE(tiff.empty());
  for (size_t keep : {size_t{4}, size_t{8}, size_t{100}, tiff.size() / 2, tiff.size() - 10}) {
    const Bytes cut(tiff.begin(), tiff.begin() + static_cast<std::ptrdiff_t>(keep));
    ExpectInvalid(DecodeImage(Span(cut)), "corrupt TIFF");
  }
}

TEST(TiffTest, CorruptCompressedDataIsInvalid) {
  const Bytes tiff = WriteTiff(PatternImage(32, 32, 1, PixelType::kUInt8),
                               {.rows_per_strip = 32, .compression = COMPRESSION_ADOBE_DEFLATE});
  ASSERT_FALSE(tiff.empty());
  Bytes bad = tiff;
  // libtiff writes the pixel data right after the 8-byte header, the IFD after it.
  for (size_t i = 8; i < 24; ++i) bad[i] = std::byte{0xAB};
  ExpectInvalid(DecodeImage(Span(bad)), "corrupt TIFF");
}

TEST(TiffTest, HeaderPointingNowhereIsInvalid) {
  ExpectInvalid(DecodeImage(Span(Raw({'I', 'I', 42, 0, 0xFF, 0xFF, 0xFF, 0x0F}))), "corrupt TIFF");
}

// ---- Robustness: random and mutated input never crashes, only InvalidArgument ----

void ExpectOkOrInvalid(const Bytes& bytes) {
  const StatusOr<Image> result = DecodeImage(Span(bytes));
  if (!result.ok()) {
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
  }
}

TEST(DecodeRobustnessTest, RandomBytesBehindEachMagic) {
  std::mt19937 rng(1234);
  const std::vector<Bytes> magics = {Raw({0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A}),
                                     Raw({0xFF, 0xD8, 0xFF}), Raw({'I', 'I', 42, 0}),
                                     Raw({'M', 'M', 0, 42}), Raw({'I', 'I', 43, 0})};
  for (const Bytes& magic : magics) {
    for (int i = 0; i < 200; ++i) {
      Bytes bytes = magic;
      const size_t n = rng() % 512;
      for (size_t k = 0; k < n; ++k) bytes.push_back(static_cast<std::byte>(rng()));
      ExpectOkOrInvalid(bytes);
    }
  }
}

TEST(DecodeRobustnessTest, MutatedValidFiles) {
  std::vector<Bytes> seeds;
  seeds.push_back(*EncodePng(PatternImage(16, 12, 3, PixelType::kUInt8)));
  seeds.push_back(*EncodePng(PatternImage(9, 9, 2, PixelType::kUInt16)));
  seeds.push_back(MakeJpeg(SmoothRgb(32, 24), TJPF_RGB, TJSAMP_420));
  seeds.push_back(WriteTiff(PatternImage(16, 16, 3, PixelType::kUInt8),
                            {.photometric = PHOTOMETRIC_RGB, .tiled = true}));
  seeds.push_back(WriteTiff(PatternImage(12, 10, 1, PixelType::kUInt16),
                            {.compression = COMPRESSION_LZW, .predictor = PREDICTOR_HORIZONTAL}));
  seeds.push_back(WriteTiff(PatternImage(12, 10, 3, PixelType::kUInt8),
                            {.photometric = PHOTOMETRIC_RGB, .planar = true, .pages = 2}));
  std::mt19937 rng(99);
  for (const Bytes& seed : seeds) {
    ASSERT_FALSE(seed.empty());
    for (int i = 0; i < 300; ++i) {
      Bytes bytes = seed;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < flips; ++k) {
        // Keep the magic so the intended decoder runs.
        const size_t at = 4 + rng() % (bytes.size() - 4);
        bytes[at] = static_cast<std::byte>(rng());
      }
      if (rng() % 4 == 0) bytes.resize(4 + rng() % (bytes.size() - 4));
      ExpectOkOrInvalid(bytes);
    }
  }
}

}  // namespace
}  // namespace infera
