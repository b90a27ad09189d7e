#include "auth/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <climits>
#include <cstdio>
#include <cstdlib>

#include "common/strings.h"

namespace infera {
namespace {

[[noreturn]] void CryptoFailed(const char* what) {
  std::fprintf(stderr, "infera: OpenSSL %s failed (out of memory?)\n", what);
  std::abort();
}

}  // namespace

StatusOr<std::string> SecureRandomBytes(size_t n) {
  std::string out(n, '\0');
  // RAND_bytes takes an int length; our callers ask for tens of bytes.
  if (n > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError(StrCat("SecureRandomBytes: ", n, " bytes is too many"));
  }
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return absl::InternalError("the system random number generator failed (RAND_bytes)");
  }
  return out;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char tag[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  // HMAC() treats a null key pointer specially; an empty view may have data() == nullptr.
  static const char kEmpty = 0;
  const void* key_ptr = key.empty() ? &kEmpty : key.data();
  if (key.size() > static_cast<size_t>(INT_MAX) ||
      HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), tag,
           &size) == nullptr) {
    CryptoFailed("HMAC");
  }
  return std::string(reinterpret_cast<const char*>(tag), size);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void CleanseString(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

}  // namespace infera
