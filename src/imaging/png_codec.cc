// PNG decoding and encoding with libpng; DecodePng first tries the libdeflate decoder
// of imaging/png_fast_decode.h, which covers the common PNGs.
//
// libpng reports errors by longjmp-ing to a setjmp in its caller. To keep that sound
// in C++, every function below that calls setjmp (the *Phase functions) holds only
// trivially destructible locals, and everything with a destructor (the Image, the
// row-pointer vector, Status values) lives in a caller frame that the longjmp never
// crosses. Errors and warnings never reach stderr: the error callback records the
// message and longjmps; warnings are dropped.
#include <png.h>
#include <zlib.h>

#include <bit>
#include <climits>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <new>
#include <vector>

#include "absl/strings/str_cat.h"
#include "imaging/codec.h"
#include "imaging/codec_internal.h"
#include "imaging/png_fast_decode.h"

namespace infera {

namespace {

constexpr bool kLittleEndian = std::endian::native == std::endian::little;

// Shared by reader and writer: the callbacks reach it via png_get_error_ptr.
struct PngErrorState {
  char message[256] = "";
};

[[noreturn]] void OnPngError(png_structp png, png_const_charp message) {
  auto* state = static_cast<PngErrorState*>(png_get_error_ptr(png));
  if (state != nullptr && state->message[0] == '\0') {
    std::snprintf(state->message, sizeof(state->message), "%s",
                  message != nullptr ? message : "unknown error");
  }
  png_longjmp(png, 1);
}

void OnPngWarning(png_structp /*png*/, png_const_charp /*message*/) {}

// ---- Reading ----

struct PngSource {
  std::span<const std::byte> bytes;
  size_t offset = 0;
};

void ReadPngBytes(png_structp png, png_bytep out, size_t length) {
  auto* source = static_cast<PngSource*>(png_get_io_ptr(png));
  if (length > source->bytes.size() - source->offset) png_error(png, "unexpected end of data");
  std::memcpy(out, source->bytes.data() + source->offset, length);
  source->offset += length;
}

// Geometry after libpng's transforms (png_read_update_info).
struct PngHeader {
  png_uint_32 width = 0;
  png_uint_32 height = 0;
  int channels = 0;
  int bit_depth = 0;
  size_t row_bytes = 0;
};

// Reads the header and sets up the transforms: palette -> RGB, low-bit gray -> 8-bit,
// tRNS -> alpha, 16-bit samples in host byte order, interlacing handled by libpng.
// False when libpng reported an error.
bool ReadHeaderPhase(png_structp png, png_infop info, PngSource* source, PngHeader* header) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_read_fn(png, source, ReadPngBytes);
  png_read_info(png, info);
  int bit_depth = 0;
  int color_type = 0;
  png_get_IHDR(png, info, &header->width, &header->height, &bit_depth, &color_type, nullptr,
               nullptr, nullptr);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS) != 0) png_set_tRNS_to_alpha(png);
  if (bit_depth == 16 && kLittleEndian) png_set_swap(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  header->channels = png_get_channels(png, info);
  header->bit_depth = png_get_bit_depth(png, info);
  header->row_bytes = png_get_rowbytes(png, info);
  return true;
}

bool ReadRowsPhase(png_structp png, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  return true;
}

struct PngReader {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~PngReader() { png_destroy_read_struct(&png, &info, nullptr); }
};

Status CorruptPng(const PngErrorState& errors) {
  return absl::InvalidArgumentError(absl::StrCat("corrupt PNG: ", errors.message));
}

// ---- Writing ----

struct PngSink {
  std::vector<std::byte>* out = nullptr;
};

void WritePngBytes(png_structp png, png_bytep data, size_t length) {
  auto* sink = static_cast<PngSink*>(png_get_io_ptr(png));
  bool ok = true;
  try {
    const auto* begin = reinterpret_cast<const std::byte*>(data);
    sink->out->insert(sink->out->end(), begin, begin + length);
  } catch (const std::bad_alloc&) {
    ok = false;
  }
  // Outside the catch block: png_error longjmps, which must not leave a handler.
  if (!ok) png_error(png, "out of memory");
}

void FlushPngBytes(png_structp /*png*/) {}

bool WritePhase(png_structp png, png_infop info, PngSink* sink, const Image& image, int color_type,
                png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_write_fn(png, sink, WritePngBytes, FlushPngBytes);
  const int bit_depth = image.type == PixelType::kUInt16 ? 16 : 8;
  // Speed over the last bytes: masks and previews are written once per image of a job,
  // on the CPU the engine needs. Gray images (masks, label maps: long runs of equal
  // values) are run-length coded unfiltered; colour ones get the cheap Sub filter and
  // zlib level 1. Measured in docs/PERFORMANCE.md (bench job, 512x512).
  if (color_type == PNG_COLOR_TYPE_GRAY) {
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
    png_set_compression_strategy(png, Z_RLE);
  } else {
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
  }
  png_set_compression_level(png, 1);
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.width),
               static_cast<png_uint_32>(image.height), bit_depth, color_type, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  if (bit_depth == 16 && kLittleEndian) png_set_swap(png);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  return true;
}

