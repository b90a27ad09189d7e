// TIFF decoding and encoding with libtiff, reading from and writing to memory through
// TIFFClientOpenExt.
//
// Errors and warnings go to handlers installed per handle (TIFFOpenOptions, libtiff
// >= 4.5), which keep the first error message for the Status; libtiff's process-wide
// handlers, which print to stderr, are silenced once for the few paths that bypass
// the per-handle ones. Thread-safe: no shared mutable state besides that one-time
// silencing.
#include <tiffio.h>

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "imaging/codec.h"
#include "imaging/codec_internal.h"

namespace infera::imaging_internal {

namespace {

// ---- Memory I/O ----

struct TiffSource {
  std::span<const std::byte> bytes;
  uint64_t offset = 0;
};

tmsize_t TiffRead(thandle_t handle, void* buffer, tmsize_t size) {
  auto* source = static_cast<TiffSource*>(handle);
  if (size <= 0 || source->offset >= source->bytes.size()) return 0;
  const uint64_t n =
      std::min<uint64_t>(static_cast<uint64_t>(size), source->bytes.size() - source->offset);
  std::memcpy(buffer, source->bytes.data() + source->offset, n);
  source->offset += n;
  return static_cast<tmsize_t>(n);
}

tmsize_t TiffWrite(thandle_t /*handle*/, void* /*buffer*/, tmsize_t /*size*/) { return -1; }

toff_t TiffSeek(thandle_t handle, toff_t offset, int whence) {
  auto* source = static_cast<TiffSource*>(handle);
  uint64_t base = 0;
  switch (whence) {
    case SEEK_SET:
      source->offset = offset;
      return source->offset;
    case SEEK_CUR:
      base = source->offset;
      break;
    case SEEK_END:
      base = source->bytes.size();
      break;
    default:
      return static_cast<toff_t>(-1);
  }
  // For SEEK_CUR and SEEK_END the offset is a signed quantity in unsigned clothing.
  const auto delta = static_cast<int64_t>(offset);
  if (delta < 0 && static_cast<uint64_t>(-(delta + 1)) + 1 > base) {
    return static_cast<toff_t>(-1);
  }
  source->offset = base + offset;  // modular arithmetic gives base + delta
  return source->offset;
}

int TiffClose(thandle_t /*handle*/) { return 0; }

toff_t TiffSize(thandle_t handle) { return static_cast<TiffSource*>(handle)->bytes.size(); }

int TiffMap(thandle_t /*handle*/, void** /*base*/, toff_t* /*size*/) { return 0; }

void TiffUnmap(thandle_t /*handle*/, void* /*base*/, toff_t /*size*/) {}

// A growable output buffer for EncodeTiff: libtiff writes, seeks back (to patch
// directory offsets) and may read what it wrote.
struct TiffSink {
  std::vector<std::byte>* out = nullptr;
  uint64_t offset = 0;
};

tmsize_t SinkRead(thandle_t handle, void* buffer, tmsize_t size) {
  auto* sink = static_cast<TiffSink*>(handle);
  if (size <= 0 || sink->offset >= sink->out->size()) return 0;
  const uint64_t n =
      std::min<uint64_t>(static_cast<uint64_t>(size), sink->out->size() - sink->offset);
  std::memcpy(buffer, sink->out->data() + sink->offset, n);
  sink->offset += n;
  return static_cast<tmsize_t>(n);
}

tmsize_t SinkWrite(thandle_t handle, void* buffer, tmsize_t size) {
  auto* sink = static_cast<TiffSink*>(handle);
  if (size < 0) return -1;
  if (size == 0) return 0;
  const uint64_t end = sink->offset + static_cast<uint64_t>(size);
  if (end < sink->offset) return -1;
  try {
    if (end > sink->out->size()) sink->out->resize(end);  // amortised growth
  } catch (const std::exception&) {                       // bad_alloc, length_error
    return -1;
  }
  std::memcpy(sink->out->data() + sink->offset, buffer, static_cast<size_t>(size));
  sink->offset = end;
  return size;
}

toff_t SinkSeek(thandle_t handle, toff_t offset, int whence) {
  auto* sink = static_cast<TiffSink*>(handle);
  uint64_t base = 0;
  switch (whence) {
    case SEEK_SET:
      sink->offset = offset;
      return sink->offset;
    case SEEK_CUR:
      base = sink->offset;
      break;
    case SEEK_END:
      base = sink->out->size();
      break;
    default:
      return static_cast<toff_t>(-1);
  }
  const auto delta = static_cast<int64_t>(offset);
  if (delta < 0 && static_cast<uint64_t>(-(delta + 1)) + 1 > base) {
    return static_cast<toff_t>(-1);
  }
  sink->offset = base + offset;  // modular arithmetic gives base + delta
  return sink->offset;
}

toff_t SinkSize(thandle_t handle) { return static_cast<TiffSink*>(handle)->out->size(); }

// ---- Diagnostics ----

struct TiffErrors {
  char message[256] = "";
};

int OnTiffError(TIFF* /*tif*/, void* user_data, const char* /*module*/, const char* format,
                va_list args) {
  auto* errors = static_cast<TiffErrors*>(user_data);
  // The first error is the cause; later ones are usually its consequences.
  if (errors->message[0] == '\0') {
    std::vsnprintf(errors->message, sizeof(errors->message), format, args);
  }
  return 1;  // handled: do not call the process-wide handler
}

int OnTiffWarning(TIFF* /*tif*/, void* /*user_data*/, const char* /*module*/,
                  const char* /*format*/, va_list /*args*/) {
  return 1;
}

void SilenceGlobalTiffHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    TIFFSetErrorHandler(nullptr);
    TIFFSetWarningHandler(nullptr);
  });
}

