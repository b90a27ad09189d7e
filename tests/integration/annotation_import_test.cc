// The streamed annotation import on the real server (in-process, auth off): an import of
// large images (2048 x 2048, 300 polygon instances each) raises the server's peak memory
// by less than three masks, not by one per image; a file refused midway (CVAT XML
// malformed after 180 of its 200 images) leaves no revision and no blob behind, and
// frees its images for a later file of the same request; an image refused midway (a COCO
// RLE that does not sum, image 180 of 200) gets no revision while the rest are written.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "imaging/codec.h"
#include "support/multipart_body.h"
#include "support/peak_memory.h"
#include "support/server_fixture.h"

namespace infera::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string GrayPng(int side, int seed) {
  Image image = MakeImage(side, side, 1, PixelType::kUInt8);
  std::fill(image.pixels<uint8_t>(), image.pixels<uint8_t>() + side * side, uint8_t{40});
  image.pixels<uint8_t>()[seed % (side * side)] = 200;  // distinct bytes per image
  auto bytes = EncodePng(image);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size())
                    : std::string();
}

std::string Name(int i) { return "img_" + std::to_string(i) + ".png"; }

// Regular files under `dir` (the blob store's).
int CountFiles(const fs::path& dir) {
  int n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file()) ++n;
  }
  return n;
}

class AnnotationImportTest : public ServerFixture {
 protected:
  static void SetUpTestSuite() { StartSuiteServer({"tiny_multiclass"}); }
  static void TearDownTestSuite() { StopSuiteServer(); }

  json JsonOf(const HttpResponse& r) { return json::parse(r.body, nullptr, false); }

  // A dataset of `n` gray side x side PNGs named Name(i); file ids by index.
  int64_t Dataset(int n, int side, std::vector<int64_t>* ids) {
    HttpResponse d = Post("/api/datasets", json{{"name", "import"}}.dump());
    EXPECT_EQ(d.status, 201) << d.body;
    const int64_t id = JsonOf(d)["id"];
    std::vector<FormPart> parts;
    for (int i = 0; i < n; ++i) parts.push_back({"files", Name(i), GrayPng(side, i)});
    HttpResponse up = Post("/api/datasets/" + std::to_string(id) + "/files", MultipartBody(parts),
                           {{"Content-Type", MultipartContentType()}});
    EXPECT_EQ(up.status, 201) << up.body.substr(0, 300);
    const json uploaded = JsonOf(up);
    std::map<std::string, int64_t> by_name;
    for (const json& f : uploaded["files"]) by_name[f["filename"]] = f["id"];
    ids->clear();
    for (int i = 0; i < n; ++i) ids->push_back(by_name[Name(i)]);
    return id;
  }

