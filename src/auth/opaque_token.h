// Opaque bearer credentials: refresh tokens and API keys. A token is a kind prefix and
// 32 random bytes in base64url (43 characters), e.g. "infera_rt_3q2-..." or
// "infera_key_Zx9...". The prefix makes leaked tokens recognisable to secret scanners and
// lets the HTTP layer tell an API key from a JWT (which always contains '.').
//
// Storage: only HashToken(token) is stored, never the token: a stolen database then
// yields no usable credential. A plain (unsalted, fast) SHA-256 is right here, unlike
// for passwords: a token carries 256 bits from the CSPRNG, so no dictionary or brute-
// force search of the preimage is feasible, and the hash must be deterministic so the
// store can find the row by an index lookup on it. Looking up by the hash also means the
// lookup's timing depends on the hash of the presented token, not on how much of a real
// token it matches, so no constant-time comparison is needed.
//
// Thread-safety: pure functions. Errors: Internal when the system random generator
// fails.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace infera {

enum class TokenKind { kRefreshToken, kApiKey };

// Random bytes in a token, and the length of their base64url text.
inline constexpr size_t kTokenRandomBytes = 32;
inline constexpr size_t kTokenRandomChars = 43;
// Characters of the random part kept by TokenDisplayPrefix.
inline constexpr size_t kTokenDisplayChars = 6;

// TokenPrefix: "infera_rt_" or "infera_key_".
std::string_view TokenPrefix(TokenKind kind);

// GenerateToken: a fresh token of `kind`. Show it to its owner once; store HashToken.
StatusOr<std::string> GenerateToken(TokenKind kind);

// ClassifyToken: the kind of `token` when it has exactly the shape GenerateToken makes
// (prefix, then kTokenRandomChars base64url characters); nullopt otherwise. A cheap
// check before any store lookup; it proves nothing about validity.
std::optional<TokenKind> ClassifyToken(std::string_view token);

// HashToken: the lower-case hex SHA-256 (64 characters) of the whole token text, the
// value to store and to look up by.
std::string HashToken(std::string_view token);

// TokenDisplayPrefix: the prefix and the first kTokenDisplayChars random characters
// (e.g. "infera_key_Zx9aB3"), safe to store and show in key listings so owners can tell
// their keys apart (36 bits, far too few to help guess the other 220). Empty when
// `token` is not well-formed.
std::string TokenDisplayPrefix(std::string_view token);

}  // namespace infera
