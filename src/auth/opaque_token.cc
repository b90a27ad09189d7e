#include "auth/opaque_token.h"

#include "auth/base64url.h"
#include "auth/crypto.h"
#include "common/hex.h"
#include "common/sha256.h"
#include "common/strings.h"

namespace infera {

std::string_view TokenPrefix(TokenKind kind) {
  switch (kind) {
    case TokenKind::kRefreshToken:
      return "infera_rt_";
    case TokenKind::kApiKey:
      return "infera_key_";
  }
  return "";
}

StatusOr<std::string> GenerateToken(TokenKind kind) {
  ASSIGN_OR_RETURN(std::string random, SecureRandomBytes(kTokenRandomBytes));
  std::string token = StrCat(TokenPrefix(kind), Base64UrlEncode(random));
  CleanseString(random);
  return token;
}

std::optional<TokenKind> ClassifyToken(std::string_view token) {
  for (const TokenKind kind : {TokenKind::kRefreshToken, TokenKind::kApiKey}) {
    const std::string_view prefix = TokenPrefix(kind);
    if (token.size() != prefix.size() + kTokenRandomChars) continue;
    if (token.substr(0, prefix.size()) != prefix) continue;
    // 43 characters of 32 bytes leave 2 unused bits; Base64UrlDecode checks they are 0.
    if (!Base64UrlDecode(token.substr(prefix.size())).ok()) return std::nullopt;
    return kind;
  }
  return std::nullopt;
}

std::string HashToken(std::string_view token) { return HexEncode(Sha256Digest(token)); }

std::string TokenDisplayPrefix(std::string_view token) {
  const std::optional<TokenKind> kind = ClassifyToken(token);
  if (!kind) return "";
  return std::string(token.substr(0, TokenPrefix(*kind).size() + kTokenDisplayChars));
}

}  // namespace infera
