#include "auth/crypto.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace infera {
namespace {

TEST(CryptoTest, Sha256MatchesFips180Vector) {
  EXPECT_EQ(HexEncode(Sha256Digest("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha256Digest("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

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

TEST(CryptoTest, HexEncodeIsLowerCaseTwoDigitsPerByte) {
  EXPECT_EQ(HexEncode(std::string("\x00\x0f\xf0\xff", 4)), "000ff0ff");
  EXPECT_EQ(HexEncode(""), "");
}

TEST(CryptoTest, CleanseStringZeroesBytes) {
  std::string s = "secret";
  CleanseString(s);
  EXPECT_EQ(s, std::string(6, '\0'));
}

}  // namespace
}  // namespace infera
