// CVAT Segmentation mask 1.1: export then import pixel for pixel (instances by their VOC
// object colours, classes by the labelmap), one-channel index PNGs, and colours or
// labelmaps that do not fit refused.
#include "annotations/cvat_seg_zip.h"

#include <gtest/gtest.h>

#include "support/status_matchers.h"

namespace infera {
namespace {

ImageMatcher Dataset() { return ImageMatcher({{11, "a.tif", 4, 3}, {12, "b.png", 2, 2}}); }
LabelMap Labels() { return {{1, "cell", {255, 0, 0}}, {2, "nucleus", {0, 255, 0}}}; }

ImportOptions Options(bool instances, LabelMap labels = Labels()) {
  ImportOptions o;
  o.instances = instances;
  o.labels = std::move(labels);
  return o;
}

Image Labelled(int w, int h, std::vector<int> values) {
  int max = 0;
  for (int v : values) max = std::max(max, v);
  Image m = MakeLabelImage(w, h, max);
  for (size_t i = 0; i < values.size(); ++i) SetLabel(&m, i, values[i]);
  return m;
}

std::vector<int> Pixels(const Image& m) {
  std::vector<int> out;
  for (size_t i = 0; i < static_cast<size_t>(m.width) * m.height; ++i) out.push_back(LabelAt(m, i));
  return out;
}

std::string Png(const Image& im) {
  auto bytes = EncodePng(im);
  EXPECT_TRUE(bytes.ok());
  return std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size());
}

TEST(CvatSegZipTest, ExportThenImportIsLossless) {
  for (bool instances : {true, false}) {
    std::vector<ExportImage> images;
    if (instances) {
      images.push_back({11,
                        "a.tif",
                        {Labelled(4, 3, {0, 5, 5, 0, 300, 0, 0, 0, 300, 300, 0, 7}),
                         {{5, 2}, {300, 1}, {7, 2}}}});
    } else {
      images.push_back({11, "a.tif", {Labelled(4, 3, {0, 1, 1, 0, 2, 0, 0, 0, 2, 2, 0, 1}), {}}});
    }
    ASSERT_OK_AND_ASSIGN(auto files, ExportCvatSegZip(images, Labels(), instances));
    std::map<std::string, std::string> entries(files.begin(), files.end());
    ASSERT_TRUE(entries.count("SegmentationClass/a.png"));
    ASSERT_TRUE(entries.count("SegmentationObject/a.png"));
    EXPECT_EQ(entries["labelmap.txt"],
              "# label:color_rgb:parts:actions\nbackground:0,0,0::\ncell:255,0,0::\n"
              "nucleus:0,255,0::\n");
    EXPECT_EQ(entries["ImageSets/Segmentation/default.txt"], "a\n");
    ASSERT_OK_AND_ASSIGN(ImportResult r, ImportCvatSegZip(entries, Dataset(), Options(instances)));
    ASSERT_TRUE(r.refused.empty()) << r.refused[0].reason;
    ASSERT_EQ(r.masks.size(), 1u);
    EXPECT_EQ(Pixels(r.masks[0].mask.labels), Pixels(images[0].mask.labels)) << instances;
    EXPECT_EQ(r.masks[0].mask.classes, images[0].mask.classes);
  }
}

TEST(CvatSegZipTest, IndexPngsAndBadInput) {
  Image index = Labelled(2, 2, {0, 2, 1, 0});  // labelmap lines: background, nucleus, cell
  std::map<std::string, std::string> entries = {
      {"labelmap.txt", "background:0,0,0::\nnucleus:1,2,3::\ncell:4,5,6::\n"},
      {"SegmentationClass/b.png", Png(index)}};
  ASSERT_OK_AND_ASSIGN(ImportResult r, ImportCvatSegZip(entries, Dataset(), Options(false)));
  ASSERT_EQ(r.masks.size(), 1u);
  EXPECT_EQ(Pixels(r.masks[0].mask.labels), (std::vector<int>{0, 1, 2, 0}));  // by name

  Image rgb = MakeImage(2, 2, 3, PixelType::kUInt8);
  rgb.pixels<uint8_t>()[0] = 9;  // a colour the labelmap lacks
  entries["SegmentationClass/b.png"] = Png(rgb);
  entries["SegmentationClass/zzz.png"] = Png(rgb);
  ASSERT_OK_AND_ASSIGN(r, ImportCvatSegZip(entries, Dataset(), Options(false)));
  EXPECT_TRUE(r.masks.empty());
  ASSERT_EQ(r.refused.size(), 2u);
  EXPECT_NE(r.refused[0].reason.find("#090000 is not in labelmap.txt"), std::string::npos);
  EXPECT_NE(r.refused[1].reason.find("no image"), std::string::npos);

  entries["labelmap.txt"] = "background:0,0,0::\ndust:1,2,3::\n";
  entries.erase("SegmentationClass/zzz.png");
  entries["SegmentationClass/b.png"] = Png(Labelled(2, 2, {0, 1, 0, 0}));
  ASSERT_OK_AND_ASSIGN(r, ImportCvatSegZip(entries, Dataset(), Options(false)));
  ASSERT_EQ(r.refused.size(), 1u);
  EXPECT_NE(r.refused[0].reason.find("'dust'"), std::string::npos);

  for (const char* bad : {"", "cell\n", "cell:1,2::\n", "cell:1,2,300::\n"}) {
    entries["labelmap.txt"] = bad;
    EXPECT_EQ(ImportCvatSegZip(entries, Dataset(), Options(false)).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  entries.erase("labelmap.txt");
  EXPECT_EQ(ImportCvatSegZip(entries, Dataset(), Options(false)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infera