  int64_t NewSet(int64_t dataset, const std::string& name) {
    HttpResponse r = Post(
        "/api/datasets/" + std::to_string(dataset) + "/annotations",
        json{{"name", name}, {"kind", "instances"}, {"labels", {{{"id", 1}, {"name", "cell"}}}}}
            .dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return JsonOf(r).value("id", int64_t{0});
  }

  HttpResponse Import(int64_t set, const std::vector<FormPart>& parts) {
    return Post("/api/annotations/" + std::to_string(set) + "/import", MultipartBody(parts),
                {{"Content-Type", MultipartContentType()}});
  }

  int MaskCount(int64_t set) {
    return JsonOf(Get("/api/annotations/" + std::to_string(set))).value("mask_count", -1);
  }

  int MaskStatus(int64_t set, int64_t file) {
    return Get("/api/annotations/" + std::to_string(set) + "/images/" + std::to_string(file) +
               "/mask")
        .status;
  }

  fs::path Blobs() { return server_dir() / "data" / "blobs"; }
};

TEST_F(AnnotationImportTest, LargeImagesAreImportedOneMaskAtATime) {
  constexpr int kSide = 2048, kImages = 12, kPolygons = 300;  // 16-bit masks: 8 MiB each
  constexpr int64_t kMaskBytes = int64_t{kSide} * kSide * 2;
  std::vector<int64_t> ids;
  const int64_t dataset = Dataset(kImages, kSide, &ids);
  const int64_t set = NewSet(dataset, "large");
  json images = json::array(), annotations = json::array();
  for (int i = 0; i < kImages; ++i) {
    images.push_back({{"id", i + 1}, {"file_name", Name(i)}, {"width", kSide}, {"height", kSide}});
    for (int k = 0; k < kPolygons; ++k) {
      const int x = 20 + (k % 40) * 50, y = 20 + (k / 40) * 50 + i;
      annotations.push_back({{"id", annotations.size() + 1},
                             {"image_id", i + 1},
                             {"category_id", 1},
                             {"segmentation", {{x, y, x + 40, y, x + 40, y + 40, x, y + 40}}}});
    }
  }
  const std::string coco = json{{"images", images},
                                {"annotations", annotations},
                                {"categories", {{{"id", 1}, {"name", "cell"}}}}}
                               .dump();
  const std::string body = MultipartBody({{"file", "large.json", coco}});
  PeakMemory peak;
  ASSERT_TRUE(peak.Reset()) << "/proc/self/clear_refs cannot reset VmHWM here";
  HttpResponse r = Post("/api/annotations/" + std::to_string(set) + "/import", body,
                        {{"Content-Type", MultipartContentType()}});
  const int64_t growth = peak.Growth();
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  EXPECT_EQ(JsonOf(r)["imported"].size(), static_cast<size_t>(kImages));
  // Every mask held would be kImages x 8 MiB = 96 MiB.
  EXPECT_LT(growth, 3 * kMaskBytes) << "peak growth " << (growth >> 20) << " MiB";
  std::cout << "[ import of " << kImages << " 2048x2048 images: peak growth " << (growth >> 20)
            << " MiB ]" << std::endl;
  EXPECT_EQ(MaskCount(set), kImages);
  EXPECT_EQ(MaskStatus(set, ids[kImages - 1]), 200);
}

// A 32 x 32 CVAT XML image: a mask whose RLE is "k, 1024 - k" (distinct per image).
std::string XmlImage(int i, int k) {
  return "<image id=\"" + std::to_string(i) + "\" name=\"" + Name(i) +
         "\" width=\"32\" height=\"32\"><mask label=\"cell\" rle=\"" + std::to_string(k) + ", " +
         std::to_string(1024 - k) +
         "\" left=\"0\" top=\"0\" width=\"32\" height=\"32\" z_order=\"0\"></mask></image>\n";
}

TEST_F(AnnotationImportTest, AFileRefusedMidwayLeavesNothingBehind) {
  constexpr int kImages = 200, kBreak = 180;
  std::vector<int64_t> ids;
  const int64_t dataset = Dataset(kImages, 32, &ids);
  const int64_t set = NewSet(dataset, "midway");
  std::string xml =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<annotations><version>1.1</version>"
      "<meta><task><labels><label><name>cell</name></label></labels></task></meta>\n";
  for (int i = 0; i < kBreak; ++i) xml += XmlImage(i, i + 1);
  // Image 180 is cut short: malformed from there on.
  xml += "<image id=\"180\" name=\"" + Name(kBreak) + "\" width=\"32\" height=\"32\"></imag>\n";
  for (int i = kBreak + 1; i < kImages; ++i) xml += XmlImage(i, i + 1);
  xml += "</annotations>\n";
  const int blobs_before = CountFiles(Blobs());

  HttpResponse r = Import(set, {{"file", "broken.xml", xml}});
  ASSERT_EQ(r.status, 400) << r.body.substr(0, 300);
  const json verdicts = JsonOf(r);
  EXPECT_TRUE(verdicts["imported"].empty());
  ASSERT_EQ(verdicts["refused"].size(), 1u) << r.body.substr(0, 300);
  EXPECT_EQ(verdicts["refused"][0]["source"], "broken.xml");
  EXPECT_NE(verdicts["refused"][0]["reason"].get<std::string>().find("malformed XML"),
            std::string::npos);
  EXPECT_EQ(MaskCount(set), 0);
  EXPECT_EQ(MaskStatus(set, ids[0]), 404);
  EXPECT_EQ(CountFiles(Blobs()), blobs_before);  // the 180 staged masks' blobs swept

  // The same broken file with a good one after it: the good one's image (which the broken
  // file had staged) is written; the broken file still leaves nothing.
  const std::string good = json{{"images", {{{"id", 1}, {"file_name", Name(5)}}}},
                                {"annotations",
                                 {{{"id", 1},
                                   {"image_id", 1},
                                   {"category_id", 1},
                                   {"segmentation", {{0, 0, 10, 0, 10, 10}}}}}},
                                {"categories", {{{"id", 1}, {"name", "cell"}}}}}
                               .dump();
  r = Import(set, {{"file", "broken.xml", xml}, {"file", "good.json", good}});
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  ASSERT_EQ(JsonOf(r)["imported"].size(), 1u) << r.body.substr(0, 300);
  EXPECT_EQ(JsonOf(r)["imported"][0]["file_id"], ids[5]);
  EXPECT_EQ(JsonOf(r)["refused"].size(), 1u);
  EXPECT_EQ(MaskCount(set), 1);
  EXPECT_EQ(CountFiles(Blobs()), blobs_before + 1);
}

TEST_F(AnnotationImportTest, AnImageRefusedMidwayGetsNoRevision) {
  constexpr int kImages = 200, kBad = 180;
  std::vector<int64_t> ids;
  const int64_t dataset = Dataset(kImages, 32, &ids);
  const int64_t set = NewSet(dataset, "one bad image");
  json images = json::array(), annotations = json::array();
  for (int i = 0; i < kImages; ++i) {
    images.push_back({{"id", i + 1}, {"file_name", Name(i)}, {"width", 32}, {"height", 32}});
    const int k = i + 1;  // column-major: k background pixels, then the rest
    annotations.push_back(
        {{"id", i + 1},
         {"image_id", i + 1},
         {"category_id", 1},
         {"segmentation", {{"size", {32, 32}}, {"counts", {k, i == kBad ? 7 : 1024 - k}}}}});
  }
  const std::string coco = json{{"images", images},
                                {"annotations", annotations},
                                {"categories", {{{"id", 1}, {"name", "cell"}}}}}
                               .dump();
  HttpResponse r = Import(set, {{"file", "rle.json", coco}});
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  const json verdicts = JsonOf(r);
  EXPECT_EQ(verdicts["imported"].size(), static_cast<size_t>(kImages - 1));
  ASSERT_EQ(verdicts["refused"].size(), 1u);
  EXPECT_EQ(verdicts["refused"][0]["source"], "rle.json: " + Name(kBad));
  EXPECT_NE(verdicts["refused"][0]["reason"].get<std::string>().find("sum to 188"),
            std::string::npos)
      << verdicts["refused"].dump();
  EXPECT_EQ(MaskCount(set), kImages - 1);
  EXPECT_EQ(MaskStatus(set, ids[kBad]), 404);
  EXPECT_EQ(MaskStatus(set, ids[kBad + 1]), 200);
}

}  // namespace
}  // namespace infera::testing
