// Password hashing with Argon2id (Debian's libargon2), stored in the standard encoded
// form "$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>" (salt and hash in
// unpadded standard base64), which carries its own parameters: hashes made with older
// parameters still verify, and PasswordNeedsRehash tells the login path to upgrade them.
//
// Cost: one HashPassword or VerifyPassword with the defaults takes ~19 MiB of memory and
// tens of milliseconds of one core. Call them on a blocking pool, never on an HTTP I/O
// thread, and bound how many run at once (memory = concurrency x memory_kib).
//
// Thread-safety: every function is thread-safe (no shared state).
// Errors: InvalidArgument for bad parameters, a too-long password given to HashPassword,
// or a stored hash that is not a well-formed argon2id encoding within the limits below;
// Internal when the system random generator or libargon2 fails (e.g. out of memory).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace infera {

// Argon2Params: the cost parameters of a new hash. The defaults are OWASP's Argon2id
// recommendation (m = 19 MiB, t = 2, p = 1).
struct Argon2Params {
  uint32_t memory_kib = 19456;
  uint32_t iterations = 2;
  uint32_t parallelism = 1;

  // ForTesting: the cheapest parameters libargon2 accepts (64 KiB, one pass); for unit
  // tests only, never for stored credentials.
  static Argon2Params ForTesting() { return Argon2Params{64, 1, 1}; }

  friend bool operator==(const Argon2Params&, const Argon2Params&) = default;
};

// Sizes of what HashPassword writes.
inline constexpr size_t kPasswordSaltBytes = 16;
inline constexpr size_t kPasswordHashBytes = 32;

// Password length policy. kMaxPasswordBytes also bounds the work an unauthenticated
// caller can make the server do per attempt.
inline constexpr size_t kMinPasswordChars = 8;
inline constexpr size_t kMaxPasswordBytes = 1024;

// Upper limits on the parameters accepted from a stored hash (and from Argon2Params), so
// a corrupted or planted row cannot make one verification allocate gigabytes or spin.
inline constexpr uint32_t kMaxArgon2MemoryKib = 1u << 20;  // 1 GiB
inline constexpr uint32_t kMaxArgon2Iterations = 64;
inline constexpr uint32_t kMaxArgon2Parallelism = 16;

// CheckPasswordPolicy: OK when `password` is acceptable as a new password: at least
// kMinPasswordChars characters (UTF-8 code points) and at most kMaxPasswordBytes bytes.
// InvalidArgument with a message for the user otherwise. Call it where a user chooses
// a password (create user, change password); HashPassword itself only enforces the
// maximum.
Status CheckPasswordPolicy(std::string_view password);

// ValidateArgon2Params: OK when `params` are within libargon2's and our limits.
Status ValidateArgon2Params(const Argon2Params& params);

// HashPassword: the encoded argon2id hash of `password` with a fresh random
// kPasswordSaltBytes salt. InvalidArgument when the password is longer than
// kMaxPasswordBytes or the parameters are invalid.
StatusOr<std::string> HashPassword(std::string_view password, const Argon2Params& params = {});

// VerifyPassword: whether `password` matches the stored `encoded` hash: true on a
// match, false on a mismatch (the comparison is argon2_verify's constant-time one). A
// password longer than kMaxPasswordBytes is a mismatch without hashing (no stored hash
// can match it). InvalidArgument when `encoded` is not a well-formed argon2id hash
// within our limits: treat that as a server-side data problem (log it), and answer the
// client exactly as for a wrong password.
StatusOr<bool> VerifyPassword(std::string_view password, std::string_view encoded);

// ParsePasswordHashParams: the parameters recorded in `encoded`, after the same strict
// checks VerifyPassword makes. InvalidArgument when malformed.
StatusOr<Argon2Params> ParsePasswordHashParams(std::string_view encoded);

// PasswordNeedsRehash: whether `encoded` was made with parameters (or salt or hash
// sizes) other than `current`; the login path rehashes the password it has just
// verified when true. InvalidArgument when malformed.
StatusOr<bool> PasswordNeedsRehash(std::string_view encoded, const Argon2Params& current);

// BurnPasswordVerifyTime: spends the time and memory of one VerifyPassword against a
// hash made with `params`, and discards the result. Call it when the user named at login
// does not exist, so the response time does not reveal which usernames exist.
void BurnPasswordVerifyTime(std::string_view password, const Argon2Params& params = {});

}  // namespace infera
