// COCO instances JSON: polygons, uncompressed and compressed RLE, iscrowd, categories to
// labels, names matched with or without folders; export then import is pixel for pixel
// (instances with their ids and classes, class masks); bad documents and images refused.
#include "annotations/coco.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "annotations/coco_rle.h"
#include "support/status_matchers.h"

namespace infera {
namespace {

using nlohmann::json;

ImageMatcher Dataset() {
  return ImageMatcher({{11, "a.png", 6, 4}, {12, "b.png", 3, 2}, {13, "c.tif", 5, 5}});
}

LabelMap Labels() { return {{1, "cell", {255, 0, 0}}, {2, "nucleus", {0, 255, 0}}}; }

ImportOptions Options(bool instances, LabelMap labels = Labels()) {
  ImportOptions o;
  o.instances = instances;
  o.labels = std::move(labels);
  return o;
}

std::vector<int> Pixels(const Image& m) {
  std::vector<int> out;
  for (size_t i = 0; i < static_cast<size_t>(m.width) * m.height; ++i) out.push_back(LabelAt(m, i));
  return out;
}

Image Labelled(int w, int h, std::vector<int> values) {
  int max = 0;
  for (int v : values) max = std::max(max, v);
  Image m = MakeLabelImage(w, h, max);
  for (size_t i = 0; i < values.size(); ++i) SetLabel(&m, i, values[i]);
  return m;
}

TEST(CocoTest, PolygonsAndBothRleFormsIntoInstances) {
  const json doc = {
      {"images",
       {{{"id", 1}, {"file_name", "folder/a.png"}, {"width", 6}, {"height", 4}},
        {{"id", 2}, {"file_name", "b.png"}, {"width", 3}, {"height", 2}}}},
      {"categories", {{{"id", 7}, {"name", "nucleus"}}, {{"id", 9}, {"name", "cell"}}}},
      {"annotations",
       {// a 2x2 square at (0,0) and a disjoint 1x1 at (4,2): one instance, two pieces
        {{"id", 100},
         {"image_id", 1},
         {"category_id", 9},
         {"iscrowd", 0},
         {"segmentation", {{0, 0, 2, 0, 2, 2, 0, 2}, {4, 2, 5, 2, 5, 3, 4, 3}}}},
        // uncompressed RLE (crowd): column 5 all set -> column-major start 20
        {{"id", 101},
         {"image_id", 1},
         {"category_id", 7},
         {"iscrowd", 1},
         {"segmentation", {{"size", {4, 6}}, {"counts", {20, 4}}}}},
        // compressed RLE on b: [1 0 0; 1 1 0]
        {{"id", 102},
         {"image_id", 2},
         {"category_id", 9},
         {"iscrowd", 0},
         {"segmentation", {{"size", {2, 3}}, {"counts", CocoRleToString({0, 2, 1, 1, 2})}}}}}}};
  ASSERT_OK_AND_ASSIGN(ImportResult r, ImportCoco(doc.dump(), Dataset(), Options(true)));
  EXPECT_TRUE(r.refused.empty()) << r.refused[0].reason;
  ASSERT_EQ(r.masks.size(), 2u);
  EXPECT_EQ(r.masks[0].image.file_id, 11);
  EXPECT_EQ(Pixels(r.masks[0].mask.labels), (std::vector<int>{1, 1, 0, 0, 0, 2,  //
                                                              1, 1, 0, 0, 0, 2,  //
                                                              0, 0, 0, 0, 1, 2,  //
                                                              0, 0, 0, 0, 0, 2}));
  EXPECT_EQ(r.masks[0].mask.classes, (std::map<int, int>{{1, 1}, {2, 2}}));  // by name
  EXPECT_EQ(Pixels(r.masks[1].mask.labels), (std::vector<int>{1, 0, 0, 1, 1, 0}));
}

TEST(CocoTest, ClassMasksPaintLabelIds) {
  const json doc = {{"images", {{{"id", 1}, {"file_name", "b.png"}, {"width", 3}, {"height", 2}}}},
                    {"categories", {{{"id", 1}, {"name", "nucleus"}}}},
                    {"annotations",
                     {{{"id", 1},
                       {"image_id", 1},
                       {"category_id", 1},
                       {"segmentation", {{"size", {2, 3}}, {"counts", {2, 4}}}}}}}};
  ASSERT_OK_AND_ASSIGN(ImportResult r, ImportCoco(doc.dump(), Dataset(), Options(false)));
  ASSERT_EQ(r.masks.size(), 1u);
  EXPECT_EQ(Pixels(r.masks[0].mask.labels), (std::vector<int>{0, 2, 2, 0, 2, 2}));
}

TEST(CocoTest, ExportThenImportIsLossless) {
  for (bool instances : {true, false}) {
    std::vector<ExportImage> images(2);
    images[0] = {11,
                 "a.png",
                 {Labelled(6, 4, {0, 3, 3, 0, 0, 7,  //
                                  0, 3, 0, 0, 7, 7,  //
                                  9, 0, 0, 0, 0, 0,  //
                                  9, 9, 0, 0, 0, 3}),
                  {}}};
    if (!instances) {
      images[0].mask.labels = Labelled(6, 4, {0, 1, 1, 0, 0, 2, 0, 1, 0, 0, 2, 2,  //
                                              2, 0, 0, 0, 0, 0, 2, 2, 0, 0, 0, 1});
    } else {
      images[0].mask.classes = {{3, 2}, {7, 1}, {9, 2}};
    }
    images[1] = {13, "c.tif", {Labelled(5, 5, std::vector<int>(25, 0)), {}}};
    const std::string text = ExportCoco(images, Labels(), instances);
    ASSERT_OK_AND_ASSIGN(ImportResult r, ImportCoco(text, Dataset(), Options(instances)));
    ASSERT_TRUE(r.refused.empty()) << r.refused[0].reason;
    ASSERT_EQ(r.masks.size(), 2u);
    EXPECT_EQ(Pixels(r.masks[0].mask.labels), Pixels(images[0].mask.labels)) << instances;
    EXPECT_EQ(r.masks[0].mask.classes, images[0].mask.classes);
    EXPECT_EQ(Pixels(r.masks[1].mask.labels), std::vector<int>(25, 0));
    const json doc = json::parse(text);
    EXPECT_EQ(doc["categories"].size(), 2u);
    EXPECT_EQ(doc["annotations"][0]["iscrowd"], 0);
    EXPECT_TRUE(doc["annotations"][0]["segmentation"]["counts"].is_string());
  }
}

TEST(CocoTest, BadImagesAreRefusedWithReasonsAndTheRestKept) {
  const json good = {{"id", 1},
                     {"image_id", 2},
                     {"category_id", 1},
                     {"segmentation", {{"size", {2, 3}}, {"counts", {6}}}}};
  auto with = [&](json image, json ann) {
    return json{
        {"images", {{{"id", 2}, {"file_name", "b.png"}, {"width", 3}, {"height", 2}}, image}},
        {"categories", {{{"id", 1}, {"name", "cell"}}, {{"id", 5}, {"name", "dust"}}}},
        {"annotations", {good, ann}}}
        .dump();
  };
  const json a = {{"id", 1}, {"file_name", "a.png"}, {"width", 6}, {"height", 4}};
  auto reason = [&](json image, json ann) -> std::string {
    StatusOr<ImportResult> r = ImportCoco(with(image, ann), Dataset(), Options(true));
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return "";
    EXPECT_EQ(r->masks.size(), 1u);  // b.png
    return r->refused.empty() ? "" : r->refused[0].reason;
  };
  json ann = {{"id", 9}, {"image_id", 1}, {"category_id", 1}};
  ann["segmentation"] = {{"size", {4, 6}}, {"counts", {3, 4}}};
  EXPECT_NE(reason(a, ann).find("sum to 7"), std::string::npos);
  ann["segmentation"] = {{"size", {4, 5}}, {"counts", {20}}};
  EXPECT_NE(reason(a, ann).find("RLE size"), std::string::npos);
  ann["segmentation"] = {{0, 0, 7, 0, 7, 2}};
  EXPECT_NE(reason(a, ann).find("outside"), std::string::npos);
  ann["segmentation"] = {{"size", {4, 6}}, {"counts", "#bad"}};
  EXPECT_NE(reason(a, ann).find("compressed RLE"), std::string::npos);
  ann["segmentation"] = {{0, 0, 1, 0, 1, 1}};
  ann["category_id"] = 5;
  EXPECT_NE(reason(a, ann).find("'dust' is not in the set's label map"), std::string::npos);
  ann["category_id"] = 1;
  json unknown = a;
  unknown["file_name"] = "zzz.png";
  EXPECT_EQ(reason(unknown, ann), "no image of that name in the dataset");
  json wrong_size = a;
  wrong_size["width"] = 60;
  EXPECT_NE(reason(wrong_size, ann).find("the image is 6x4"), std::string::npos);
}

TEST(CocoTest, DocumentsThatAreNotCocoAreInvalid) {
  for (const char* text : {"{", "[]", R"({"images": []})", R"({"images": {}, "annotations": []})",
                           R"({"images": [{"id": "x"}], "annotations": []})"}) {
    EXPECT_EQ(ImportCoco(text, Dataset(), Options(true)).status().code(),
              absl::StatusCode::kInvalidArgument)
        << text;
  }
}

}  // namespace
}  // namespace infera

