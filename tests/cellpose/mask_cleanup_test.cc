// Tests for cellpose/mask_cleanup.h: renumbering (first appearance, sparse and huge labels),
// small-mask removal, hole filling (enclosed holes, open bays, diagonal gaps, swallowed
// masks) and the combined clean-up.
#include "cellpose/mask_cleanup.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace infera::cellpose {
namespace {

// A label image from rows of characters: '.' = 0, '1'..'9' and 'a'..'z' = 1..35.
LabelImage FromRows(const std::vector<std::string>& rows) {
  LabelImage image =
      MakeLabelImage(static_cast<int>(rows.size()), static_cast<int>(rows[0].size()));
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      const char c = rows[static_cast<size_t>(y)][static_cast<size_t>(x)];
      uint32_t v = 0;
      if (c >= '1' && c <= '9') v = static_cast<uint32_t>(c - '0');
      if (c >= 'a' && c <= 'z') v = static_cast<uint32_t>(c - 'a' + 10);
      image.labels[static_cast<size_t>(y) * image.width + x] = v;
    }
  }
  return image;
}

TEST(RenumberLabelsTest, FirstAppearanceInRowMajorOrder) {
  LabelImage image = FromRows({"..7.", "3.7.", "..5."});
  EXPECT_EQ(RenumberLabels(image), 3u);
  EXPECT_EQ(image.labels, FromRows({"..1.", "2.1.", "..3."}).labels);
}

TEST(RenumberLabelsTest, HugeLabelValues) {
  LabelImage image = MakeLabelImage(1, 4);
  image.labels = {4000000000u, 0, 17, 4000000000u};
  EXPECT_EQ(RenumberLabels(image), 2u);
  EXPECT_EQ(image.labels, (std::vector<uint32_t>{1, 0, 2, 1}));
}

TEST(RemoveSmallMasksTest, RemovesMasksBelowMinSizeOnly) {
  LabelImage image = FromRows({"111.22", "111.22", "...3.."});
  RemoveSmallMasks(image, 4);  // 1 has 6 pixels, 2 has 4, 3 has 1
  EXPECT_EQ(image.labels, FromRows({"111.22", "111.22", "......"}).labels);
  RemoveSmallMasks(image, 5);
  EXPECT_EQ(image.labels, FromRows({"111...", "111...", "......"}).labels);
  LabelImage kept = FromRows({"1.2"});
  RemoveSmallMasks(kept, 0);
  RemoveSmallMasks(kept, -1);
  EXPECT_EQ(kept.labels, FromRows({"1.2"}).labels);
}

TEST(FillHolesTest, FillsEnclosedHolesButNotOpenBays) {
  LabelImage image = FromRows({
      "11111....",
      "1..11.222",
      "1.111.2..",
      "11111.222",
  });
  FillHoles(image);
  EXPECT_EQ(image.labels, FromRows({
                                       "11111....",
                                       "11111.222",
                                       "11111.2..",
                                       "11111.222",
                                   })
                              .labels);
}

TEST(FillHolesTest, BackgroundIsFourConnected) {
  // The centre pixel touches the outside only diagonally: a hole.
  LabelImage image = FromRows({
      "11.",
      "1.1",
      "111",
  });
  FillHoles(image);
  EXPECT_EQ(image.labels, FromRows({"11.", "111", "111"}).labels);
}

TEST(FillHolesTest, EnclosedMaskIsSwallowed) {
  LabelImage image = FromRows({
      "11111",
      "1.2.1",
      "11111",
  });
  FillHoles(image);
  EXPECT_EQ(image.labels, FromRows({"11111", "11111", "11111"}).labels);
  // Also when the inner mask has the smaller label (it is processed first).
  LabelImage reversed = FromRows({
      "22222",
      "2.1.2",
      "22222",
  });
  FillHoles(reversed);
  EXPECT_EQ(reversed.labels, FromRows({"22222", "22222", "22222"}).labels);
}

TEST(FillHolesAndRemoveSmallMasksTest, RemovesFillsAndRenumbers) {
  LabelImage image = FromRows({
      "77777...........",
      "7...7.......9...",
      "7...7...........",
      "77777....55555..",
      ".........5...5..",
      "..3......55555..",
  });
  // 7: a ring of 14 pixels (+6 hole pixels); 9 and 3: one pixel; 5: 12 pixels (+3 hole).
  EXPECT_EQ(FillHolesAndRemoveSmallMasks(image, 13), 1u);
  EXPECT_EQ(image.labels, FromRows({
                                       "11111...........",
                                       "11111...........",
                                       "11111...........",
                                       "11111...........",
                                       "................",
                                       "................",
                                   })
                              .labels);
}

TEST(FillHolesAndRemoveSmallMasksTest, SwallowedMaskDoesNotLeaveAGapInTheNumbers) {
  LabelImage image = FromRows({
      "1111111",
      "1.222.1",
      "1.222.1",
      "1111111",
      ".......",
      "3333...",
  });
  EXPECT_EQ(FillHolesAndRemoveSmallMasks(image, 2), 2u);
  EXPECT_EQ(image.labels, FromRows({
                                       "1111111",
                                       "1111111",
                                       "1111111",
                                       "1111111",
                                       ".......",
                                       "2222...",
                                   })
                              .labels);
}

}  // namespace
}  // namespace infera::cellpose