struct PngWriter {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~PngWriter() { png_destroy_write_struct(&png, &info); }
};

}  // namespace

namespace imaging_internal {

StatusOr<Image> DecodePngLibpng(std::span<const std::byte> bytes, const DecodeLimits& limits) {
  PngErrorState errors;
  PngSource source{bytes};
  PngReader reader;
  reader.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &errors, OnPngError, OnPngWarning);
  if (reader.png == nullptr) return absl::InternalError("cannot create a libpng reader");
  reader.info = png_create_info_struct(reader.png);
  if (reader.info == nullptr) return absl::InternalError("cannot create a libpng reader");

  PngHeader header;
  if (!ReadHeaderPhase(reader.png, reader.info, &source, &header)) return CorruptPng(errors);
  if (header.bit_depth != 8 && header.bit_depth != 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported PNG: ", header.bit_depth, "-bit samples after expansion"));
  }
  const PixelType type = header.bit_depth == 16 ? PixelType::kUInt16 : PixelType::kUInt8;
  RETURN_IF_ERROR(
      CheckDecodedSize("PNG", header.width, header.height, header.channels, type, limits));

  Image image = MakeImage(static_cast<int>(header.width), static_cast<int>(header.height),
                          header.channels, type);
  if (header.row_bytes != image.row_bytes()) {
    return absl::InvalidArgumentError("unsupported PNG: unexpected row size");
  }
  std::vector<png_bytep> rows(header.height);
  for (png_uint_32 y = 0; y < header.height; ++y) {
    rows[y] = reinterpret_cast<png_bytep>(image.data.data() + y * image.row_bytes());
  }
  if (!ReadRowsPhase(reader.png, rows.data())) return CorruptPng(errors);
  return image;
}

StatusOr<Image> DecodePng(std::span<const std::byte> bytes, const DecodeLimits& limits) {
  // The fast decoder's Image equals libpng's; whatever it does not return (another kind
  // of PNG, an error) libpng decides, so errors and their messages stay libpng's. A
  // corrupt file may thus be parsed twice: at most twice the work of a valid one.
  StatusOr<Image> fast = DecodePngFast(bytes, limits);
  if (fast.ok()) return fast;
  // libpng's own verdict, without its allocation of the declared chunk length.
  if (EndsInsideAncillaryChunk(bytes)) {
    return absl::InvalidArgumentError("corrupt PNG: unexpected end of data");
  }
  return DecodePngLibpng(bytes, limits);
}

}  // namespace imaging_internal

StatusOr<std::vector<std::byte>> EncodePng(const Image& image) {
  if (image.type != PixelType::kUInt8 && image.type != PixelType::kUInt16) {
    return absl::InvalidArgumentError("PNG encoding needs 8- or 16-bit samples");
  }
  int color_type = 0;
  switch (image.channels) {
    case 1:
      color_type = PNG_COLOR_TYPE_GRAY;
      break;
    case 2:
      color_type = PNG_COLOR_TYPE_GRAY_ALPHA;
      break;
    case 3:
      color_type = PNG_COLOR_TYPE_RGB;
      break;
    case 4:
      color_type = PNG_COLOR_TYPE_RGB_ALPHA;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("PNG encoding needs 1-4 channels, got ", image.channels));
  }
  if (image.width <= 0 || image.height <= 0) {
    return absl::InvalidArgumentError("cannot encode an empty image as PNG");
  }
  if (image.data.size() != image.row_bytes() * static_cast<size_t>(image.height)) {
    return absl::InvalidArgumentError("image data size does not match its geometry");
  }

  PngErrorState errors;
  PngWriter writer;
  writer.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &errors, OnPngError, OnPngWarning);
  if (writer.png == nullptr) return absl::InternalError("cannot create a libpng writer");
  writer.info = png_create_info_struct(writer.png);
  if (writer.info == nullptr) return absl::InternalError("cannot create a libpng writer");

  // libpng copies each row before transforming it (png_set_swap), so the const_cast
  // never leads to a write.
  std::vector<png_bytep> rows(static_cast<size_t>(image.height));
  for (size_t y = 0; y < rows.size(); ++y) {
    rows[y] = reinterpret_cast<png_bytep>(
        const_cast<std::byte*>(image.data.data() + y * image.row_bytes()));
  }
  std::vector<std::byte> out;
  PngSink sink{&out};
  if (!WritePhase(writer.png, writer.info, &sink, image, color_type, rows.data())) {
    return absl::InvalidArgumentError(absl::StrCat("cannot encode PNG: ", errors.message));
  }
  return out;
}

}  // namespace infera
