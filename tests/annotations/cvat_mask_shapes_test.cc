// CVAT function mask shapes: one per value with its tight inclusive box and row-major 0/1
// crop, several pieces of one value in one shape, 16-bit labels, the JSON form; and the
// model-class rules (a 0/255 binary mask is class 1, names from the labels file).
#include "annotations/cvat_mask_shapes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "annotations/label_image.h"
#include "annotations/model_classes.h"

namespace infera {
namespace {

Image Labels(int w, int h, const std::vector<int>& v, int max_label = 255) {
  Image m = MakeLabelImage(w, h, max_label);
  for (size_t i = 0; i < v.size(); ++i) SetLabel(&m, i, v[i]);
  return m;
}

TEST(CvatMaskShapesTest, OneShapePerValueOverItsTightBox) {
  // 5 x 4; value 2 in two pieces, value 1 one pixel.
  const Image m = Labels(5, 4, {0, 0, 0, 0, 0,  //
                                0, 2, 2, 0, 0,  //
                                0, 0, 0, 0, 2,  //
                                1, 0, 0, 0, 0});
  const std::vector<CvatMaskShape> shapes = CvatMaskShapes(m);
  ASSERT_EQ(shapes.size(), 2u);
  EXPECT_EQ(shapes[0].value, 1);
  EXPECT_EQ(shapes[0].left, 0);
  EXPECT_EQ(shapes[0].top, 3);
  EXPECT_EQ(shapes[0].right, 0);
  EXPECT_EQ(shapes[0].bottom, 3);
  EXPECT_EQ(shapes[0].crop, std::vector<uint8_t>{1});
  EXPECT_EQ(shapes[1].value, 2);
  EXPECT_EQ(shapes[1].left, 1);
  EXPECT_EQ(shapes[1].top, 1);
  EXPECT_EQ(shapes[1].right, 4);
  EXPECT_EQ(shapes[1].bottom, 2);
  EXPECT_EQ(shapes[1].crop, (std::vector<uint8_t>{1, 1, 0, 0,  //
                                                  0, 0, 0, 1}));
  std::string json;
  AppendCvatMaskJson(shapes[1], &json);
  EXPECT_EQ(nlohmann::json::parse(json), nlohmann::json::parse("[1,1,0,0,0,0,0,1,1,1,4,2]"));
}

TEST(CvatMaskShapesTest, SixteenBitLabelsAndAnEmptyMask) {
  Image m = Labels(3, 1, {0, 300, 65535}, 65535);
  const std::vector<CvatMaskShape> shapes = CvatMaskShapes(m);
  ASSERT_EQ(shapes.size(), 2u);
  EXPECT_EQ(shapes[0].value, 300);
  EXPECT_EQ(shapes[1].value, 65535);
  EXPECT_EQ(shapes[1].left, 2);
  EXPECT_TRUE(CvatMaskShapes(Labels(4, 4, {})).empty());
}

TEST(ModelClassesTest, ABinaryMaskOf255IsClassOne) {
  Image m = Labels(3, 1, {0, 255, 255});
  EXPECT_TRUE(IsBinaryForegroundMask(m, 0));
  EXPECT_TRUE(IsBinaryForegroundMask(m, 2));
  EXPECT_FALSE(IsBinaryForegroundMask(m, 256)) << "255 is a named class";
  EXPECT_FALSE(IsBinaryForegroundMask(Labels(3, 1, {0, 255, 1}), 2));
  EXPECT_FALSE(IsBinaryForegroundMask(Labels(3, 1, {0, 0, 0}), 2));
  MapBinaryForeground(&m);
  EXPECT_EQ(LabelsPresent(m), std::vector<int>{1});
}

TEST(ModelClassesTest, NamesComeFromTheLabelsFile) {
  const std::vector<std::string> names = {"background", "cell", ""};
  EXPECT_EQ(ModelClassName(names, 1), "cell");
  EXPECT_EQ(ModelClassName(names, 2), "class 2");
  EXPECT_EQ(ModelClassName(names, 9), "class 9");
  EXPECT_EQ(ModelForegroundName(names, "object"), "cell");
  EXPECT_EQ(ModelForegroundName({}, "foreground"), "foreground");
  EXPECT_EQ(ModelForegroundName({"only"}, "foreground"), "foreground");
}

}  // namespace
}  // namespace infera
