// CVAT for images 1.1 XML: mask RLE over its box (row-major), polygons, boxes skipped and
// said so, z_order, several pieces; export then import pixel for pixel; malformed XML,
// DOCTYPEs (XXE, billion laughs), RLE that does not sum and shapes outside refused.
#include "annotations/cvat_xml.h"

#include <gtest/gtest.h>

#include "support/status_matchers.h"

namespace infera {
namespace {

ImageMatcher Dataset() { return ImageMatcher({{11, "a.png", 6, 4}, {12, "b.png", 20, 20}}); }
LabelMap Labels() { return {{1, "cell", {255, 0, 0}}, {2, "nucleus", {0, 255, 0}}}; }

ImportOptions Options(bool instances) {
  ImportOptions o;
  o.instances = instances;
  o.labels = Labels();
  return o;
}

std::vector<int> Pixels(const Image& m) {
  std::vector<int> out;
  for (size_t i = 0; i < static_cast<size_t>(m.width) * m.height; ++i) out.push_back(LabelAt(m, i));
  return out;
}

std::string Doc(const std::string& shapes, const std::string& name = "a.png") {
  return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<annotations><version>1.1</version>"
         "<meta><task><labels><label><name>cell</name></label><label><name>nucleus</name>"
         "</label></labels></task></meta>"
         "<image id=\"0\" name=\"" +
         name + "\" width=\"6\" height=\"4\">" + shapes + "</image></annotations>";
}

TEST(CvatXmlTest, RleIsRowMajorOverTheBox) {
  // A 3x2 box at (2,1): [0 1 1; 1 1 0] -> counts 1, 2, ... row-major.
  ASSERT_OK_AND_ASSIGN(
      CvatImportResult r,
      ImportCvatXml(Doc(R"(<mask label="cell" source="manual" occluded="0" rle="1, 4, 1" )"
                        R"(left="2" top="1" width="3" height="2" z_order="0"></mask>)"),
                    Dataset(), Options(false)));
  ASSERT_EQ(r.result.masks.size(), 1u)
      << (r.result.refused.empty() ? "" : r.result.refused[0].reason);
  EXPECT_EQ(Pixels(r.result.masks[0].mask.labels), (std::vector<int>{0, 0, 0, 0, 0, 0,  //
                                                                     0, 0, 0, 1, 1, 0,  //
                                                                     0, 0, 1, 1, 0, 0,  //
                                                                     0, 0, 0, 0, 0, 0}));
}

// The <mask> of CVAT's XML format documentation (docs.cvat.ai, "CVAT for images"), with
// its box at (707, 888) of a larger image: the counts, read row-major over the 13 x 15
// box, draw the documentation's disk.
TEST(CvatXmlTest, TheDocumentedMaskExampleDecodesToItsDisk) {
  const std::vector<std::string> disk = {
      "...#####.....", "..#######....", ".#########...", "###########..", "###########..",
      "############.", "############.", "#############", "#############", ".############",
      ".############", "..###########", "...#########.", "....#######..", ".....#####..."};
  const std::string xml =
      R"(<?xml version="1.0" encoding="utf-8"?><annotations><version>1.1</version>)"
      R"(<image id="0" name="frame.png" width="800" height="1000">)"
      R"(<mask label="car" source="manual" occluded="0" rle="3, 5, 7, 7, 5, 9, 3, 11, 2, 11, )"
      R"(2, 12, 1, 12, 1, 26, 1, 12, 1, 12, 2, 11, 3, 9, 5, 7, 7, 5, 3" left="707" top="888" )"
      R"(width="13" height="15" z_order="0"></mask></image></annotations>)";
  ImportOptions options;
  options.labels = {{1, "car", {255, 0, 0}}};
  ASSERT_OK_AND_ASSIGN(CvatImportResult r,
                       ImportCvatXml(xml, ImageMatcher({{5, "frame.png", 800, 1000}}), options));
  ASSERT_EQ(r.result.masks.size(), 1u)
      << (r.result.refused.empty() ? "" : r.result.refused[0].reason);
  const Image& m = r.result.masks[0].mask.labels;
  int64_t painted = 0;
  for (int y = 0; y < m.height; ++y) {
    for (int x = 0; x < m.width; ++x) {
      const bool in_box = x >= 707 && x < 707 + 13 && y >= 888 && y < 888 + 15;
      const int want = in_box && disk[y - 888][x - 707] == '#' ? 1 : 0;
      ASSERT_EQ(LabelAt(m, static_cast<size_t>(y) * m.width + x), want) << x << "," << y;
      painted += want;
    }
  }
  EXPECT_EQ(painted, 5 + 7 + 9 + 11 + 11 + 12 + 12 + 13 + 13 + 12 + 12 + 11 + 9 + 7 + 5);
  // And back: the box's crop encodes to the documented counts.
  std::vector<uint8_t> crop;
  for (const std::string& row : disk) {
    for (char c : row) crop.push_back(c == '#' ? 1 : 0);
  }
  EXPECT_EQ(CvatRleEncode(crop),
            (std::vector<uint32_t>{3,  5, 7,  7, 5,  9, 3,  11, 2, 11, 2, 12, 1, 12, 1,
                                   26, 1, 12, 1, 12, 2, 11, 3,  9, 5,  7, 7,  5, 3}));
}

