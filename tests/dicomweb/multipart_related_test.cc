#include "dicomweb/multipart_related.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "support/status_matchers.h"

namespace infera {
namespace {

TEST(MultipartRelatedTest, ReadsPartsWithTheBoundaryOfTheContentType) {
  const std::string body =
      "preamble\r\n--abc\r\nContent-Type: application/dicom\r\nX-Extra: 1\r\n\r\nDICM\r\n--"
      "abcd not a delimiter\r\n--abc\r\ncontent-type: application/dicom\r\n\r\nsecond"
      "\r\n--abc--\r\nepilogue";
  ASSERT_OK_AND_ASSIGN(std::vector<RelatedPart> parts,
                       ParseMultipartRelated(
                           R"(multipart/related; type="application/dicom"; boundary="abc")", body));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].content_type, "application/dicom");
  EXPECT_EQ(parts[0].headers.at("x-extra"), "1");
  EXPECT_EQ(parts[0].body, "DICM\r\n--abcd not a delimiter");
  EXPECT_EQ(parts[1].body, "second");
}

TEST(MultipartRelatedTest, BuildThenParseRoundTripsBinaryParts) {
  const std::string a("\0\r\n--x\r\n\xff", 9);
  const std::string b = "plain";
  const std::string boundary = NewBoundary({a, b});
  const std::string body = BuildMultipartRelated({a, b}, "application/dicom", boundary);
  ASSERT_OK_AND_ASSIGN(std::vector<RelatedPart> parts,
                       ParseMultipartRelated("multipart/related; boundary=" + boundary, body));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].body, a);
  EXPECT_EQ(parts[1].body, b);
  EXPECT_EQ(MediaType(parts[0].content_type), "application/dicom");
}

TEST(MultipartRelatedTest, MalformedBodiesAreRefusedWithAReason) {
  const std::string type = "multipart/related; boundary=abc";
  EXPECT_EQ((ParseMultipartRelated("application/json", "{}").status()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string((ParseMultipartRelated("application/json", "{}").status()).message()),
              ::testing::HasSubstr("multipart"));
  EXPECT_EQ((ParseMultipartRelated("multipart/related", "--abc--").status()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      std::string((ParseMultipartRelated("multipart/related", "--abc--").status()).message()),
      ::testing::HasSubstr("boundary"));
  EXPECT_EQ((ParseMultipartRelated(type, "no delimiter").status()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string((ParseMultipartRelated(type, "no delimiter").status()).message()),
              ::testing::HasSubstr("opening"));
  EXPECT_EQ(
      (ParseMultipartRelated(type, "--abc\r\nContent-Type: a\r\n\r\ntruncated").status()).code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      std::string(
          (ParseMultipartRelated(type, "--abc\r\nContent-Type: a\r\n\r\ntruncated").status())
              .message()),
      ::testing::HasSubstr("truncated"));
  EXPECT_EQ((ParseMultipartRelated(type, "--abc\r\nno colon\r\n\r\nx\r\n--abc--").status()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      std::string((ParseMultipartRelated(type, "--abc\r\nno colon\r\n\r\nx\r\n--abc--").status())
                      .message()),
      ::testing::HasSubstr("header"));
  std::string many;
  for (int i = 0; i < 5; ++i) many += "--abc\r\n\r\nx\r\n";
  many += "--abc--";
  EXPECT_EQ((ParseMultipartRelated(type, many, 3).status()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string((ParseMultipartRelated(type, many, 3).status()).message()),
              ::testing::HasSubstr("more than 3"));
}

TEST(MultipartRelatedTest, HeaderParameters) {
  const std::string v = R"(multipart/related; type="application/dicom"; Boundary=x1 ; q="a\"b")";
  EXPECT_EQ(HeaderParameter(v, "type"), "application/dicom");
  EXPECT_EQ(HeaderParameter(v, "boundary"), "x1");
  EXPECT_EQ(HeaderParameter(v, "q"), "a\"b");
  EXPECT_EQ(HeaderParameter(v, "missing"), "");
  EXPECT_EQ(MediaType(" Multipart/Related ; x=1"), "multipart/related");
}

}  // namespace
}  // namespace infera
