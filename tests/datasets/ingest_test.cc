#include "datasets/ingest.h"

#include <gtest/gtest.h>

#include "common/utf8.h"

namespace infera {
namespace {

TEST(SanitizeFilenameTest, KeepsTheLastComponentWithoutUnsafeCharacters) {
  EXPECT_EQ(SanitizeFilename("../../etc/evil name.png"), "evil name.png");
  EXPECT_EQ(SanitizeFilename("C:\\Users\\x\\a?b*.png"), "ab.png");
  EXPECT_EQ(SanitizeFilename("..."), "file");
  EXPECT_EQ(SanitizeFilename(".hidden.png"), "hidden.png");
}

// Issue 22 item 1: names that are not UTF-8 were stored as sent and broke every read.
TEST(SanitizeFilenameTest, NonUtf8NamesBecomeValid) {
  EXPECT_EQ(SanitizeFilename("\xFF\xFE.png"), "\xEF\xBF\xBD\xEF\xBF\xBD.png");
  EXPECT_EQ(SanitizeFilename("caf\xE9.png"), "caf\xEF\xBF\xBD.png");
  EXPECT_TRUE(IsValidUtf8(SanitizeFilename(std::string(300, '\xFF') + ".png")));
}

// Issue 22 item 1: U+202E and other bidi/control characters were kept in stored names.
TEST(SanitizeFilenameTest, RemovesBidiInvisibleAndControlCharacters) {
  EXPECT_EQ(SanitizeFilename("evil\xE2\x80\xAEgnp.exe"), "evilgnp.exe");
  EXPECT_EQ(SanitizeFilename("a\xE2\x81\xA6"
                             "b\xE2\x80\x8F\xC2\x85\t.png"),
            "ab.png");
  EXPECT_EQ(SanitizeFilename("\xE6\x97\xA5\xE6\x9C\xAC.png"), "\xE6\x97\xA5\xE6\x9C\xAC.png");
}

TEST(SanitizeFilenameTest, LongNamesKeepTheExtensionAndWholeCharacters) {
  std::string name;
  for (int i = 0; i < 150; ++i) name += "\xC3\xA9";  // 300 bytes of 'é'
  const std::string out = SanitizeFilename(name + ".tiff");
  EXPECT_LE(out.size(), 200u);
  EXPECT_TRUE(out.ends_with(".tiff"));
  EXPECT_TRUE(IsValidUtf8(out));
}

}  // namespace
}  // namespace infera
