// labels.csv (annotations/labels_csv.h): rows, the optional header, quoting both ways,
// refused lines with their numbers; the resolver both readers (the server's import and
// `infera train`) share: unknown images and classes, duplicates, several files.
#include "annotations/labels_csv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/strings.h"
#include "support/status_matchers.h"

namespace infera {
namespace {

TEST(LabelsCsvTest, ReadsRowsSkipsHeaderAndBlankLines) {
  ASSERT_OK_AND_ASSIGN(LabelsCsv csv, ParseLabelsCsv("\xEF\xBB\xBF"
                                                     "file,label\r\na.png,cat\n\n b.png , dog \n"));
  ASSERT_EQ(csv.rows.size(), 2u);
  EXPECT_EQ(csv.rows[0].file, "a.png");
  EXPECT_EQ(csv.rows[0].label, "cat");
  EXPECT_EQ(csv.rows[0].line, 2);
  EXPECT_EQ(csv.rows[1].file, "b.png");
  EXPECT_EQ(csv.rows[1].label, "dog");
  EXPECT_EQ(csv.rows[1].line, 4);
  EXPECT_TRUE(csv.refused.empty());
  // Without a header the first line is a row; "file" only counts on the first line.
  ASSERT_OK_AND_ASSIGN(csv, ParseLabelsCsv("a.png,cat\nfile,dog"));
  ASSERT_EQ(csv.rows.size(), 2u);
  EXPECT_EQ(csv.rows[1].file, "file");
}

TEST(LabelsCsvTest, QuotedFieldsRoundTrip) {
  const std::string text = LabelsCsvLine("b, \"2\".png", "dog") + LabelsCsvLine("c.png", "a\nb") +
                           LabelsCsvLine("d.png", " spaced ");
  EXPECT_EQ(LabelsCsvLine("plain.png", "cat"), "plain.png,cat\n");
  ASSERT_OK_AND_ASSIGN(LabelsCsv csv, ParseLabelsCsv(text));
  ASSERT_EQ(csv.rows.size(), 3u) << text;
  EXPECT_EQ(csv.rows[0].file, "b, \"2\".png");
  EXPECT_EQ(csv.rows[1].label, "a\nb");
  EXPECT_EQ(csv.rows[2].line, 4);  // the quoted line break counts
  EXPECT_EQ(csv.rows[2].label, " spaced ");
  EXPECT_TRUE(csv.refused.empty());
}

TEST(LabelsCsvTest, RefusesMalformedLinesWithTheirNumbers) {
  ASSERT_OK_AND_ASSIGN(LabelsCsv csv,
                       ParseLabelsCsv("a.png\nb.png,cat,extra\n,dog\nc.png,\n\"d.png,cat\n"));
  EXPECT_TRUE(csv.rows.empty());
  ASSERT_EQ(csv.refused.size(), 5u);
  EXPECT_EQ(csv.refused[0].line, 1);
  EXPECT_NE(csv.refused[0].reason.find("expected 2 fields"), std::string::npos);
  EXPECT_EQ(csv.refused[1].line, 2);
  EXPECT_NE(csv.refused[2].reason.find("file name is empty"), std::string::npos);
  EXPECT_NE(csv.refused[3].reason.find("label is empty"), std::string::npos);
  EXPECT_EQ(csv.refused[4].line, 5);
  EXPECT_NE(csv.refused[4].reason.find("not closed"), std::string::npos);
  EXPECT_EQ(StatusOf(ParseLabelsCsv(std::string("a.png,c\0t", 9))).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusOf(ParseLabelsCsv("a.png,\xff\xfe")).code(), absl::StatusCode::kInvalidArgument);
}

// Images "a.png" (1) and "b, 2.png" (2); classes "cat" (7) and "dog" (8).
LabelsCsvResolver TestResolver() {
  return LabelsCsvResolver(
      [](std::string_view file) -> StatusOr<LabelsCsvImage> {
        if (file == "a.png" || file == "dir/a.png") return LabelsCsvImage{1, "a.png"};
        if (file == "b, 2.png") return LabelsCsvImage{2, "b, 2.png"};
        return absl::NotFoundError(StrCat("no image '", file, "'"));
      },
      [](std::string_view label) -> StatusOr<int64_t> {
        if (label == "cat") return 7;
        if (label == "dog") return 8;
        return absl::InvalidArgumentError(StrCat("unknown class '", label, "'"));
      });
}

TEST(LabelsCsvResolverTest, ResolvesQuotedBomCrlfAndBlankLines) {
  LabelsCsvResolver resolver = TestResolver();
  resolver.Add("labels.csv",
               "\xEF\xBB\xBF"
               "file,label\r\n\r\na.png,cat\r\n\"b, 2.png\",dog\r\n\n");
  EXPECT_TRUE(resolver.refused().empty());
  ASSERT_EQ(resolver.assigned().size(), 2u);
  EXPECT_EQ(resolver.assigned()[0].source, "labels.csv:3");
  EXPECT_EQ(resolver.assigned()[0].image, 1);
  EXPECT_EQ(resolver.assigned()[0].label, 7);
  EXPECT_EQ(resolver.assigned()[1].source, "labels.csv:4");
  EXPECT_EQ(resolver.assigned()[1].image, 2);
  EXPECT_EQ(resolver.assigned()[1].label, 8);
}

TEST(LabelsCsvResolverTest, RefusesUnknownClassesImagesAndDuplicatesWithClearReasons) {
  LabelsCsvResolver resolver = TestResolver();
  resolver.Add("first.csv",
               "a.png,zebra\n"    // unknown class
               "c.png,cat\n"      // unknown image
               "dir/a.png,cat\n"  // a.png
               "a.png,dog\n"      // a.png again
               "one field\n");    // malformed
  // A second file of the same upload: its rows meet the first's. Each file's malformed
  // lines come before its rows' refusals.
  resolver.Add("second.csv", "a.png,cat\nb, 2.png,dog\n");
  resolver.Add("binary.csv", std::string("a.png,c\0t", 9));
  resolver.RefuseFile("photo.png", "not a CSV");
  ASSERT_EQ(resolver.assigned().size(), 1u);
  EXPECT_EQ(resolver.assigned()[0].source, "first.csv:3");
  std::vector<std::string> refused;
  for (const LabelsCsvRejection& r : resolver.refused()) {
    refused.push_back(StrCat(r.source, " | ", r.reason));
  }
  EXPECT_THAT(refused, ::testing::ElementsAre(
                           "first.csv:5 | expected 2 fields (file,label), found 1",
                           "first.csv:1 | unknown class 'zebra'", "first.csv:2 | no image 'c.png'",
                           "first.csv:4 | first.csv:3 already labels a.png",
                           "second.csv:2 | expected 2 fields (file,label), found 3",
                           "second.csv:1 | first.csv:3 already labels a.png",
                           "binary.csv | a labels CSV is text; this holds NUL bytes",
                           "photo.png | not a CSV"));
  // Each refusal keeps its lookup's code: the caller tells "not here" from "wrong".
  EXPECT_EQ(resolver.refused()[1].code, absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(resolver.refused()[2].code, absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace infera
