#include "dicomweb/dicomweb_auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/status_matchers.h"

namespace infera {
namespace {

TEST(DicomwebAuthTest, ParsesBasicAndBearer) {
  ASSERT_OK_AND_ASSIGN(
      DicomwebAuth basic,
      ParseDicomwebAuth({{"type", "basic"}, {"username", "alice"}, {"password", "open sesame"}}));
  EXPECT_EQ(basic.Header(), "Basic YWxpY2U6b3BlbiBzZXNhbWU=");
  ASSERT_OK_AND_ASSIGN(DicomwebAuth bearer,
                       ParseDicomwebAuth({{"type", "bearer"}, {"token", "t0k"}}));
  EXPECT_EQ(bearer.Header(), "Bearer t0k");
  ASSERT_OK_AND_ASSIGN(DicomwebAuth none, ParseDicomwebAuth(nullptr));
  EXPECT_EQ(none.type, DicomwebAuth::Type::kNone);
  EXPECT_EQ(RedactedAuthJson(basic), nlohmann::json({{"type", "basic"}, {"redacted", true}}));
  EXPECT_TRUE(RedactedAuthJson(none).is_null());
}

TEST(DicomwebAuthTest, RefusalsNeverEchoTheSecret) {
  const nlohmann::json bad[] = {
      "secret-value",
      {{"type", "digest"}, {"password", "secret-value"}},
      {{"type", "basic"}, {"username", "a:b"}, {"password", "secret-value"}},
      {{"type", "basic"}, {"username", "a"}, {"password", "secret-value\n"}},
      {{"type", "basic"}, {"username", "a"}},
      {{"type", "bearer"}, {"token", "secret-value"}, {"extra", 1}},
      {{"type", "bearer"}, {"token", 5}},
  };
  for (const nlohmann::json& auth : bad) {
    StatusOr<DicomwebAuth> parsed = ParseDicomwebAuth(auth);
    EXPECT_EQ((parsed.status()).code(), absl::StatusCode::kInvalidArgument) << auth;
    EXPECT_EQ(std::string(parsed.status().message()).find("secret-value"), std::string::npos);
  }
}

TEST(DicomwebAuthTest, SealedCredentialsOpenOnlyUnderTheirKey) {
  CredentialSealer sealer("a server secret of enough bytes");
  DicomwebAuth auth;
  auth.type = DicomwebAuth::Type::kBasic;
  auth.username = "alice";
  auth.password = "s3cret-pw";
  ASSERT_OK_AND_ASSIGN(std::string sealed, sealer.Seal(auth));
  EXPECT_EQ(sealed.find("s3cret"), std::string::npos);
  EXPECT_EQ(sealed.find("alice"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(std::string again, sealer.Seal(auth));
  EXPECT_NE(sealed, again);  // a fresh nonce each time
  ASSERT_OK_AND_ASSIGN(DicomwebAuth opened, sealer.Open(sealed));
  EXPECT_EQ(opened.username, "alice");
  EXPECT_EQ(opened.password, "s3cret-pw");
  CredentialSealer other("another secret, also long enough");
  EXPECT_EQ((other.Open(sealed).status()).code(), absl::StatusCode::kInvalidArgument);
  std::string tampered = sealed;
  tampered[20] = tampered[20] == 'A' ? 'B' : 'A';
  EXPECT_EQ((sealer.Open(tampered).status()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((sealer.Open("not base64 !!").status()).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infera