struct TiffOptionsDeleter {
  void operator()(TIFFOpenOptions* options) const { TIFFOpenOptionsFree(options); }
};
struct TiffCloser {
  void operator()(TIFF* tif) const { TIFFClose(tif); }
};

Status Corrupt(const TiffErrors& errors, std::string_view fallback) {
  return absl::InvalidArgumentError(absl::StrCat("corrupt TIFF: ", errors.message[0] != '\0'
                                                                       ? std::string(errors.message)
                                                                       : std::string(fallback)));
}

Status Unsupported(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("unsupported TIFF: ", std::string(what)));
}

// ---- Layout ----

// What the first directory holds, as far as decoding needs.
struct TiffLayout {
  uint32_t width = 0;
  uint32_t height = 0;
  uint16_t samples = 1;  // samples per pixel in the file
  PixelType type = PixelType::kUInt8;
  bool planar = false;  // PLANARCONFIG_SEPARATE
  bool invert = false;  // MINISWHITE: channel 0 is inverted
  bool palette = false;
};

Status ReadLayout(TIFF* tif, TiffLayout* layout) {
  if (TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &layout->width) != 1 ||
      TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &layout->height) != 1) {
    return absl::InvalidArgumentError("corrupt TIFF: no image dimensions");
  }
  uint16_t bits = 1;
  uint16_t format = SAMPLEFORMAT_UINT;
  uint16_t planar = PLANARCONFIG_CONTIG;
  uint16_t compression = COMPRESSION_NONE;
  uint16_t photometric = 0;
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &layout->samples);
  TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &format);
  TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
  TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
  if (TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric) != 1) {
    photometric = layout->samples >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
  }
  if (layout->samples == 0) return absl::InvalidArgumentError("corrupt TIFF: 0 samples per pixel");
  layout->planar = planar == PLANARCONFIG_SEPARATE;

  if (TIFFIsCODECConfigured(compression) != 1) {
    return Unsupported(absl::StrCat("compression scheme ", compression));
  }

  if (format == SAMPLEFORMAT_VOID) format = SAMPLEFORMAT_UINT;  // untyped: take as unsigned
  if (format == SAMPLEFORMAT_UINT && bits == 8) {
    layout->type = PixelType::kUInt8;
  } else if (format == SAMPLEFORMAT_UINT && bits == 16) {
    layout->type = PixelType::kUInt16;
  } else if (format == SAMPLEFORMAT_IEEEFP && bits == 32) {
    layout->type = PixelType::kFloat32;
  } else if (format == SAMPLEFORMAT_UINT) {
    return Unsupported(absl::StrCat(bits, "-bit samples"));
  } else if (format == SAMPLEFORMAT_INT) {
    return Unsupported(absl::StrCat("signed ", bits, "-bit samples"));
  } else if (format == SAMPLEFORMAT_IEEEFP) {
    return Unsupported(absl::StrCat(bits, "-bit floating-point samples"));
  } else {
    return Unsupported(absl::StrCat("sample format ", format));
  }

  switch (photometric) {
    case PHOTOMETRIC_MINISBLACK:
      break;
    case PHOTOMETRIC_MINISWHITE:
      if (layout->type == PixelType::kFloat32) {
        return Unsupported("floating-point samples with white as zero (MINISWHITE)");
      }
      layout->invert = true;
      break;
    case PHOTOMETRIC_RGB:
      if (layout->samples < 3) {
        return absl::InvalidArgumentError(
            absl::StrCat("corrupt TIFF: RGB with ", layout->samples, " samples per pixel"));
      }
      break;
    case PHOTOMETRIC_PALETTE:
      if (layout->type != PixelType::kUInt8 || layout->samples != 1) {
        return Unsupported("palette images other than 8-bit with one sample per pixel");
      }
      layout->palette = true;
      break;
    case PHOTOMETRIC_YCBCR:
      // libtiff's JPEG codec converts to RGB itself; other YCbCr (subsampled raw
      // data) is rare enough to refuse.
      if (compression != COMPRESSION_JPEG || layout->samples != 3 ||
          layout->type != PixelType::kUInt8) {
        return Unsupported("YCbCr images other than JPEG-compressed 8-bit");
      }
      if (TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB) != 1) {
        return Unsupported("cannot convert JPEG YCbCr to RGB");
      }
      break;
    case PHOTOMETRIC_SEPARATED:
      return Unsupported("CMYK (separated) images");
    default:
      return Unsupported(absl::StrCat("photometric interpretation ", photometric));
  }
  return absl::OkStatus();
}

