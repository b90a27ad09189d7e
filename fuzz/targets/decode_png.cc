// Fuzz target: the PNG decoders behind DecodeImage (imaging/png_fast_decode.cc, then
// libpng in imaging/png_codec.cc for what it leaves), which decode every uploaded image
// and every /predict and BYTES input. Inputs of another format are skipped so the
// fuzzer stays on these decoders.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "imaging/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto bytes = infera::fuzz::Bytes(data, size);
  if (infera::DetectImageFormat(bytes) != infera::ImageFormat::kPng) return 0;
  infera::DecodeLimits limits;
  limits.max_pixels = 1 << 22;  // what a fuzzer's memory limit allows
  limits.max_bytes = int64_t{64} << 20;
  const auto image = infera::DecodeImage(bytes, limits);
  if (image.ok()) {
    // What the decoder promises: the declared size fits the limit and the samples fill it.
    if (image->width <= 0 || image->height <= 0 ||
        int64_t{image->width} * image->height > limits.max_pixels ||
        image->data.size() != image->row_bytes() * static_cast<size_t>(image->height)) {
      __builtin_trap();
    }
  }
  return 0;
}