namespace infera {
namespace {

TEST(CocoWriterTest, WritesEachImageAsItComes) {
  std::vector<std::string> chunks;
  CocoWriter writer({{1, "cell", {255, 0, 0}}}, /*instances=*/true, [&](std::string_view bytes) {
    chunks.emplace_back(bytes);
    return absl::OkStatus();
  });
  Image m = MakeLabelImage(3, 2, 2);
  SetLabel(&m, 0, 2);
  ASSERT_OK(writer.Add({5, "a.png", {m, {{2, 7}}}}));
  ASSERT_EQ(chunks.size(), 1u);  // out before the next image is read
  EXPECT_NE(chunks[0].find("\"instance_id\":2"), std::string::npos);
  ASSERT_OK(writer.Add({6, "b.png", {m, {}}}));
  ASSERT_OK(writer.Finish());
  std::string all;
  for (const std::string& c : chunks) all += c;
  const nlohmann::json doc = nlohmann::json::parse(all);
  EXPECT_EQ(doc["images"].size(), 2u);
  EXPECT_EQ(doc["annotations"].size(), 2u);
  // Class 7 is not in the map: it is still a category.
  EXPECT_EQ(doc["categories"].size(), 2u);
  EXPECT_EQ(doc["categories"][1]["name"], "class 7");
  Status refused = CocoWriter({}, false, [](std::string_view) {
                     return absl::CancelledError("gone");
                   }).Add({1, "a.png", {m, {}}});
  EXPECT_EQ(refused.code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace infera
