#include "auth/password_hash.h"

#include <argon2.h>

#include <charconv>
#include <cstring>

#include "auth/crypto.h"
#include "common/strings.h"

namespace infera {
namespace {

// Longer than any hash within our limits (prefix + 3 numbers + 64-byte salt and hash).
constexpr size_t kMaxEncodedBytes = 256;
constexpr size_t kMinSaltBytes = 8;  // libargon2's minimum
constexpr size_t kMaxSaltBytes = 64;
constexpr size_t kMinHashBytes = 16;
constexpr size_t kMaxHashBytes = 64;

struct ParsedHash {
  Argon2Params params;
  size_t salt_bytes = 0;
  size_t hash_bytes = 0;
};

Status Malformed(std::string_view why) {
  return absl::InvalidArgumentError(StrCat("stored password hash is malformed: ", why));
}

bool ConsumePrefix(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

// A decimal uint32 without sign, leading zeros or surrounding text.
bool ParseU32(std::string_view digits, uint32_t& out) {
  if (digits.empty() || digits.size() > 10 || (digits.size() > 1 && digits[0] == '0')) {
    return false;
  }
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
  }
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
  return ec == std::errc() && end == digits.data() + digits.size();
}

// The byte count of unpadded standard base64 text, or -1 when `text` is not such text.
int64_t Base64Bytes(std::string_view text) {
  if (text.empty() || text.size() % 4 == 1) return -1;
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/';
    if (!ok) return -1;
  }
  return static_cast<int64_t>(text.size() * 3 / 4);
}

StatusOr<ParsedHash> ParseEncoded(std::string_view encoded) {
  if (encoded.size() > kMaxEncodedBytes) return Malformed("too long");
  std::string_view s = encoded;
  if (!ConsumePrefix(s, "$argon2id$v=19$m=")) {
    return Malformed("not an argon2id version 19 hash");
  }
  ParsedHash parsed;
  const size_t comma1 = s.find(',');
  if (comma1 == std::string_view::npos ||
      !ParseU32(s.substr(0, comma1), parsed.params.memory_kib)) {
    return Malformed("bad m=");
  }
  s.remove_prefix(comma1);
  if (!ConsumePrefix(s, ",t=")) return Malformed("missing t=");
  const size_t comma2 = s.find(',');
  if (comma2 == std::string_view::npos ||
      !ParseU32(s.substr(0, comma2), parsed.params.iterations)) {
    return Malformed("bad t=");
  }
  s.remove_prefix(comma2);
  if (!ConsumePrefix(s, ",p=")) return Malformed("missing p=");
  const size_t dollar1 = s.find('$');
  if (dollar1 == std::string_view::npos ||
      !ParseU32(s.substr(0, dollar1), parsed.params.parallelism)) {
    return Malformed("bad p=");
  }
  s.remove_prefix(dollar1 + 1);
  const size_t dollar2 = s.find('$');
  if (dollar2 == std::string_view::npos) return Malformed("missing hash");
  const int64_t salt_bytes = Base64Bytes(s.substr(0, dollar2));
  const int64_t hash_bytes = Base64Bytes(s.substr(dollar2 + 1));
  if (salt_bytes < static_cast<int64_t>(kMinSaltBytes) ||
      salt_bytes > static_cast<int64_t>(kMaxSaltBytes)) {
    return Malformed("bad salt");
  }
  if (hash_bytes < static_cast<int64_t>(kMinHashBytes) ||
      hash_bytes > static_cast<int64_t>(kMaxHashBytes)) {
    return Malformed("bad hash");
  }
  parsed.salt_bytes = static_cast<size_t>(salt_bytes);
  parsed.hash_bytes = static_cast<size_t>(hash_bytes);
  if (Status st = ValidateArgon2Params(parsed.params); !st.ok()) {
    return Malformed(ToStd(st.message()));
  }
  return parsed;
}

// libargon2 rejects a null pointer with a zero length in some versions' checks.
const char* PasswordPtr(std::string_view password) {
  static const char kEmpty = '\0';
  return password.empty() ? &kEmpty : password.data();
}

}  // namespace

Status CheckPasswordPolicy(std::string_view password) {
  if (password.size() > kMaxPasswordBytes) {
    return absl::InvalidArgumentError(
        StrCat("password must be at most ", kMaxPasswordBytes, " bytes"));
  }
  size_t chars = 0;
  for (char c : password) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++chars;  // not a continuation byte
  }
  if (chars < kMinPasswordChars) {
    return absl::InvalidArgumentError(
        StrCat("password must be at least ", kMinPasswordChars, " characters"));
  }
  return absl::OkStatus();
}

