#include "auth/crypto.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/hex.h"

namespace infera {
namespace {

TEST(CryptoTest, HmacSha256MatchesRfc4231TestCase2) {
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(CryptoTest, HmacSha256AcceptsEmptyKeyAndData) {
  // RFC 4231 has no empty-key case; this value is HMAC-SHA256("", "") from OpenSSL's
  // command line (`openssl dgst -sha256 -hmac "" /dev/null`).
  EXPECT_EQ(HexEncode(HmacSha256("", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(CryptoTest, ConstantTimeEqualsComparesBytesAndLengths) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "xbc"));
}

TEST(CryptoTest, SecureRandomBytesHasTheSizeAndDiffers) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    StatusOr<std::string> bytes = SecureRandomBytes(16);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    EXPECT_EQ(bytes->size(), 16u);
    seen.insert(*bytes);
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(SecureRandomBytes(0)->size(), 0u);
}

TEST(CryptoTest, CleanseStringZeroesBytes) {
  std::string s = "secret";
  CleanseString(s);
  EXPECT_EQ(s, std::string(6, '\0'));
}

}  // namespace
}  // namespace infera