// Copies one plane (sample `sample` of `samples`) of `rows` x `cols` samples, laid out
// with `src_stride` bytes per row, into the interleaved `dst` (dst_stride bytes per row).
template <size_t kSampleBytes>
void ScatterPlane(const std::byte* src, size_t src_stride, std::byte* dst, size_t dst_stride,
                  size_t rows, size_t cols, size_t samples, size_t sample) {
  const size_t pixel_bytes = samples * kSampleBytes;
  for (size_t r = 0; r < rows; ++r) {
    const std::byte* s = src + r * src_stride;
    std::byte* d = dst + r * dst_stride + sample * kSampleBytes;
    for (size_t c = 0; c < cols; ++c) {
      std::memcpy(d + c * pixel_bytes, s + c * kSampleBytes, kSampleBytes);
    }
  }
}

void Scatter(size_t sample_bytes, const std::byte* src, size_t src_stride, std::byte* dst,
             size_t dst_stride, size_t rows, size_t cols, size_t samples, size_t sample) {
  switch (sample_bytes) {
    case 1:
      return ScatterPlane<1>(src, src_stride, dst, dst_stride, rows, cols, samples, sample);
    case 2:
      return ScatterPlane<2>(src, src_stride, dst, dst_stride, rows, cols, samples, sample);
    default:
      return ScatterPlane<4>(src, src_stride, dst, dst_stride, rows, cols, samples, sample);
  }
}

// Reads all strips of the current directory into `image` (interleaved, `samples`
// channels).
Status ReadStrips(TIFF* tif, const TiffLayout& layout, const TiffErrors& errors, Image* image) {
  const size_t sample_bytes = PixelTypeSize(layout.type);
  const size_t width = layout.width;
  const size_t plane_row = width * (layout.planar ? 1 : layout.samples) * sample_bytes;
  if (TIFFScanlineSize64(tif) != plane_row) return Unsupported("unexpected scanline size");
  uint32_t rows_per_strip = 0;
  TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rows_per_strip);
  if (rows_per_strip == 0 || rows_per_strip > layout.height) rows_per_strip = layout.height;

  std::byte* dst = image->data.data();
  const size_t dst_stride = image->row_bytes();
  std::vector<std::byte> plane;  // one strip of one sample plane (planar only)
  if (layout.planar) plane.resize(rows_per_strip * plane_row);
  const uint16_t planes = layout.planar ? layout.samples : 1;
  for (uint16_t sample = 0; sample < planes; ++sample) {
    for (uint32_t row = 0; row < layout.height; row += rows_per_strip) {
      const uint32_t rows = std::min(rows_per_strip, layout.height - row);
      const auto want = static_cast<tmsize_t>(rows * plane_row);
      const uint32_t strip = TIFFComputeStrip(tif, row, sample);
      if (strip >= TIFFNumberOfStrips(tif)) return Corrupt(errors, "missing strips");
      std::byte* target = layout.planar ? plane.data() : dst + row * dst_stride;
      if (TIFFReadEncodedStrip(tif, strip, target, want) != want) {
        return Corrupt(errors, absl::StrCat("cannot read strip ", strip));
      }
      if (layout.planar) {
        Scatter(sample_bytes, plane.data(), plane_row, dst + row * dst_stride, dst_stride, rows,
                width, layout.samples, sample);
      }
    }
  }
  return absl::OkStatus();
}

