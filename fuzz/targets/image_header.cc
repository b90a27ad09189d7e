// Fuzz target: image header sniffing (imaging/image_header), which sees the first bytes
// of every upload and ZIP entry before anything else does.
#include "imaging/image_header.h"

#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "imaging/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto bytes = infera::fuzz::Bytes(data, size);
  const infera::ImageHeader header = infera::ReadImageHeader(bytes);
  (void)infera::DetectImageFormat(bytes);
  infera::DecodeLimits limits;
  limits.max_pixels = 1 << 20;
  const auto checked = infera::CheckImageHeader(bytes, limits);
  // A header that passes the check agrees with the plain read and is within the limit.
  if (checked.ok()) {
    if (checked->format != header.format || checked->width != header.width ||
        checked->height != header.height) {
      __builtin_trap();
    }
    if (checked->dimensions_known() &&
        static_cast<__int128>(checked->width) * checked->height > limits.max_pixels) {
      __builtin_trap();
    }
  }
  return 0;
}
