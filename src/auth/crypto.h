// Crypto primitives for auth/: a thin adapter over OpenSSL (random bytes,
// HMAC-SHA-256, constant-time comparison, cleansing). It is the only file in auth/ that
// includes OpenSSL headers; the rest of auth/ calls these functions. SHA-256 and hex
// are common/sha256.h and common/hex.h (store/ and web/ use them too).
//
// Thread-safety: every function is thread-safe (OpenSSL >= 1.1 locks internally).
// Errors: SecureRandomBytes returns Internal when the system's random generator fails (no
// entropy source); callers must propagate it, never fall back to a weaker source.
// HMAC fails only when OpenSSL cannot allocate; it aborts the process then, as
// common/sha256.cc does.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace infera {

// SecureRandomBytes: `n` bytes from OpenSSL's CSPRNG (RAND_bytes). Internal on failure.
StatusOr<std::string> SecureRandomBytes(size_t n);

// HmacSha256: the raw 32-byte HMAC-SHA-256 tag of `data` under `key` (any key length).
std::string HmacSha256(std::string_view key, std::string_view data);

// ConstantTimeEquals: whether `a` and `b` hold the same bytes. Runs in time that depends only on
// the lengths (CRYPTO_memcmp), never on where the first difference is; a length mismatch returns
// false at once (lengths are not secret here: tags have a fixed size).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// CleanseString overwrites `s`'s bytes with zeros in a way the compiler cannot elide
// (OPENSSL_cleanse); for scratch copies of secrets.
void CleanseString(std::string& s);

}  // namespace infera
