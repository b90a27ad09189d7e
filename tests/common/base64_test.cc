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

TEST(Base64Test, RejectsGarbage) {
  EXPECT_EQ(Base64Decode("Zm9v!mFy").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Base64Decode("Zm9vY").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Base64Decode("Zm==9v").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Base64Decode("data:text/plain,hello").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infera
