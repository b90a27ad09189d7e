// Sha256Hasher: incremental SHA-256 (OpenSSL EVP) for content that arrives in chunks,
// and IsSha256Hex, the check every blob name from outside goes through.
// Sha256Hex (one-shot) is declared in blob_store.h.
//
// Thread-safety: a Sha256Hasher is not thread-safe; IsSha256Hex is.
// Errors: OpenSSL's digest calls fail only when out of memory; the hasher aborts then.
#pragma once

#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace infera {

class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void Update(std::string_view bytes);
  // The lower-case hex digest of everything passed to Update. Call once.
  std::string FinishHex();

 private:
  evp_md_ctx_st* ctx_;  // owned
};

// Whether `s` is 64 lower-case hex digits: a well-formed blob name, which can never
// contain a path separator or "..".
bool IsSha256Hex(std::string_view s);

}  // namespace infera
