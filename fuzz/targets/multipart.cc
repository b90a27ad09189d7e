// Fuzz target: multipart/form-data (api/multipart), every upload's body. Input layout:
// the Content-Type value on the first line, then the body. The second byte of the input
// picks a small chunk size so that boundaries fall across chunk borders.
#include "api/multipart.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = infera::fuzz::Text(data, size);
  const size_t newline = in.find('\n');
  if (newline == std::string_view::npos) return 0;
  const auto boundary = infera::MultipartBoundary(in.substr(0, newline));
  if (!boundary.ok()) return 0;
  infera::MultipartLimits limits;
  limits.max_parts = 64;
  limits.max_field_bytes = 4096;
  limits.max_header_bytes = 1024;
  limits.chunk_bytes = size > 1 ? 1 + static_cast<uint8_t>(in[1]) % 97 : 64;
  auto parts = infera::ParseMultipartString(in.substr(newline + 1), *boundary,
                                            infera::fuzz::ScratchDir(), limits);
  if (parts.ok()) {
    infera::MultipartTempFiles cleanup(*parts);
    for (const infera::MultipartPart& part : *parts) {
      // File parts hold their bytes in a file of that size; fields in `value`.
      if (part.is_file && std::filesystem::file_size(part.file) != part.size) __builtin_trap();
      if (!part.is_file && part.value.size() != part.size) __builtin_trap();
    }
  }
  return 0;
}
