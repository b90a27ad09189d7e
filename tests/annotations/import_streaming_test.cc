// The importers hand over one image at a time: an import of many large images (2048 x
// 2048, 300 polygon instances each: 8 MiB uint16 masks) into a sink that drops each mask
// peaks below three masks' worth of memory, while collecting every mask (what the import
// did before it streamed) peaks with the number of images; a CVAT XML document is decoded
// as its bytes come (each image handed over at its end tag, before the document ends).
#include <gtest/gtest.h>

#include <iostream>
#include <string>

#include "annotations/coco.h"
#include "annotations/cvat_xml.h"
#include "support/peak_memory.h"
#include "support/status_matchers.h"

namespace infera {
namespace {

using testing::PeakMemory;

constexpr int kSide = 2048;
constexpr int kImages = 16;
constexpr int kPolygons = 300;  // > 255 instances: 16-bit masks
constexpr int64_t kMaskBytes = int64_t{kSide} * kSide * 2;

std::string Name(int i) { return "img_" + std::to_string(i) + ".png"; }

ImageMatcher Dataset(int n) {
  std::vector<TargetImage> images;
  for (int i = 0; i < n; ++i) images.push_back({100 + i, Name(i), kSide, kSide});
  return ImageMatcher(std::move(images));
}

ImportOptions Options() {
  ImportOptions o;
  o.instances = true;
  o.labels = {{1, "cell", {255, 0, 0}}};
  o.limits.max_pixels = int64_t{kSide} * kSide;
  return o;
}

// Polygon k of an image: an octagon-ish square of side 40 on a grid.
std::vector<int> Polygon(int k) {
  const int x = 20 + (k % 40) * 50, y = 20 + (k / 40) * 50;
  return {x, y, x + 40, y, x + 40, y + 40, x, y + 40};
}

std::string CocoDoc(int n) {
  std::string images, annotations;
  int next = 1;
  for (int i = 0; i < n; ++i) {
    images += (i ? "," : "") + std::string("{\"id\":") + std::to_string(i + 1) +
              ",\"file_name\":\"" + Name(i) + "\",\"width\":2048,\"height\":2048}";
    for (int k = 0; k < kPolygons; ++k) {
      std::string points;
      for (int v : Polygon(k)) points += (points.empty() ? "" : ",") + std::to_string(v);
      const int id = next++;
      annotations += (id > 1 ? "," : "") + std::string("{\"id\":") + std::to_string(id) +
                     ",\"image_id\":" + std::to_string(i + 1) +
                     ",\"category_id\":1,\"iscrowd\":0,\"segmentation\":[[" + points + "]]}";
    }
  }
  return "{\"images\":[" + images + "],\"annotations\":[" + annotations +
         "],\"categories\":[{\"id\":1,\"name\":\"cell\"}]}";
}

std::string CvatImage(int i) {
  std::string out = "<image id=\"" + std::to_string(i) + "\" name=\"" + Name(i) +
                    "\" width=\"2048\" height=\"2048\">";
  for (int k = 0; k < kPolygons; ++k) {
    const std::vector<int> p = Polygon(k);
    std::string points;
    for (size_t j = 0; j < p.size(); j += 2) {
      points += (j ? ";" : "") + std::to_string(p[j]) + "," + std::to_string(p[j + 1]);
    }
    out += "<polygon label=\"cell\" points=\"" + points + "\" z_order=\"0\"/>";
  }
  return out + "</image>\n";
}

std::string CvatHead() {
  return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<annotations><version>1.1</version>"
         "<meta><task><labels><label><name>cell</name></label></labels></task></meta>\n";
}

// Checks each mask and drops it (as the import route does once its PNG is stored).
class DroppingSink final : public ImportSink {
 public:
  Status Accept(ImportedMask&& mask) override {
    ++masks;
    EXPECT_EQ(mask.mask.labels.width, kSide);
    EXPECT_EQ(mask.mask.labels.type, PixelType::kUInt16);
    EXPECT_EQ(LabelsPresent(mask.mask.labels).size(), static_cast<size_t>(kPolygons));
    return absl::OkStatus();
  }
  void Refuse(ImportRefusal refusal) override {
    ADD_FAILURE() << refusal.source << ": " << refusal.reason;
  }
  void Note(std::string) override {}
  int masks = 0;
};

TEST(ImportStreamingTest, CocoHoldsOneMaskAtATime) {
  const ImageMatcher images = Dataset(kImages);
  const std::string doc = CocoDoc(kImages);
  PeakMemory peak;
  ASSERT_TRUE(peak.Reset()) << "/proc/self/clear_refs cannot reset VmHWM here";
  DroppingSink sink;
  ASSERT_OK(ImportCoco(doc, images, Options(), &sink));
  const int64_t streamed = peak.Growth();
  EXPECT_EQ(sink.masks, kImages);
  EXPECT_LT(streamed, 3 * kMaskBytes) << "peak growth " << (streamed >> 20) << " MiB";

  // Every mask held (the collecting form): the bound above tells the two apart.
  ASSERT_TRUE(peak.Reset());
  ASSERT_OK_AND_ASSIGN(ImportResult all, ImportCoco(doc, images, Options()));
  EXPECT_EQ(all.masks.size(), static_cast<size_t>(kImages));
  EXPECT_GT(peak.Growth(), kImages / 2 * kMaskBytes);
  std::cout << "[ COCO, " << kImages << " images: streamed +" << (streamed >> 20)
            << " MiB, collected +" << (peak.Growth() >> 20) << " MiB ]" << std::endl;
}

TEST(ImportStreamingTest, CvatXmlHoldsOneImageAtATime) {
  const ImageMatcher images = Dataset(kImages);
  std::string doc = CvatHead();
  for (int i = 0; i < kImages; ++i) doc += CvatImage(i);
  doc += "</annotations>\n";
  PeakMemory peak;
  ASSERT_TRUE(peak.Reset());
  DroppingSink sink;
  CvatXmlImporter importer(images, Options(), &sink);
  for (size_t p = 0; p < doc.size(); p += 65536) {
    ASSERT_OK(importer.Feed(std::string_view(doc).substr(p, 65536)));
  }
  ASSERT_OK(importer.Finish());
  const int64_t streamed = peak.Growth();
  EXPECT_EQ(sink.masks, kImages);
  EXPECT_LT(streamed, 3 * kMaskBytes) << "peak growth " << (streamed >> 20) << " MiB";

  ASSERT_TRUE(peak.Reset());
  ASSERT_OK_AND_ASSIGN(CvatImportResult all, ImportCvatXml(doc, images, Options()));
  EXPECT_EQ(all.result.masks.size(), static_cast<size_t>(kImages));
  EXPECT_GT(peak.Growth(), kImages / 2 * kMaskBytes);
  std::cout << "[ CVAT XML, " << kImages << " images: streamed +" << (streamed >> 20)
            << " MiB, collected +" << (peak.Growth() >> 20) << " MiB ]" << std::endl;
}

TEST(ImportStreamingTest, CvatXmlHandsEachImageOverAtItsEndTag) {
  const ImageMatcher images = Dataset(3);
  DroppingSink sink;
  CvatXmlImporter importer(images, Options(), &sink);
  ASSERT_OK(importer.Feed(CvatHead() + CvatImage(0)));
  EXPECT_EQ(sink.masks, 1);  // before the document ends
  ASSERT_OK(importer.Feed(CvatImage(1)));
  EXPECT_EQ(sink.masks, 2);
  // Malformed after two images: the document is refused all the same (the caller drops
  // what it took); nothing more is handed over and the importer has ended.
  Status broken = importer.Feed("<image id=\"2\" name=\"img_2.png\"></imag>");
  EXPECT_EQ(broken.code(), absl::StatusCode::kInvalidArgument) << broken;
  EXPECT_NE(std::string(broken.message()).find("malformed XML"), std::string::npos) << broken;
  EXPECT_EQ(sink.masks, 2);
  EXPECT_FALSE(importer.Finish().ok());
}

// A sink's error stops the import and comes back as it was.
class FailingSink final : public ImportSink {
 public:
  Status Accept(ImportedMask&&) override {
    ++masks;
    return absl::UnavailableError("disk full");
  }
  void Refuse(ImportRefusal) override {}
  void Note(std::string) override {}
  int masks = 0;
};

TEST(ImportStreamingTest, TheSinksErrorStopsTheImport) {
  const ImageMatcher images = Dataset(3);
  FailingSink coco_sink;
  EXPECT_EQ(ImportCoco(CocoDoc(3), images, Options(), &coco_sink).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(coco_sink.masks, 1);
  FailingSink xml_sink;
  std::string doc = CvatHead() + CvatImage(0) + CvatImage(1) + "</annotations>";
  EXPECT_EQ(ImportCvatXml(doc, images, Options(), &xml_sink).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(xml_sink.masks, 1);
}

}  // namespace
}  // namespace infera
