// Plain label images: matched by stem with the usual suffixes, 8/16-bit PNG and TIFF,
// shape and label checks; label maps parsed and refused with reasons.
#include "annotations/label_images.h"

#include <gtest/gtest.h>

#include "annotations/label_map.h"
#include "support/status_matchers.h"

namespace infera {
namespace {

ImageMatcher Dataset() {
  return ImageMatcher(
      {{1, "cells.png", 4, 3}, {2, "b.tif", 2, 2}, {3, "dup.png", 2, 2}, {4, "dup.jpg", 2, 2}});
}

std::string Png(const Image& m) {
  auto bytes = EncodePng(m);
  EXPECT_TRUE(bytes.ok());
  return std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size());
}

std::span<const std::byte> Bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

TEST(LabelImagesTest, StemsAndSuffixes) {
  ImageMatcher m = Dataset();
  for (const char* name :
       {"cells.png", "cells.tif", "cells_mask.png", "masks/cells_masks.png", "cells_label.tiff",
        "cells_labels.png", "cells_seg.png", "cells_cp_masks.png"}) {
    const TargetImage* t = MatchLabelImage(name, m);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->file_id, 1) << name;
  }
  EXPECT_EQ(MatchLabelImage("cellsmask.png", m), nullptr);
  EXPECT_EQ(MatchLabelImage("dup_mask.png", m), nullptr);  // two images have that stem
  EXPECT_EQ(LabelImageExportName("x/cells.png"), "cells_mask.png");
  EXPECT_TRUE(HasLabelSuffix("x/cells_cp_masks.png"));
  EXPECT_FALSE(HasLabelSuffix("x/cells.png"));
  EXPECT_FALSE(HasLabelSuffix("_mask.png"));
}

TEST(LabelImagesTest, ImportsEightAndSixteenBitAndChecksShapeAndLabels) {
  ImportOptions semantic;
  semantic.labels = {{1, "cell", {1, 2, 3}}, {2, "edge", {4, 5, 6}}};
  ImportResult r;
  Image m8 = MakeLabelImage(4, 3, 2);
  SetLabel(&m8, 5, 2);
  ImportLabelImage("cells_mask.png", Bytes(Png(m8)), Dataset(), semantic, &r);
  ASSERT_EQ(r.masks.size(), 1u);
  EXPECT_EQ(r.masks[0].mask.labels.type, PixelType::kUInt8);
  EXPECT_EQ(LabelAt(r.masks[0].mask.labels, 5), 2);

  ImportOptions instances;
  instances.instances = true;
  Image m16 = MakeLabelImage(2, 2, 1000);
  SetLabel(&m16, 3, 1000);
  auto tiff = EncodeTiff(m16);
  ASSERT_OK(tiff.status());
  ImportLabelImage("b_masks.tif", *tiff, Dataset(), instances, &r);
  ASSERT_EQ(r.masks.size(), 2u);
  EXPECT_EQ(LabelAt(r.masks[1].mask.labels, 3), 1000);

  Image bad_label = MakeLabelImage(4, 3, 9);
  SetLabel(&bad_label, 0, 9);
  ImportLabelImage("cells_seg.png", Bytes(Png(bad_label)), Dataset(), semantic, &r);
  ImportLabelImage("cells_seg.png", Bytes(Png(MakeLabelImage(3, 3, 1))), Dataset(), semantic, &r);
  ImportLabelImage("cells_seg.png", Bytes(Png(MakeImage(4, 3, 3, PixelType::kUInt8))), Dataset(),
                   semantic, &r);
  ImportLabelImage("nothing_mask.png", Bytes(Png(m8)), Dataset(), semantic, &r);
  ImportLabelImage("cells_mask.png", Bytes(std::string("not an image")), Dataset(), semantic, &r);
  ASSERT_EQ(r.masks.size(), 2u);
  ASSERT_EQ(r.refused.size(), 5u);
  EXPECT_EQ(r.refused[0].reason, "label 9 is not in the set's label map");
  EXPECT_NE(r.refused[1].reason.find("is 3x3"), std::string::npos);
  EXPECT_NE(r.refused[2].reason.find("3 channel(s)"), std::string::npos);
  EXPECT_NE(r.refused[3].reason.find("no image of the dataset matches"), std::string::npos);
  EXPECT_NE(r.refused[4].reason.find("PNG or a TIFF"), std::string::npos);
}

TEST(LabelMapTest, ParsesAndRefusesWithReasons) {
  ASSERT_OK_AND_ASSIGN(LabelMap labels,
                       ParseLabelMap(nlohmann::json::parse(
                           R"([{"id":1,"name":"cell","colour":"#FF0080"},{"id":3,"name":"x"}])")));
  ASSERT_EQ(labels.size(), 2u);
  EXPECT_EQ(ColourHex(labels[0].colour), "#ff0080");
  EXPECT_EQ(ColourHex(labels[1].colour), ColourHex(VocColour(3)));
  EXPECT_EQ(ColourHex(VocColour(1)), "#800000");  // VOC: 1 is (128, 0, 0)
  EXPECT_EQ(ColourHex(VocColour(15)), "#c08080");
  EXPECT_EQ(LabelMapJson(labels)[1]["colour"], ColourHex(VocColour(3)));
  for (const char* bad :
       {R"({})", R"([1])", R"([{"id":0,"name":"a"}])", R"([{"id":70000,"name":"a"}])",
        R"([{"id":1}])", R"([{"id":1,"name":"a"},{"id":1,"name":"b"}])",
        R"([{"id":1,"name":"a"},{"id":2,"name":"a"}])", R"([{"id":1,"name":"a","colour":"red"}])",
        R"([{"id":1,"name":"a","size":3}])"}) {
    EXPECT_EQ(ParseLabelMap(nlohmann::json::parse(bad)).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

}  // namespace
}  // namespace infera
