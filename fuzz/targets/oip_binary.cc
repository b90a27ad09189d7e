// Fuzz target: Open Inference Protocol requests with the binary tensor extension and
// raw binary bodies (api/oip/inference_codec). Input layout: a line with the
// Inference-Header-Content-Length value, then the body; a first byte of 'R' instead
// takes the rest as a raw body for an input whose dtype and shape the next two bytes pick.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/oip/inference_codec.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = infera::fuzz::Text(data, size);
  if (in.size() >= 3 && in[0] == 'R') {
    const auto dtype = static_cast<infera::DType>(static_cast<uint8_t>(in[1]) % 12);
    const int64_t dim = static_cast<int8_t>(in[2]);  // -1: inferred from the size
    (void)infera::DecodeRawInput(in.substr(3), dtype, infera::Shape{dim, 2});
    return 0;
  }
  const size_t newline = in.find('\n');
  if (newline == std::string_view::npos) return 0;
  std::string body(in.substr(newline + 1));
  const auto length = infera::ParseHeaderLength(in.substr(0, newline), body.size());
  if (!length.ok() || *length == 0) return 0;
  infera::OipLimits limits;
  limits.max_tensor_bytes = size_t{1} << 20;
  (void)infera::DecodeInferRequest(body, *length, limits);
  return 0;
}