TEST(CvatXmlTest, ZOrderPolygonsPiecesAndBoxes) {
  // The polygon (z 1) is painted over the mask (z 0) though it comes first; the mask has
  // two disconnected pieces; the box is skipped with a note.
  ASSERT_OK_AND_ASSIGN(
      CvatImportResult r,
      ImportCvatXml(
          Doc(R"(<polygon label="nucleus" points="0,0;3,0;3,2;0,2" z_order="1"/>)"
              R"(<mask label="cell" rle="0, 2, 2, 2" left="1" top="1" width="3" height="2" z_order="0"/>)"
              R"(<box label="cell" xtl="0" ytl="0" xbr="2" ybr="2" z_order="0"/>)"),
          Dataset(), Options(true)));
  ASSERT_EQ(r.result.masks.size(), 1u);
  EXPECT_EQ(Pixels(r.result.masks[0].mask.labels), (std::vector<int>{2, 2, 2, 0, 0, 0,  //
                                                                     2, 2, 2, 0, 0, 0,  //
                                                                     0, 0, 1, 1, 0, 0,  //
                                                                     0, 0, 0, 0, 0, 0}));
  // Instance 1 (the mask, painted first) is a cell, instance 2 a nucleus.
  EXPECT_EQ(r.result.masks[0].mask.classes, (std::map<int, int>{{1, 1}, {2, 2}}));
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("1 <box> shape(s) skipped"), std::string::npos);
}

TEST(CvatXmlTest, ExportThenImportIsLossless) {
  Image m = MakeLabelImage(20, 20, 300);
  // A disk, a ring with a hole and a 16-bit instance id.
  for (int y = 0; y < 20; ++y) {
    for (int x = 0; x < 20; ++x) {
      const int d1 = (x - 5) * (x - 5) + (y - 5) * (y - 5);
      const int d2 = (x - 14) * (x - 14) + (y - 13) * (y - 13);
      if (d1 <= 12) SetLabel(&m, y * 20 + x, 4);
      if (d2 <= 20 && d2 >= 5) SetLabel(&m, y * 20 + x, 300);
      if (x == 0 && y == 19) SetLabel(&m, y * 20 + x, 4);  // a second piece of 4
    }
  }
  std::vector<ExportImage> images = {{12, "b.png", {m, {{4, 2}, {300, 1}}}}};
  const std::string xml = ExportCvatXml(images, Labels(), true);
  ASSERT_OK_AND_ASSIGN(CvatImportResult r, ImportCvatXml(xml, Dataset(), Options(true)));
  ASSERT_EQ(r.result.masks.size(), 1u)
      << (r.result.refused.empty() ? "" : r.result.refused[0].reason);
  EXPECT_EQ(Pixels(r.result.masks[0].mask.labels), Pixels(m));
  EXPECT_EQ(r.result.masks[0].mask.classes, (std::map<int, int>{{4, 2}, {300, 1}}));
  EXPECT_NE(xml.find("<mask label=\"nucleus\""), std::string::npos);
}

TEST(CvatXmlTest, BadDocumentsAndShapesAreRefused) {
  auto invalid = [](const std::string& xml) {
    return ImportCvatXml(xml, Dataset(), Options(true)).status();
  };
  EXPECT_EQ(invalid("<annotations><image").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(invalid("<foo/>").code(), absl::StatusCode::kInvalidArgument);
  Status xxe = invalid(
      "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
      "<annotations>&x;</annotations>");
  EXPECT_EQ(xxe.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(xxe.message()).find("DOCTYPE"), std::string::npos) << xxe;
  std::string laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">";
  for (int i = 1; i < 10; ++i) {
    laughs += "<!ENTITY lol" + std::to_string(i) + " \"";
    for (int k = 0; k < 10; ++k) laughs += "&lol" + (i > 1 ? std::to_string(i - 1) : "") + ";";
    laughs += "\">";
  }
  laughs += "]><annotations>&lol9;</annotations>";
  EXPECT_EQ(invalid(laughs).code(), absl::StatusCode::kInvalidArgument);

  auto reason = [](const std::string& shape) -> std::string {
    StatusOr<CvatImportResult> r = ImportCvatXml(Doc(shape), Dataset(), Options(true));
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || r->result.refused.empty()) return "";
    EXPECT_TRUE(r->result.masks.empty());
    return r->result.refused[0].reason;
  };
  EXPECT_NE(reason(R"(<mask label="cell" rle="1, 2" left="0" top="0" width="2" height="2"/>)")
                .find("sum to 3"),
            std::string::npos);
  EXPECT_NE(reason(R"(<mask label="cell" rle="4" left="5" top="0" width="2" height="2"/>)")
                .find("not inside"),
            std::string::npos);
  EXPECT_NE(reason(R"(<polygon label="cell" points="0,0;9,0;3,3"/>)").find("outside"),
            std::string::npos);
  EXPECT_NE(reason(R"(<polygon label="dust" points="0,0;2,0;2,2"/>)").find("'dust'"),
            std::string::npos);
  EXPECT_NE(reason(R"(<mask label="cell" rle="1, x" left="0" top="0" width="2" height="2"/>)")
                .find("rle"),
            std::string::npos);
  StatusOr<CvatImportResult> unknown = ImportCvatXml(Doc("", "nope.png"), Dataset(), Options(true));
  ASSERT_OK(unknown.status());
  ASSERT_EQ(unknown->result.refused.size(), 1u);
  EXPECT_EQ(unknown->result.refused[0].reason, "no image of that name in the dataset");
}

}  // namespace
}  // namespace infera
