#include "dicomweb/dicomweb_auth.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

#include "absl/strings/escaping.h"
#include "auth/crypto.h"
#include "common/strings.h"

namespace infera {

namespace {

bool HasControl(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

StatusOr<std::string> StringField(const nlohmann::json& auth, const char* name) {
  if (!auth.contains(name)) {
    return absl::InvalidArgumentError(StrCat("'auth.", name, "' is required"));
  }
  const nlohmann::json& v = auth[name];
  if (!v.is_string())
    return absl::InvalidArgumentError(StrCat("'auth.", name, "' must be a string"));
  std::string s = v.get<std::string>();
  if (s.empty()) return absl::InvalidArgumentError(StrCat("'auth.", name, "' is empty"));
  if (s.size() > 4096) {
    return absl::InvalidArgumentError(StrCat("'auth.", name, "' is longer than 4096 bytes"));
  }
  if (HasControl(s)) {
    return absl::InvalidArgumentError(StrCat("'auth.", name, "' holds control characters"));
  }
  return s;
}

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;
constexpr int kNonceBytes = 12;
constexpr int kTagBytes = 16;

}  // namespace

std::string DicomwebAuth::Header() const {
  switch (type) {
    case Type::kBasic:
      return StrCat("Basic ", absl::Base64Escape(StrCat(username, ":", password)));
    case Type::kBearer:
      return StrCat("Bearer ", token);
    case Type::kNone:
      break;
  }
  return "";
}

std::string_view DicomwebAuth::TypeName() const {
  switch (type) {
    case Type::kBasic:
      return "basic";
    case Type::kBearer:
      return "bearer";
    case Type::kNone:
      break;
  }
  return "none";
}

StatusOr<DicomwebAuth> ParseDicomwebAuth(const nlohmann::json& auth) {
  DicomwebAuth out;
  if (auth.is_null()) return out;
  if (!auth.is_object()) return absl::InvalidArgumentError("'auth' must be an object");
  if (!auth.contains("type") || !auth["type"].is_string()) {
    return absl::InvalidArgumentError("'auth.type' is required: \"basic\" or \"bearer\"");
  }
  const std::string type = auth["type"].get<std::string>();
  if (type == "basic") {
    for (const auto& [key, value] : auth.items()) {
      if (key != "type" && key != "username" && key != "password") {
        return absl::InvalidArgumentError(StrCat("unknown field 'auth.", key.substr(0, 40),
                                                 "' (basic: type, username, password)"));
      }
    }
    out.type = DicomwebAuth::Type::kBasic;
    ASSIGN_OR_RETURN(out.username, StringField(auth, "username"));
    ASSIGN_OR_RETURN(out.password, StringField(auth, "password"));
    if (out.username.find(':') != std::string::npos) {
      return absl::InvalidArgumentError("'auth.username' must not contain ':'");
    }
  } else if (type == "bearer") {
    for (const auto& [key, value] : auth.items()) {
      if (key != "type" && key != "token") {
        return absl::InvalidArgumentError(
            StrCat("unknown field 'auth.", key.substr(0, 40), "' (bearer: type, token)"));
      }
    }
    out.type = DicomwebAuth::Type::kBearer;
    ASSIGN_OR_RETURN(out.token, StringField(auth, "token"));
  } else {
    return absl::InvalidArgumentError("'auth.type' must be \"basic\" or \"bearer\"");
  }
  return out;
}

nlohmann::json RedactedAuthJson(const DicomwebAuth& auth) {
  if (auth.type == DicomwebAuth::Type::kNone) return nullptr;
  return {{"type", auth.TypeName()}, {"redacted", true}};
}

CredentialSealer::CredentialSealer(std::string_view secret)
    : key_(HmacSha256(secret, "infera dicomweb credentials v1")) {}

StatusOr<std::string> CredentialSealer::Seal(const DicomwebAuth& auth) const {
  nlohmann::json plain = {{"type", auth.TypeName()}};
  if (auth.type == DicomwebAuth::Type::kBasic) {
    plain["username"] = auth.username;
    plain["password"] = auth.password;
  } else if (auth.type == DicomwebAuth::Type::kBearer) {
    plain["token"] = auth.token;
  }
  std::string text = plain.dump();
  ASSIGN_OR_RETURN(std::string nonce, SecureRandomBytes(kNonceBytes));
  std::string out = nonce;
  out.resize(kNonceBytes + text.size() + kTagBytes);
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int len = 0;
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  const bool ok = ctx != nullptr &&
                  EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                                     reinterpret_cast<const unsigned char*>(key_.data()),
                                     reinterpret_cast<const unsigned char*>(nonce.data())) == 1 &&
                  EVP_EncryptUpdate(ctx.get(), dst + kNonceBytes, &len,
                                    reinterpret_cast<const unsigned char*>(text.data()),
                                    static_cast<int>(text.size())) == 1 &&
                  EVP_EncryptFinal_ex(ctx.get(), dst + kNonceBytes + len, &len) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                                      dst + kNonceBytes + text.size()) == 1;
  CleanseString(text);
  if (!ok) return absl::InternalError("cannot seal the PACS credentials");
  return absl::Base64Escape(out);
}

StatusOr<DicomwebAuth> CredentialSealer::Open(std::string_view sealed) const {
  std::string raw;
  if (!absl::Base64Unescape(absl::string_view(sealed.data(), sealed.size()), &raw) ||
      raw.size() < static_cast<size_t>(kNonceBytes + kTagBytes)) {
    return absl::InvalidArgumentError("the sealed PACS credentials are malformed");
  }
  const size_t text_size = raw.size() - kNonceBytes - kTagBytes;
  std::string text(text_size, '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int len = 0;
  auto* src = reinterpret_cast<unsigned char*>(raw.data());
  auto* dst = reinterpret_cast<unsigned char*>(text.data());
  const bool ok =
      ctx != nullptr &&
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                         reinterpret_cast<const unsigned char*>(key_.data()), src) == 1 &&
      EVP_DecryptUpdate(ctx.get(), dst, &len, src + kNonceBytes, static_cast<int>(text_size)) ==
          1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes,
                          src + kNonceBytes + text_size) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), dst + len, &len) == 1;
  if (!ok) {
    return absl::InvalidArgumentError(
        "the sealed PACS credentials cannot be opened (another server secret?)");
  }
  const nlohmann::json plain = nlohmann::json::parse(text, nullptr, false);
  CleanseString(text);
  StatusOr<DicomwebAuth> auth = ParseDicomwebAuth(plain);
  if (!auth.ok()) return absl::InvalidArgumentError("the sealed PACS credentials are malformed");
  return auth;
}

}  // namespace infera