// Reads all tiles of the current directory into `image`.
Status ReadTiles(TIFF* tif, const TiffLayout& layout, const TiffErrors& errors,
                 const DecodeLimits& limits, Image* image) {
  uint32_t tile_width = 0;
  uint32_t tile_height = 0;
  if (TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tile_width) != 1 ||
      TIFFGetField(tif, TIFFTAG_TILELENGTH, &tile_height) != 1 || tile_width == 0 ||
      tile_height == 0) {
    return absl::InvalidArgumentError("corrupt TIFF: bad tile size");
  }
  const size_t sample_bytes = PixelTypeSize(layout.type);
  const size_t tile_samples = layout.planar ? 1 : layout.samples;
  // Tiles may overhang the image, so they get their own limit check.
  if (!CheckDecodedSize("TIFF", tile_width, tile_height, static_cast<int64_t>(tile_samples),
                        layout.type, limits)
           .ok()) {
    return Unsupported(absl::StrCat("tiles of ", tile_width, "x", tile_height,
                                    " pixels exceed the decode limits"));
  }
  const size_t tile_row = tile_width * tile_samples * sample_bytes;
  const size_t tile_bytes = tile_row * tile_height;
  if (TIFFTileSize64(tif) != tile_bytes) return Unsupported("unexpected tile size");

  std::vector<std::byte> tile(tile_bytes);
  std::byte* dst = image->data.data();
  const size_t dst_stride = image->row_bytes();
  const size_t pixel_bytes = layout.samples * sample_bytes;
  const uint16_t planes = layout.planar ? layout.samples : 1;
  for (uint16_t sample = 0; sample < planes; ++sample) {
    for (uint32_t y = 0; y < layout.height; y += std::min(tile_height, layout.height - y)) {
      const size_t rows = std::min(tile_height, layout.height - y);
      for (uint32_t x = 0; x < layout.width; x += std::min(tile_width, layout.width - x)) {
        const size_t cols = std::min(tile_width, layout.width - x);
        const uint32_t index = TIFFComputeTile(tif, x, y, 0, sample);
        if (index >= TIFFNumberOfTiles(tif)) return Corrupt(errors, "missing tiles");
        if (TIFFReadEncodedTile(tif, index, tile.data(), static_cast<tmsize_t>(tile_bytes)) !=
            static_cast<tmsize_t>(tile_bytes)) {
          return Corrupt(errors, absl::StrCat("cannot read tile ", index));
        }
        std::byte* origin = dst + y * dst_stride + x * pixel_bytes;
        if (layout.planar) {
          Scatter(sample_bytes, tile.data(), tile_row, origin, dst_stride, rows, cols,
                  layout.samples, sample);
        } else {
          for (size_t r = 0; r < rows; ++r) {
            std::memcpy(origin + r * dst_stride, tile.data() + r * tile_row, cols * pixel_bytes);
          }
        }
      }
    }
  }
  return absl::OkStatus();
}

template <typename T>
void InvertChannel0(Image* image, T max) {
  T* p = image->pixels<T>();
  const size_t n = static_cast<size_t>(image->width) * image->height;
  for (size_t i = 0; i < n; ++i)
    p[i * image->channels] = static_cast<T>(max - p[i * image->channels]);
}

// Expands an 8-bit palette image to 8-bit RGB. Colormap entries are 16-bit; old
// writers stored 8-bit values there, which is recognised as libtiff's RGBA reader does
// (no entry above 255).
Status ExpandPalette(TIFF* tif, const Image& indexed, Image* rgb) {
  uint16_t* red = nullptr;
  uint16_t* green = nullptr;
  uint16_t* blue = nullptr;
  if (TIFFGetField(tif, TIFFTAG_COLORMAP, &red, &green, &blue) != 1 || red == nullptr ||
      green == nullptr || blue == nullptr) {
    return absl::InvalidArgumentError("corrupt TIFF: palette image without a colormap");
  }
  constexpr int kEntries = 256;
  bool sixteen_bit = false;
  for (int i = 0; i < kEntries; ++i) {
    if (red[i] > 255 || green[i] > 255 || blue[i] > 255) sixteen_bit = true;
  }
  const int shift = sixteen_bit ? 8 : 0;
  uint8_t lut[kEntries][3];
  for (int i = 0; i < kEntries; ++i) {
    lut[i][0] = static_cast<uint8_t>(red[i] >> shift);
    lut[i][1] = static_cast<uint8_t>(green[i] >> shift);
    lut[i][2] = static_cast<uint8_t>(blue[i] >> shift);
  }
  *rgb = MakeImage(indexed.width, indexed.height, 3, PixelType::kUInt8);
  const uint8_t* src = indexed.pixels<uint8_t>();
  uint8_t* dst = rgb->pixels<uint8_t>();
  const size_t n = static_cast<size_t>(indexed.width) * indexed.height;
  for (size_t i = 0; i < n; ++i) std::memcpy(dst + 3 * i, lut[src[i]], 3);
  return absl::OkStatus();
}

}  // namespace

