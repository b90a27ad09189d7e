// labels.csv (annotations/labels_csv.h): rows, the optional header, quoting both ways,
// refused lines with their numbers.
#include "annotations/labels_csv.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace infera
