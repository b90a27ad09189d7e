// JSON Web Tokens (RFC 7519) signed with HMAC-SHA-256 ("HS256", RFC 7515), the access
// tokens of the HTTP API. Only HS256 exists here: the algorithm is fixed by the
// verifier, never chosen by the token, so "none", other HMAC sizes and public-key
// algorithms (the classic alg-confusion attacks) are all refused.
//
// What VerifyJwt checks, in order (the first failure is the answer):
//   1. the key has at least kMinJwtKeyBytes bytes, the leeway and `now` are in range
//      (InvalidArgument: a server bug or misconfiguration, not the client's fault);
//   2. the token is at most kMaxJwtBytes, has exactly three '.'-separated segments,
//      the header is strict unpadded base64url of a JSON object without duplicate keys,
//      with a string "alg", no "crit", and "typ" (when present) "JWT";
//   3. alg is exactly "HS256";
//   4. the signature segment is strict base64url and equals HMAC-SHA-256(key, the
//      received "header.payload" bytes), compared in constant time (CRYPTO_memcmp);
//   5. only then is the payload decoded: a JSON object without duplicate keys, with
//      non-empty strings sub, role, jti and integer NumericDates exp, iat (nbf
//      optional), each in [0, kMaxJwtNumericDate]; optional sid (a non-empty string)
//      and pwv (an integer in [0, kMaxJwtCounter]); other claims are ignored;
//   6. now < exp + leeway, else "token expired"; nbf - leeway <= now and
//      iat - leeway <= now, else "token not yet valid".
// Header parameters such as kid, jku, jwk and x5u are ignored: keys never come from
// the token.
//
// Every verification failure of steps 2-6 is Unauthenticated whose message starts with
// one of the reason constants below (malformed-token messages add ": <fixed detail>");
// messages never echo token content, so the HTTP layer may send them in the 401 body.
//
// Thread-safety: pure functions. Ownership: nothing is retained; `key` is only read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace infera {

// JwtClaims: the claims infera puts in (and requires of) an access token. Times are
// NumericDates: whole seconds since the Unix epoch.
struct JwtClaims {
  std::string sub;             // the user id
  std::string role;            // e.g. "admin" or "user" (see auth/role.h); not interpreted here
  int64_t iat = 0;             // issued at
  int64_t exp = 0;             // expires at (exclusive)
  std::optional<int64_t> nbf;  // not valid before, when set
  std::string jti;             // unique token id (NewJwtId), for revocation lists
  // Optional (absent from tokens that lack them):
  std::string sid;             // the login session (refresh-token family) it belongs to
  std::optional<int64_t> pwv;  // the password version it was issued under (an integer)

  friend bool operator==(const JwtClaims&, const JwtClaims&) = default;
};

// The HMAC key must have at least this many bytes (RFC 7518 section 3.2: a key of the
// hash output size or larger).
inline constexpr size_t kMinJwtKeyBytes = 32;
// Tokens longer than this are refused before any decoding.
inline constexpr size_t kMaxJwtBytes = 8192;
// Clock skew tolerated by default between signer and verifier, in seconds.
inline constexpr int64_t kDefaultJwtLeewaySeconds = 30;
// The largest leeway VerifyJwt accepts, in seconds.
inline constexpr int64_t kMaxJwtLeewaySeconds = 3600;
// The largest integer accepted in a counter claim (pwv): 2^53, exact in every JSON reader.
inline constexpr int64_t kMaxJwtCounter = int64_t{1} << 53;
// The largest NumericDate accepted (9999-12-31T23:59:59Z); keeps the arithmetic far
// from overflow.
inline constexpr int64_t kMaxJwtNumericDate = 253402300799;

// Reasons of VerifyJwt's Unauthenticated errors (the start of the message).
inline constexpr std::string_view kJwtMalformed = "malformed token";
inline constexpr std::string_view kJwtUnsupportedAlgorithm = "unsupported token algorithm";
inline constexpr std::string_view kJwtInvalidSignature = "invalid signature";
inline constexpr std::string_view kJwtExpired = "token expired";
inline constexpr std::string_view kJwtNotYetValid = "token not yet valid";
// Not produced here: the reason for the caller's own check of jti against the
// revocation list, so every 401 reason comes from one list.
inline constexpr std::string_view kJwtRevoked = "token revoked";

// SignJwt: the compact serialization header.payload.signature of `claims`, with header
// {"alg":"HS256","typ":"JWT"}. InvalidArgument when the key is shorter than
// kMinJwtKeyBytes, sub, role or jti is empty or not valid UTF-8, a time is outside
// [0, kMaxJwtNumericDate], or exp <= iat.
StatusOr<std::string> SignJwt(const JwtClaims& claims, std::string_view key);

// VerifyJwt: the claims of `token` when it passes every check above at time `now_s`
// (seconds since the Unix epoch, injected so tests control the clock) with
// `leeway_s` seconds of tolerated clock skew in [0, kMaxJwtLeewaySeconds].
// Unauthenticated with a reason, or InvalidArgument for a bad key/leeway/now.
StatusOr<JwtClaims> VerifyJwt(std::string_view token, std::string_view key, int64_t now_s,
                              int64_t leeway_s = kDefaultJwtLeewaySeconds);

// NewJwtId: a fresh random token id for `jti` (128 random bits, 22 base64url
// characters). Internal when the system random generator fails.
StatusOr<std::string> NewJwtId();

}  // namespace infera