Status ValidateArgon2Params(const Argon2Params& p) {
  if (p.iterations < 1 || p.iterations > kMaxArgon2Iterations) {
    return absl::InvalidArgumentError(
        StrCat("argon2 iterations must be in [1, ", kMaxArgon2Iterations, "], got ", p.iterations));
  }
  if (p.parallelism < 1 || p.parallelism > kMaxArgon2Parallelism) {
    return absl::InvalidArgumentError(StrCat("argon2 parallelism must be in [1, ",
                                             kMaxArgon2Parallelism, "], got ", p.parallelism));
  }
  // libargon2 needs at least 8 KiB per lane.
  const uint64_t min_kib = 8ull * p.parallelism;
  if (p.memory_kib < min_kib || p.memory_kib > kMaxArgon2MemoryKib) {
    return absl::InvalidArgumentError(StrCat("argon2 memory must be in [", min_kib, ", ",
                                             kMaxArgon2MemoryKib, "] KiB, got ", p.memory_kib));
  }
  return absl::OkStatus();
}

StatusOr<std::string> HashPassword(std::string_view password, const Argon2Params& params) {
  if (password.size() > kMaxPasswordBytes) {
    return absl::InvalidArgumentError(
        StrCat("password must be at most ", kMaxPasswordBytes, " bytes"));
  }
  RETURN_IF_ERROR(ValidateArgon2Params(params));
  ASSIGN_OR_RETURN(const std::string salt, SecureRandomBytes(kPasswordSaltBytes));
  const size_t encoded_len =
      argon2_encodedlen(params.iterations, params.memory_kib, params.parallelism,
                        kPasswordSaltBytes, kPasswordHashBytes, Argon2_id);
  std::string encoded(encoded_len, '\0');
  const int rc =
      argon2id_hash_encoded(params.iterations, params.memory_kib, params.parallelism,
                            PasswordPtr(password), password.size(), salt.data(), salt.size(),
                            kPasswordHashBytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) {
    return absl::InternalError(StrCat("argon2id hashing failed: ", argon2_error_message(rc)));
  }
  encoded.resize(std::strlen(encoded.c_str()));  // argon2_encodedlen counts the NUL
  return encoded;
}

StatusOr<bool> VerifyPassword(std::string_view password, std::string_view encoded) {
  RETURN_IF_ERROR(ParseEncoded(encoded).status());
  if (password.size() > kMaxPasswordBytes) return false;
  const std::string encoded_z(encoded);  // argon2 wants a NUL-terminated string
  const int rc = argon2id_verify(encoded_z.c_str(), PasswordPtr(password), password.size());
  switch (rc) {
    case ARGON2_OK:
      return true;
    case ARGON2_VERIFY_MISMATCH:
      return false;
    case ARGON2_MEMORY_ALLOCATION_ERROR:
    case ARGON2_THREAD_FAIL:
      return absl::InternalError(
          StrCat("argon2id verification failed: ", argon2_error_message(rc)));
    default:
      return Malformed(argon2_error_message(rc));
  }
}

StatusOr<Argon2Params> ParsePasswordHashParams(std::string_view encoded) {
  ASSIGN_OR_RETURN(const ParsedHash parsed, ParseEncoded(encoded));
  return parsed.params;
}

StatusOr<bool> PasswordNeedsRehash(std::string_view encoded, const Argon2Params& current) {
  ASSIGN_OR_RETURN(const ParsedHash parsed, ParseEncoded(encoded));
  return !(parsed.params == current) || parsed.salt_bytes != kPasswordSaltBytes ||
         parsed.hash_bytes != kPasswordHashBytes;
}

void BurnPasswordVerifyTime(std::string_view password, const Argon2Params& params) {
  if (!ValidateArgon2Params(params).ok()) return;
  if (password.size() > kMaxPasswordBytes) return;  // VerifyPassword does no work either
  static const unsigned char kSalt[kPasswordSaltBytes] = {};
  unsigned char out[kPasswordHashBytes];
  // The result is discarded; an error (out of memory) only makes this call cheaper.
  (void)argon2id_hash_raw(params.iterations, params.memory_kib, params.parallelism,
                          PasswordPtr(password), password.size(), kSalt, sizeof(kSalt), out,
                          sizeof(out));
}

}  // namespace infera
