#include "auth/opaque_token.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "auth/base64url.h"

namespace infera {
namespace {

std::string MustGenerate(TokenKind kind) {
  StatusOr<std::string> token = GenerateToken(kind);
  EXPECT_TRUE(token.ok()) << token.status();
  return token.ok() ? *token : "";
}

TEST(OpaqueTokenTest, FormatIsPrefixAnd43Base64UrlCharactersOf32Bytes) {
  const std::string rt = MustGenerate(TokenKind::kRefreshToken);
  const std::string key = MustGenerate(TokenKind::kApiKey);
  ASSERT_EQ(rt.rfind("infera_rt_", 0), 0u) << rt;
  ASSERT_EQ(key.rfind("infera_key_", 0), 0u) << key;
  EXPECT_EQ(rt.size(), 10 + kTokenRandomChars);
  EXPECT_EQ(key.size(), 11 + kTokenRandomChars);
  StatusOr<std::string> random = Base64UrlDecode(key.substr(11));
  ASSERT_TRUE(random.ok()) << random.status();
  EXPECT_EQ(random->size(), kTokenRandomBytes);
  EXPECT_EQ(rt.find('.'), std::string::npos);  // never mistaken for a JWT
}

TEST(OpaqueTokenTest, TokensAreUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(MustGenerate(TokenKind::kApiKey));
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(OpaqueTokenTest, ClassifyAcceptsOnlyTheExactShape) {
  const std::string rt = MustGenerate(TokenKind::kRefreshToken);
  const std::string key = MustGenerate(TokenKind::kApiKey);
  EXPECT_EQ(ClassifyToken(rt), TokenKind::kRefreshToken);
  EXPECT_EQ(ClassifyToken(key), TokenKind::kApiKey);
  EXPECT_EQ(ClassifyToken(""), std::nullopt);
  EXPECT_EQ(ClassifyToken("infera_key_"), std::nullopt);
  EXPECT_EQ(ClassifyToken(key.substr(0, key.size() - 1)), std::nullopt);
  EXPECT_EQ(ClassifyToken(key + "A"), std::nullopt);
  EXPECT_EQ(ClassifyToken("infera_rt_" + key.substr(11)), TokenKind::kRefreshToken);
  EXPECT_EQ(ClassifyToken("INFERA_KEY_" + key.substr(11)), std::nullopt);
  EXPECT_EQ(ClassifyToken("infera_xx_" + key.substr(11)), std::nullopt);
  std::string bad_char = key;
  bad_char[15] = '+';
  EXPECT_EQ(ClassifyToken(bad_char), std::nullopt);
  EXPECT_EQ(ClassifyToken("eyJhbGciOiJIUzI1NiJ9.e30.c2ln"), std::nullopt);
}

TEST(OpaqueTokenTest, HashIsStableHexSha256OfTheWholeToken) {
  // sha256("abc"), a FIPS 180-2 vector.
  EXPECT_EQ(HashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string key = MustGenerate(TokenKind::kApiKey);
  const std::string h = HashToken(key);
  EXPECT_EQ(h, HashToken(key));
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(h, HashToken(MustGenerate(TokenKind::kApiKey)));
  // The prefix is hashed too: the same random part as another kind is another credential.
  EXPECT_NE(HashToken("infera_rt_" + key.substr(11)), h);
}

TEST(OpaqueTokenTest, DisplayPrefixShowsOnlyTheFirstCharacters) {
  const std::string key = MustGenerate(TokenKind::kApiKey);
  const std::string shown = TokenDisplayPrefix(key);
  EXPECT_EQ(shown, key.substr(0, 11 + kTokenDisplayChars));
  EXPECT_EQ(TokenDisplayPrefix(MustGenerate(TokenKind::kRefreshToken)).size(),
            10 + kTokenDisplayChars);
  EXPECT_EQ(TokenDisplayPrefix("not a token"), "");
}

}  // namespace
}  // namespace infera
