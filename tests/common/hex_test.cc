#include "common/hex.h"

#include <gtest/gtest.h>

#include <string>

namespace infera {
namespace {

TEST(HexTest, HexEncodeIsLowerCaseTwoDigitsPerByte) {
  EXPECT_EQ(HexEncode(std::string("\x00\x0f\xf0\xff", 4)), "000ff0ff");
  EXPECT_EQ(HexEncode(""), "");
}

TEST(HexTest, IsLowerHexChecksLengthAndDigits) {
  EXPECT_TRUE(IsLowerHex("0123456789abcdef", 16));
  EXPECT_TRUE(IsLowerHex("", 0));
  EXPECT_FALSE(IsLowerHex("0123456789abcdef", 15));
  EXPECT_FALSE(IsLowerHex("0123456789ABCDEF", 16));
  EXPECT_FALSE(IsLowerHex("g0", 2));
  EXPECT_FALSE(IsLowerHex("/.", 2));
}

}  // namespace
}  // namespace infera
