#include "auth/base64url.h"

#include <gtest/gtest.h>

#include <string>

namespace infera {
namespace {

TEST(Base64UrlTest, EncodesRfc4648VectorsWithoutPadding) {
  // RFC 4648 section 10, with the padding removed.
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
}

TEST(Base64UrlTest, UsesTheUrlSafeAlphabet) {
  // 0xfb 0xff encodes to "+/8" in standard base64.
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(*Base64UrlDecode("-_8"), "\xfb\xff");
}

TEST(Base64UrlTest, RoundTripsAllLengthsAndByteValues) {
  std::string data;
  for (int n = 0; n < 300; ++n) {
    const std::string enc = Base64UrlEncode(data);
    StatusOr<std::string> dec = Base64UrlDecode(enc);
    ASSERT_TRUE(dec.ok()) << n << " " << dec.status();
    EXPECT_EQ(*dec, data) << n;
    data.push_back(static_cast<char>(n));
  }
}

TEST(Base64UrlTest, RejectsPaddingStandardAlphabetWhitespaceAndNul) {
  const std::string cases[] = {"Zg==",
                               "Zm8=",
                               "Zm9v+A",
                               "Zm9v/A",
                               "Zm9v YmFy",
                               "Zm9v\nYmFy",
                               std::string("Zm9v\0A", 6),
                               "Zm9v.A",
                               "Zm9vYmFy\xc3\xa9"};
  for (const std::string& bad : cases) {
    EXPECT_EQ(Base64UrlDecode(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(Base64UrlTest, RejectsImpossibleLength) {
  EXPECT_EQ(Base64UrlDecode("Z").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Base64UrlDecode("Zm9vY").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Base64UrlTest, RejectsNonZeroTrailingBitsSoEncodingsAreUnique) {
  // "Zg" is "f"; "Zh".."Zv" carry the same first byte with non-zero unused bits.
  EXPECT_EQ(*Base64UrlDecode("Zg"), "f");
  EXPECT_EQ(Base64UrlDecode("Zh").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Base64UrlDecode("Zm9").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*Base64UrlDecode("Zm8"), "fo");
}

TEST(Base64UrlTest, IsBase64UrlTextChecksTheAlphabetOnly) {
  EXPECT_TRUE(IsBase64UrlText("AZaz09-_"));
  EXPECT_TRUE(IsBase64UrlText(""));
  EXPECT_FALSE(IsBase64UrlText("a+b"));
  EXPECT_FALSE(IsBase64UrlText("a="));
}

}  // namespace
}  // namespace infera