StatusOr<Image> DecodeTiff(std::span<const std::byte> bytes, const DecodeLimits& limits) {
  SilenceGlobalTiffHandlers();
  TiffErrors errors;
  TiffSource source{bytes};
  std::unique_ptr<TIFFOpenOptions, TiffOptionsDeleter> options(TIFFOpenOptionsAlloc());
  if (options == nullptr) return absl::InternalError("cannot allocate libtiff options");
  TIFFOpenOptionsSetErrorHandlerExtR(options.get(), OnTiffError, &errors);
  TIFFOpenOptionsSetWarningHandlerExtR(options.get(), OnTiffWarning, nullptr);
  // libtiff's own buffers (raw strips, directories) never need more than a page, or a
  // small floor for tiny limits.
  constexpr int64_t kMinLibtiffAlloc = 64 << 20;
  TIFFOpenOptionsSetMaxSingleMemAlloc(
      options.get(), static_cast<tmsize_t>(std::max(limits.max_bytes, kMinLibtiffAlloc)));
  // "m": no memory mapping, so all reads go through TiffRead.
  std::unique_ptr<TIFF, TiffCloser> tif(TIFFClientOpenExt("memory", "rm", &source, TiffRead,
                                                          TiffWrite, TiffSeek, TiffClose, TiffSize,
                                                          TiffMap, TiffUnmap, options.get()));
  if (tif == nullptr) return Corrupt(errors, "cannot read the header");

  const tdir_t pages = TIFFNumberOfDirectories(tif.get());
  TiffLayout layout;
  RETURN_IF_ERROR(ReadLayout(tif.get(), &layout));
  RETURN_IF_ERROR(CheckDecodedSize("TIFF", layout.width, layout.height,
                                   layout.palette ? 3 : layout.samples, layout.type, limits));

  Image image = MakeImage(static_cast<int>(layout.width), static_cast<int>(layout.height),
                          layout.samples, layout.type);
  if (TIFFIsTiled(tif.get())) {
    RETURN_IF_ERROR(ReadTiles(tif.get(), layout, errors, limits, &image));
  } else {
    RETURN_IF_ERROR(ReadStrips(tif.get(), layout, errors, &image));
  }
  if (layout.invert) {
    if (layout.type == PixelType::kUInt8) InvertChannel0<uint8_t>(&image, 255);
    if (layout.type == PixelType::kUInt16) InvertChannel0<uint16_t>(&image, 65535);
  }
  if (layout.palette) {
    Image rgb;
    RETURN_IF_ERROR(ExpandPalette(tif.get(), image, &rgb));
    image = std::move(rgb);
  }
  image.pages = static_cast<int>(std::clamp<tdir_t>(pages, 1, INT32_MAX));
  return image;
}

}  // namespace infera::imaging_internal

