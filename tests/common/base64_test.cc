#include "common/base64.h"

#include <gtest/gtest.h>

#include <random>
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

// The decoder as it was before its four-characters-at-a-time fast path: one character
// at a time. The fast path must give the same bytes and the same errors (offsets too).
StatusOr<std::vector<std::byte>> ReferenceDecode(std::string_view text) {
  static const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<std::byte> out;
  uint32_t acc = 0;
  int bits = 0;
  size_t padding = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    int v = static_cast<int>(alphabet.find(c));
    if (c == '-') v = 62;
    if (c == '_') v = 63;
    if (v < 0 || padding > 0) {
      return absl::InvalidArgumentError("invalid base64: unexpected character at offset " +
                                        std::to_string(i));
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::byte>((acc >> bits) & 0xFF));
    }
  }
  if (bits >= 6 || padding > 2)
    return absl::InvalidArgumentError("invalid base64: truncated input");
  return out;
}

TEST(Base64Test, FastPathDecodesAsOneCharacterAtATime) {
  // Valid text with whitespace, padding and stray characters sprinkled in at random.
  std::mt19937 rng(23);
  const std::string extras = " \n\r\t=!-_.";
  int errors = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string data(rng() % 64, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    std::string text = Base64Encode(data.data(), data.size());
    const int edits = static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && round % 3 != 0; ++e) {
      const size_t at = rng() % (text.size() + 1);
      text.insert(text.begin() + static_cast<long>(at), extras[rng() % extras.size()]);
    }
    const auto got = Base64Decode(text);
    const auto want = ReferenceDecode(text);
    ASSERT_EQ(got.ok(), want.ok()) << text;
    if (!want.ok()) {
      ++errors;
      EXPECT_EQ(got.status().message(), want.status().message()) << text;
      continue;
    }
    EXPECT_EQ(*got, *want) << text;
    if (edits == 0 || round % 3 == 0) {
      EXPECT_EQ(std::string(reinterpret_cast<const char*>(got->data()), got->size()), data);
    }
  }
  EXPECT_GT(errors, 100);  // the stray characters did reach the error paths
}

}  // namespace
}  // namespace infera
