#include "common/sha256.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

#include "common/hex.h"

namespace infera {
namespace {

[[noreturn]] void DigestFailed(const char* what) {
  std::fprintf(stderr, "infera: OpenSSL %s failed (out of memory?)\n", what);
  std::abort();
}

}  // namespace

Sha256Hasher::Sha256Hasher() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) DigestFailed("EVP_MD_CTX_new");
  if (EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) DigestFailed("EVP_DigestInit_ex");
}

Sha256Hasher::~Sha256Hasher() { EVP_MD_CTX_free(ctx_); }

void Sha256Hasher::Update(std::string_view bytes) {
  if (bytes.empty()) return;
  if (EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()) != 1) DigestFailed("EVP_DigestUpdate");
}

std::string Sha256Hasher::Finish() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(ctx_, digest, &size) != 1) DigestFailed("EVP_DigestFinal_ex");
  return std::string(reinterpret_cast<const char*>(digest), size);
}

std::string Sha256Hasher::FinishHex() { return HexEncode(Finish()); }

std::string Sha256Digest(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    DigestFailed("EVP_Digest");
  }
  return std::string(reinterpret_cast<const char*>(digest), size);
}

std::string Sha256Hex(std::span<const std::byte> bytes) {
  return HexEncode(
      Sha256Digest(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size())));
}

bool IsSha256Hex(std::string_view s) { return IsLowerHex(s, 2 * kSha256Bytes); }

}  // namespace infera
