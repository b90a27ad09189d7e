#include "common/utf8.h"

#include <gtest/gtest.h>

#include <string>

#include "common/json_text.h"

namespace infera {
namespace {

TEST(Utf8Test, ValidTextIsValid) {
  for (const std::string& s :
       {std::string(""), std::string("plain.png"), std::string("caf\xC3\xA9"),
        std::string("\xE6\x97\xA5\xE6\x9C\xAC"), std::string("\xF0\x9F\x98\x80"),
        std::string("\xEF\xBF\xBD"), std::string("nul\0byte", 8)}) {
    EXPECT_TRUE(IsValidUtf8(s)) << s;
    EXPECT_EQ(ToValidUtf8(s), s);
  }
}

TEST(Utf8Test, IllFormedSequencesAreInvalid) {
  for (const std::string& s : {std::string("\xFF"), std::string("\xFE\xFF"), std::string("\x80"),
                               std::string("\xC3"),              // truncated
                               std::string("\xC0\xAF"),          // overlong '/'
                               std::string("\xE0\x80\xAF"),      // overlong
                               std::string("\xED\xA0\x80"),      // surrogate
                               std::string("\xF4\x90\x80\x80"),  // above U+10FFFF
                               std::string("\xF8\x88\x80\x80\x80")}) {
    EXPECT_FALSE(IsValidUtf8(s)) << s;
    EXPECT_TRUE(IsValidUtf8(ToValidUtf8(s)));
  }
}

TEST(Utf8Test, ReplacesMaximalSubpartsWithOneReplacementEach) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(ToValidUtf8("\xFF\xFE.png"), r + r + ".png");
  EXPECT_EQ(ToValidUtf8("caf\xE9.png"), "caf" + r + ".png");
  // A truncated 3-byte sequence is one maximal subpart.
  EXPECT_EQ(ToValidUtf8("a\xE6\x97z"), "a" + r + "z");
  // A surrogate's lead is a subpart of its own: each byte is replaced.
  EXPECT_EQ(ToValidUtf8("\xED\xA0\x80"), r + r + r);
}

TEST(Utf8Test, HiddenFormatCharacters) {
  for (char32_t c :
       {U'\0', U'\t', U'\x1F', U'\x7F', U'\x85', U'\x9F', U'\u061C', U'\u200B', U'\u200E',
        U'\u200F', U'\u2028', U'\u202A', U'\u202E', U'\u2060', U'\u2066', U'\u2069', U'\uFEFF'}) {
    EXPECT_TRUE(IsHiddenFormatCharacter(c)) << static_cast<uint32_t>(c);
  }
  for (char32_t c : {U' ', U'a', U'\u00A0', U'\u00E9', U'\u05D0', U'\u2013', U'\uFFFD'}) {
    EXPECT_FALSE(IsHiddenFormatCharacter(c)) << static_cast<uint32_t>(c);
  }
}

TEST(Utf8Test, CleanDisplayTextDropsHiddenCharactersAndRepairs) {
  EXPECT_EQ(CleanDisplayText("evil\xE2\x80\xAEgnp.exe"), "evilgnp.exe");
  EXPECT_EQ(CleanDisplayText("\xE2\x81\xA7x\xE2\x81\xA9\r\n\xC2\x85"), "x");
  EXPECT_EQ(CleanDisplayText("\xFF"
                             "a"),
            "\xEF\xBF\xBD"
            "a");
  EXPECT_EQ(CleanDisplayText("\xD7\x90\xD7\x91.png"), "\xD7\x90\xD7\x91.png");  // Hebrew stays
}

TEST(JsonTextTest, NeverThrowsOnInvalidUtf8) {
  nlohmann::json j = {{"name", std::string("\xFF\xFE.png")}};
  EXPECT_THROW((void)j.dump(), nlohmann::json::type_error);
  EXPECT_EQ(JsonText(j), "{\"name\":\"\xEF\xBF\xBD\xEF\xBF\xBD.png\"}");
  EXPECT_EQ(JsonText(nlohmann::json::array({1}), 2), "[\n  1\n]");
}

}  // namespace
}  // namespace infera
