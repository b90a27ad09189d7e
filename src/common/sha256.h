// SHA-256 (FIPS 180-4) over OpenSSL's EVP interface, the one implementation for the
// whole program: blob names in store/ (hex), token hashes and ETags in auth/ and web/
// (raw digest). Sha256Hasher for content that arrives in chunks; Sha256Digest and
// Sha256Hex for bytes in memory; IsSha256Hex, the check every blob name from outside
// goes through.
//
// Thread-safety: a Sha256Hasher is not thread-safe (one per stream); the free functions
// are thread-safe.
// Errors: OpenSSL's digest calls fail only when out of memory; they abort the process
// then (with a message on stderr).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace infera {

// The size of a SHA-256 digest, in bytes.
inline constexpr size_t kSha256Bytes = 32;

class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void Update(std::string_view bytes);
  // Finish: the raw 32-byte digest of everything passed to Update. Call once (Finish
  // or FinishHex).
  std::string Finish();
  // FinishHex: the lower-case hex digest (64 characters). Call once.
  std::string FinishHex();

 private:
  evp_md_ctx_st* ctx_;  // owned
};

// Sha256Digest: the raw 32-byte SHA-256 digest of `data`.
std::string Sha256Digest(std::string_view data);

// Sha256Hex: the lower-case hex SHA-256 digest of `bytes` (64 characters).
std::string Sha256Hex(std::span<const std::byte> bytes);

// IsSha256Hex: whether `s` is 64 lower-case hex digits: a well-formed blob name, which
// can never contain a path separator or "..".
bool IsSha256Hex(std::string_view s);

}  // namespace infera