namespace infera {

StatusOr<std::vector<std::byte>> EncodeTiff(const Image& image) {
  using namespace imaging_internal;  // this file's I/O and diagnostics helpers
  if (image.width <= 0 || image.height <= 0 || image.channels <= 0) {
    return absl::InvalidArgumentError("cannot encode an empty image as TIFF");
  }
  if (image.channels > UINT16_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("TIFF encoding supports at most 65535 channels, got ", image.channels));
  }
  if (image.data.size() != image.row_bytes() * static_cast<size_t>(image.height)) {
    return absl::InvalidArgumentError("image data size does not match its geometry");
  }
  SilenceGlobalTiffHandlers();
  TiffErrors errors;
  std::vector<std::byte> out;
  TiffSink sink{&out};
  std::unique_ptr<TIFFOpenOptions, TiffOptionsDeleter> options(TIFFOpenOptionsAlloc());
  if (options == nullptr) return absl::InternalError("cannot allocate libtiff options");
  TIFFOpenOptionsSetErrorHandlerExtR(options.get(), OnTiffError, &errors);
  TIFFOpenOptionsSetWarningHandlerExtR(options.get(), OnTiffWarning, nullptr);
  // Classic TIFF offsets are 32-bit; leave room for the directory and compression overhead.
  const bool big = image.data.size() > (uint64_t{1} << 31);
  std::unique_ptr<TIFF, TiffCloser> tif(
      TIFFClientOpenExt("memory", big ? "w8" : "w", &sink, SinkRead, SinkWrite, SinkSeek, TiffClose,
                        SinkSize, TiffMap, TiffUnmap, options.get()));
  auto failed = [&errors](std::string_view what) {
    return absl::InternalError(absl::StrCat(
        "cannot encode TIFF: ", std::string(what),
        errors.message[0] != '\0' ? absl::StrCat(" (", errors.message, ")") : std::string()));
  };
  if (tif == nullptr) return failed("cannot open the libtiff writer");

  const uint16_t channels = static_cast<uint16_t>(image.channels);
  const bool integer = image.type != PixelType::kFloat32;
  const bool rgb = integer && (channels == 3 || channels == 4);
  std::vector<uint16_t> extra(channels - (rgb ? 3 : 1),
                              static_cast<uint16_t>(EXTRASAMPLE_UNSPECIFIED));
  if (rgb && channels == 4) extra[0] = EXTRASAMPLE_UNASSALPHA;
  const uint16_t compression = TIFFIsCODECConfigured(COMPRESSION_ADOBE_DEFLATE) == 1
                                   ? COMPRESSION_ADOBE_DEFLATE
                                   : COMPRESSION_NONE;
  bool ok =
      TIFFSetField(tif.get(), TIFFTAG_IMAGEWIDTH, static_cast<uint32_t>(image.width)) == 1 &&
      TIFFSetField(tif.get(), TIFFTAG_IMAGELENGTH, static_cast<uint32_t>(image.height)) == 1 &&
      TIFFSetField(tif.get(), TIFFTAG_SAMPLESPERPIXEL, channels) == 1 &&
      TIFFSetField(tif.get(), TIFFTAG_BITSPERSAMPLE,
                   static_cast<uint16_t>(8 * PixelTypeSize(image.type))) == 1 &&
      TIFFSetField(tif.get(), TIFFTAG_SAMPLEFORMAT,
                   integer ? SAMPLEFORMAT_UINT : SAMPLEFORMAT_IEEEFP) == 1 &&
      TIFFSetField(tif.get(), TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) == 1 &&
      TIFFSetField(tif.get(), TIFFTAG_PHOTOMETRIC,
                   rgb ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK) == 1 &&
      TIFFSetField(tif.get(), TIFFTAG_COMPRESSION, compression) == 1;
  if (ok && !extra.empty()) {
    ok = TIFFSetField(tif.get(), TIFFTAG_EXTRASAMPLES, static_cast<uint16_t>(extra.size()),
                      extra.data()) == 1;
  }
  const uint32_t rows_per_strip = std::max<uint32_t>(1, TIFFDefaultStripSize(tif.get(), 0));
  ok = ok && TIFFSetField(tif.get(), TIFFTAG_ROWSPERSTRIP, rows_per_strip) == 1;
  if (!ok) return failed("cannot set the TIFF tags");

  // TIFFWriteEncodedStrip may alter the buffer it is given (byte swapping, predictors),
  // so each strip goes through a scratch copy.
  const size_t row_bytes = image.row_bytes();
  const auto height = static_cast<uint32_t>(image.height);
  std::vector<std::byte> scratch;
  for (uint32_t row = 0, strip = 0; row < height; row += rows_per_strip, ++strip) {
    const uint32_t rows = std::min(rows_per_strip, height - row);
    const std::byte* begin = image.data.data() + row * row_bytes;
    scratch.assign(begin, begin + rows * row_bytes);
    const auto size = static_cast<tmsize_t>(scratch.size());
    if (TIFFWriteEncodedStrip(tif.get(), strip, scratch.data(), size) != size) {
      return failed(absl::StrCat("cannot write strip ", strip));
    }
  }
  if (TIFFWriteDirectory(tif.get()) != 1) return failed("cannot write the TIFF directory");
  tif.reset();  // TIFFClose: the directory is written, nothing is left to flush
  return out;
}

}  // namespace infera
