#include "common/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace infera {
namespace {

std::string Decode(std::string_view s) {
  auto out = Base64Decode(s);
  EXPECT_TRUE(out.ok()) << out.status();
  if (!out.ok()) return "";
  return std::string(reinterpret_cast<const char*>(out->data()), out->size());
}

TEST(Base64Test, RoundTripsAllLengths) {
  std::string data;
  for (int n = 0; n < 40; ++n) {
    const std::string enc = Base64Encode(data.data(), data.size());
    EXPECT_EQ(Decode(enc), data) << n;
    data.push_back(static_cast<char>(n * 37 + 1));
  }
}

TEST(Base64Test, AcceptsKnownVectorsUnpaddedWhitespaceAndDataUrl) {
  EXPECT_EQ(Decode("Zm9vYmFy"), "foobar");
  EXPECT_EQ(Decode("Zm9vYg=="), "foob");
  EXPECT_EQ(Decode("Zm9vYg"), "foob");
  EXPECT_EQ(Decode("Zm9v\nYmFy\r\n"), "foobar");
  EXPECT_EQ(Decode("data:image/png;base64,Zm9v"), "foo");
}

TEST(Base64Test, EncodesRfc4648VectorsPadded) {
  const char* const kVectors[][2] = {{"", ""},
                                     {"f", "Zg=="},
                                     {"fo", "Zm8="},
                                     {"foo", "Zm9v"},
                                     {"foob", "Zm9vYg=="},
                                     {"fooba", "Zm9vYmE="},
                                     {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : kVectors) {
    EXPECT_EQ(Base64Encode(plain, std::string_view(plain).size()), encoded) << plain;
    EXPECT_EQ(Base64Encode(plain, Base64Alphabet::kStandard, Base64Padding::kPadded), encoded);
  }
}

TEST(Base64Test, AlphabetAndPaddingAreParameters) {
  const std::string bytes = "\xfb\xff";  // 62 and 63 in the first two characters
  EXPECT_EQ(Base64Encode(bytes, Base64Alphabet::kStandard, Base64Padding::kPadded), "+/8=");
  EXPECT_EQ(Base64Encode(bytes, Base64Alphabet::kStandard, Base64Padding::kUnpadded), "+/8");
  EXPECT_EQ(Base64Encode(bytes, Base64Alphabet::kUrlSafe, Base64Padding::kPadded), "-_8=");
  EXPECT_EQ(Base64Encode(bytes, Base64Alphabet::kUrlSafe, Base64Padding::kUnpadded), "-_8");
  EXPECT_EQ(Base64Encode("f", Base64Alphabet::kUrlSafe, Base64Padding::kUnpadded), "Zg");
  EXPECT_EQ(Base64Encode("foo", Base64Alphabet::kUrlSafe, Base64Padding::kUnpadded), "Zm9v");
  EXPECT_EQ(Decode("-_8"), bytes);  // the lenient decoder reads both alphabets
}

TEST(Base64Test, RejectsGarbage) {
  EXPECT_EQ(Base64Decode("Zm9v!mFy").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Base64Decode("Zm9vY").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Base64Decode("Zm==9v").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Base64Decode("data:text/plain,hello").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infera
