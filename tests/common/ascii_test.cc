#include "common/ascii.h"

#include <gtest/gtest.h>

#include <string>

namespace infera {
namespace {

TEST(AsciiTest, ToLowerFoldsOnlyAsciiCapitals) {
  EXPECT_EQ(AsciiStrToLower("Content-Type: TEXT/Plain; charset=UTF-8"),
            "content-type: text/plain; charset=utf-8");
  EXPECT_EQ(AsciiStrToLower(""), "");
  EXPECT_EQ(AsciiStrToLower("@[`{09"), "@[`{09");  // the neighbours of the letter ranges
  EXPECT_EQ(AsciiStrToLower("\xC3\x89t\xC3\xA9"), "\xC3\x89t\xC3\xA9");  // UTF-8 kept as is
  EXPECT_EQ(AsciiToLower('Z'), 'z');
  EXPECT_EQ(AsciiToLower('z'), 'z');
  EXPECT_EQ(AsciiToLower('\xC9'), '\xC9');
}

TEST(AsciiTest, EqualsIgnoreCaseComparesFoldedBytes) {
  EXPECT_TRUE(EqualsIgnoreCase("Content-Disposition", "content-disposition"));
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_FALSE(EqualsIgnoreCase("utf-8", "utf-80"));
  EXPECT_FALSE(EqualsIgnoreCase("utf-8", "utf_8"));
  EXPECT_FALSE(EqualsIgnoreCase("@", "`"));  // 0x40 and 0x60 differ by the case bit only
  EXPECT_FALSE(EqualsIgnoreCase("\xC9", "\xE9"));
}

TEST(AsciiTest, StartsWithIgnoreCase) {
  EXPECT_TRUE(StartsWithIgnoreCase("HTTPS://example.com/", "https://"));
  EXPECT_TRUE(StartsWithIgnoreCase("abc", ""));
  EXPECT_FALSE(StartsWithIgnoreCase("http", "http://"));
  EXPECT_FALSE(StartsWithIgnoreCase("/http://", "http://"));
}

}  // namespace
}  // namespace infera
