#include "imaging/image_header.h"

#include <gtest/gtest.h>

#include <string>

namespace infera {
namespace {

std::span<const std::byte> Bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

std::string Be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

std::string PngHeader(uint32_t width, uint32_t height) {
  return std::string("\x89PNG\r\n\x1a\n", 8) + Be32(13) + "IHDR" + Be32(width) + Be32(height) +
         std::string("\x08\x02\x00\x00\x00", 5) + Be32(0);
}

TEST(ImageHeaderTest, ReadsPngDimensions) {
  const ImageHeader h = ReadImageHeader(Bytes(PngHeader(640, 480)));
  EXPECT_EQ(h.format, ImageFormat::kPng);
  EXPECT_EQ(h.width, 640);
  EXPECT_EQ(h.height, 480);
}

TEST(ImageHeaderTest, ReadsJpegDimensionsAfterOtherSegments) {
  std::string jpeg("\xFF\xD8", 2);
  jpeg += std::string("\xFF\xE0\x00\x10", 4) + std::string(14, 'j');    // APP0, 16 bytes
  jpeg += std::string("\xFF\xDB\x00\x04\x00\x00", 6);                   // DQT (short)
  jpeg += std::string("\xFF\xC2\x00\x11\x08\x01\xE0\x02\x80\x03", 10);  // SOF2 480 x 640
  const ImageHeader h = ReadImageHeader(Bytes(jpeg));
  EXPECT_EQ(h.format, ImageFormat::kJpeg);
  EXPECT_EQ(h.width, 640);
  EXPECT_EQ(h.height, 480);
  // Cut before the SOF: the dimensions are unknown, not an error.
  EXPECT_FALSE(ReadImageHeader(Bytes(jpeg.substr(0, 24))).dimensions_known());
}

TEST(ImageHeaderTest, ReadsTiffDimensionsBothByteOrders) {
  // Little-endian: IFD at 8 with two entries (ImageWidth SHORT 300, ImageLength LONG 200).
  std::string le("II*\0\x08\0\0\0", 8);
  le += std::string("\x02\x00", 2);
  le += std::string("\x00\x01\x03\x00\x01\x00\x00\x00\x2C\x01\x00\x00", 12);
  le += std::string("\x01\x01\x04\x00\x01\x00\x00\x00\xC8\x00\x00\x00", 12);
  ImageHeader h = ReadImageHeader(Bytes(le));
  EXPECT_EQ(h.format, ImageFormat::kTiff);
  EXPECT_EQ(h.width, 300);
  EXPECT_EQ(h.height, 200);
  std::string be("MM\0*\0\0\0\x08", 8);
  be += std::string("\x00\x02", 2);
  be += std::string("\x01\x00\x00\x03\x00\x00\x00\x01\x01\x2C\x00\x00", 12);
  be += std::string("\x01\x01\x00\x04\x00\x00\x00\x01\x00\x00\x00\xC8", 12);
  h = ReadImageHeader(Bytes(be));
  EXPECT_EQ(h.width, 300);
  EXPECT_EQ(h.height, 200);
  // The IFD beyond the bytes given: unknown.
  std::string far("II*\0\x00\x00\x01\x00", 8);
  EXPECT_FALSE(ReadImageHeader(Bytes(far)).dimensions_known());
}

// Issue 22 item 4: a bomb declares its size in its first bytes; it is refused there.
TEST(ImageHeaderTest, CheckRefusesNonImagesAndTooManyPixels) {
  DecodeLimits limits;
  limits.max_pixels = 1'000'000;
  EXPECT_EQ(CheckImageHeader(Bytes(std::string(1000, '\0')), limits).status().code(),
            absl::StatusCode::kInvalidArgument);
  const Status bomb = CheckImageHeader(Bytes(PngHeader(60000, 60000)), limits).status();
  EXPECT_EQ(bomb.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(bomb.message()).find("60000 x 60000"), std::string::npos) << bomb;
  EXPECT_EQ(CheckImageHeader(Bytes(PngHeader(0, 10)), limits).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckImageHeader(Bytes(PngHeader(1000, 1000)), limits).ok());
}

// Found by fuzz/targets/image_header.cc (fuzz/corpus/image_header/regress-*): a PNG may
// declare up to 2^32 - 1 pixels each way, and width * height overflowed int64 (undefined
// behaviour; in practice a negative product that passed the check).
TEST(ImageHeaderTest, CheckRefusesDimensionsWhoseProductOverflows) {
  DecodeLimits limits;
  limits.max_pixels = 1'000'000;
  const Status huge = CheckImageHeader(Bytes(PngHeader(0xF7F7F7F7u, 0xF7F7F7F7u)), limits).status();
  EXPECT_EQ(huge.code(), absl::StatusCode::kInvalidArgument) << huge;
  // (2^32 - 1)^2 wraps to a negative int64, which is not over any limit.
  const Status wraps =
      CheckImageHeader(Bytes(PngHeader(0xFFFFFFFFu, 0xFFFFFFFFu)), limits).status();
  EXPECT_EQ(wraps.code(), absl::StatusCode::kInvalidArgument) << wraps;
  EXPECT_EQ(CheckImageHeader(Bytes(PngHeader(0xFFFFFFFFu, 1)), limits).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckImageHeader(Bytes(PngHeader(1'000'000, 1)), limits).ok());
}

}  // namespace
}  // namespace infera
