// Fuzz target: Open Inference Protocol JSON requests (api/oip/inference_codec), the body
// of every POST /v2/models/{m}/infer.
#include <cstddef>
#include <cstdint>
#include <string>

#include "api/oip/inference_codec.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(infera::fuzz::Text(data, size));
  infera::OipLimits limits;
  limits.max_tensor_bytes = size_t{1} << 20;
  (void)infera::DecodeInferRequest(body, std::nullopt, limits);
  return 0;
}
