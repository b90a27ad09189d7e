// Lower-case hexadecimal text of bytes (digests, random suffixes, secrets).
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace infera {

// HexEncode: lower-case hex of `bytes` (two characters per byte).
std::string HexEncode(std::string_view bytes);

// IsLowerHex: whether `s` is exactly `digits` characters of 0-9 and a-f.
bool IsLowerHex(std::string_view s, size_t digits);

}  // namespace infera
