// Base64 (RFC 4648): the one encoder, in either alphabet with or without padding
// (auth/base64url encodes JWT segments and tokens with it), and the lenient decoder of
// untrusted uploads.
// Decoding accepts padded or unpadded input in either alphabet and ignores ASCII
// whitespace (line-wrapped payloads); a "data:...;base64," prefix is skipped. Anything
// else is InvalidArgument with the offset of the offending character. Thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace infera {

// Base64Alphabet: the standard alphabet (62 and 63 are '+' and '/', section 4) or the
// URL- and filename-safe one ('-' and '_', section 5).
enum class Base64Alphabet { kStandard, kUrlSafe };

// Base64Padding: whether the text ends with '=' up to a multiple of 4 characters.
enum class Base64Padding { kPadded, kUnpadded };

StatusOr<std::vector<std::byte>> Base64Decode(std::string_view text);

// Base64Encode: the base64 text of `bytes` in `alphabet`, padded or not.
std::string Base64Encode(std::string_view bytes, Base64Alphabet alphabet, Base64Padding padding);

// Base64Encode: the padded standard-alphabet text of `size` bytes at `data`.
std::string Base64Encode(const void* data, size_t size);

}  // namespace infera
