// Base64url (RFC 4648 section 5, URL- and filename-safe alphabet) without padding, the
// encoding of JWT segments and of our opaque tokens.
//
// Decoding is strict, unlike common/base64.h (which is lenient on purpose for uploads):
// only the 64 alphabet characters are accepted (no '=', '+', '/', whitespace or other
// bytes), a length of 1 mod 4 is refused, and the unused low bits of the last character
// must be zero, so every byte string has exactly one accepted encoding (no two token
// strings decode to the same bytes).
//
// Thread-safety: pure functions. Errors: InvalidArgument naming the offset of the first
// offending character, or the reason.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace infera {

// Base64UrlEncode: the unpadded base64url text of `bytes`.
std::string Base64UrlEncode(std::string_view bytes);

// Base64UrlDecode: the bytes `text` encodes; InvalidArgument when it is not canonical
// unpadded base64url (see above). The empty text decodes to the empty string.
StatusOr<std::string> Base64UrlDecode(std::string_view text);

// IsBase64UrlText: whether every character of `text` is in the base64url alphabet (a
// cheap shape check; it does not check the length or the trailing bits).
bool IsBase64UrlText(std::string_view text);

}  // namespace infera
