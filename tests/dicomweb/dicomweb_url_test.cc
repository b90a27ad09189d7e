#include "dicomweb/dicomweb_url.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/status_matchers.h"

namespace infera {
namespace {

TEST(DicomwebUrlTest, ParsesHttpUrls) {
  ASSERT_OK_AND_ASSIGN(DicomwebUrl url, ParseDicomwebUrl("http://PACS.example:8042/dicom-web/"));
  EXPECT_EQ(url.host, "pacs.example");
  EXPECT_EQ(url.port, 8042);
  EXPECT_EQ(url.base_path, "/dicom-web");
  EXPECT_EQ(url.Target("/studies"), "/dicom-web/studies");
  EXPECT_EQ(url.ToString(), "http://pacs.example:8042/dicom-web");
  ASSERT_OK_AND_ASSIGN(DicomwebUrl bare, ParseDicomwebUrl("http://10.0.0.1"));
  EXPECT_EQ(bare.port, 80);
  EXPECT_EQ(bare.base_path, "");
  ASSERT_OK_AND_ASSIGN(DicomwebUrl v6, ParseDicomwebUrl("http://[::1]:9/x"));
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.ToString(), "http://[::1]:9/x");
}

TEST(DicomwebUrlTest, RefusesWhatTheServerMustNotFetch) {
  for (const char* bad :
       {"ftp://pacs/x", "file:///etc/passwd", "pacs:8042", "http://", "http://u:p@pacs/x",
        "http://pacs/x?q=1", "http://pacs/x#f", "http://pacs:0/x", "http://pacs:65536/x",
        "http://pacs:8a/x", "http://pa cs/x", "https://pacs/x", "http://[::1/x"}) {
    EXPECT_EQ((ParseDicomwebUrl(bad).status()).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(DicomwebUrlTest, AllowedHosts) {
  ASSERT_OK_AND_ASSIGN(DicomwebUrl url, ParseDicomwebUrl("http://Pacs.Example:8042/dicom-web"));
  EXPECT_TRUE((CheckAllowedHost(url, {})).ok());
  EXPECT_TRUE((CheckAllowedHost(url, {"other", "PACS.example"})).ok());
  EXPECT_EQ((CheckAllowedHost(url, {"other"})).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string((CheckAllowedHost(url, {"other"})).message()),
              ::testing::HasSubstr("allowed_hosts"));
}

}  // namespace
}  // namespace infera
