// Base64 (RFC 4648, standard alphabet) decoding of untrusted text.
// Accepts padded or unpadded input and ignores ASCII whitespace (line-wrapped payloads);
// a "data:...;base64," prefix is skipped. Anything else is InvalidArgument with the
// offset of the offending character. Thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace infera {

StatusOr<std::vector<std::byte>> Base64Decode(std::string_view text);
std::string Base64Encode(const void* data, size_t size);

}  // namespace infera
