// JPEG decoding with libjpeg-turbo's TurboJPEG API. TurboJPEG keeps libjpeg's messages
// in the handle (nothing is printed); a handle is created per call, so this is
// thread-safe.
#include <turbojpeg.h>

#include <memory>
#include <string>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "imaging/codec.h"
#include "imaging/codec_internal.h"

namespace infera::imaging_internal {

namespace {

struct TjHandleDeleter {
  void operator()(void* handle) const { tjDestroy(handle); }
};
using TjHandle = std::unique_ptr<void, TjHandleDeleter>;

Status CorruptJpeg(tjhandle handle) {
  return absl::InvalidArgumentError(absl::StrCat("corrupt JPEG: ", tjGetErrorStr2(handle)));
}

}  // namespace

StatusOr<Image> DecodeJpeg(std::span<const std::byte> bytes, const DecodeLimits& limits) {
  TjHandle handle(tjInitDecompress());
  if (handle == nullptr) return absl::InternalError("cannot create a TurboJPEG decompressor");
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto size = static_cast<unsigned long>(bytes.size());

  int width = 0;
  int height = 0;
  int subsampling = 0;
  int colorspace = 0;
  if (tjDecompressHeader3(handle.get(), data, size, &width, &height, &subsampling, &colorspace) !=
      0) {
    return CorruptJpeg(handle.get());
  }
  if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) {
    return absl::InvalidArgumentError("unsupported JPEG: CMYK colour space");
  }
  const bool gray = colorspace == TJCS_GRAY;
  const int channels = gray ? 1 : 3;
  RETURN_IF_ERROR(CheckDecodedSize("JPEG", width, height, channels, PixelType::kUInt8, limits));

  Image image = MakeImage(width, height, channels, PixelType::kUInt8);
  // Accurate integer IDCT and fancy upsampling: libjpeg's defaults, as PIL and OpenCV
  // decode. LIMITSCANS refuses progressive files built to burn CPU.
  const int flags = TJFLAG_ACCURATEDCT | TJFLAG_LIMITSCANS;
  if (tjDecompress2(handle.get(), data, size, reinterpret_cast<unsigned char*>(image.data.data()),
                    width, /*pitch=*/0, height, gray ? TJPF_GRAY : TJPF_RGB, flags) != 0) {
    if (tjGetErrorCode(handle.get()) != TJERR_WARNING) return CorruptJpeg(handle.get());
    // A warning leaves a complete image. Most are benign (extraneous bytes before a
    // marker), but data that ends early leaves the rest of the image grey: refuse it.
    const std::string message = absl::AsciiStrToLower(tjGetErrorStr2(handle.get()));
    if (absl::StrContains(message, "premature end")) return CorruptJpeg(handle.get());
  }
  return image;
}

}  // namespace infera::imaging_internal
