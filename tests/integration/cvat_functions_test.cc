// The CVAT serverless "detector" endpoint on the real server with real models: the
// shapes' "mask" crops, put back at their boxes, are exactly the mask /predict gives for
// the same image (a binary segmenter's 0/255 mask as its class 1, a multi-class model's
// classes one shape each by name, cellpose's instances one shape each); the function
// descriptions; bad input 4xx; guarded like the inference routes.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <span>

#include "common/base64.h"
#include "imaging/codec.h"
#include "support/server_fixture.h"

namespace infera::testing {
namespace {

using json = nlohmann::json;

constexpr const char* kAdminPassword = "admin-test-password";

std::string B64(const std::string& bytes) { return Base64Encode(bytes.data(), bytes.size()); }

Image DecodeB64(const std::string& text) {
  StatusOr<std::vector<std::byte>> bytes = Base64Decode(text);
  EXPECT_TRUE(bytes.ok());
  StatusOr<Image> image = DecodeImage(*bytes);
  EXPECT_TRUE(image.ok()) << image.status();
  return image.ok() ? *image : Image{};
}

int At(const Image& m, size_t i) {
  return m.type == PixelType::kUInt8 ? m.pixels<uint8_t>()[i] : m.pixels<uint16_t>()[i];
}

// Paints each shape's crop back at its box with the value `value_of(shape)`; fails the
// test on a malformed shape (box outside the image, crop size not the box's).
std::vector<int> Paint(const json& shapes, int width, int height,
                       const std::function<int(const json&)>& value_of) {
  std::vector<int> out(static_cast<size_t>(width) * height, 0);
  for (const json& s : shapes) {
    EXPECT_EQ(s["type"], "mask");
    EXPECT_TRUE(s.contains("confidence"));
    const std::vector<int> mask = s["mask"].get<std::vector<int>>();
    EXPECT_GE(mask.size(), 5u);
    if (mask.size() < 5) continue;
    const int l = mask[mask.size() - 4], t = mask[mask.size() - 3];
    const int r = mask[mask.size() - 2], b = mask[mask.size() - 1];
    EXPECT_TRUE(0 <= l && l <= r && r < width && 0 <= t && t <= b && b < height) << s.dump();
    EXPECT_EQ(mask.size() - 4, static_cast<size_t>(r - l + 1) * (b - t + 1));
    if (mask.size() - 4 != static_cast<size_t>(r - l + 1) * (b - t + 1)) continue;
    bool any = false;
    const int value = value_of(s);
    for (int y = t; y <= b; ++y) {
      for (int x = l; x <= r; ++x) {
        const int c = mask[static_cast<size_t>(y - t) * (r - l + 1) + (x - l)];
        EXPECT_TRUE(c == 0 || c == 1);
        if (c == 1) {
          EXPECT_EQ(out[static_cast<size_t>(y) * width + x], 0) << "shapes overlap";
          out[static_cast<size_t>(y) * width + x] = value;
          any = true;
        }
      }
    }
    EXPECT_TRUE(any) << "an empty shape";
  }
  return out;
}

class CvatFunctionsTest : public ServerFixture {
 protected:
  static void SetUpTestSuite() {
    ::setenv("INFERA_ADMIN_PASSWORD", kAdminPassword, 1);
    StartSuiteServer({"tiny_unet", "tiny_multiclass", "cellpose_tiny", "tiny_cls"},
                     "auth: {enabled: true, protect_inference: true, access_ttl_s: 600}\n");
    ::unsetenv("INFERA_ADMIN_PASSWORD");
  }
  static void TearDownTestSuite() { StopSuiteServer(); }

  void SetUp() override {
    ServerFixture::SetUp();
    HttpResponse r =
        Post("/api/auth/login", json{{"username", "admin"}, {"password", kAdminPassword}}.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    auth_ = {{"Authorization", "Bearer " + json::parse(r.body)["access_token"].get<std::string>()}};
  }

  HttpResponse Call(const std::string& method, const std::string& target,
                    const std::string& body = "") {
    return Send(method, target, body, auth_);
  }
  // The model's mask from /predict and its shapes from the CVAT function, for `image`.
  void Run(const std::string& model, const std::string& image, Image* mask, json* shapes) {
    HttpResponse p = Call("POST", "/predict/" + model, json{{"image", B64(image)}}.dump());
    ASSERT_EQ(p.status, 200) << p.body;
    *mask = DecodeB64(json::parse(p.body)["mask"].get<std::string>());
    HttpResponse c = Call("POST", "/cvat/functions/" + model, json{{"image", B64(image)}}.dump());
    ASSERT_EQ(c.status, 200) << c.body;
    EXPECT_EQ(c.content_type, "application/json");
    *shapes = json::parse(c.body);
    ASSERT_TRUE(shapes->is_array());
  }

  HttpHeaders auth_;
};

TEST_F(CvatFunctionsTest, BinaryMaskIsOneForegroundShapeEqualToThePredictMask) {
  const std::string image = ReadFile(TestModelsDir() / "images" / "blobs.png");
  Image mask;
  json shapes;
  ASSERT_NO_FATAL_FAILURE(Run("tiny_unet", image, &mask, &shapes));
  ASSERT_EQ(shapes.size(), 1u) << "one class: foreground";
  EXPECT_EQ(shapes[0]["label"], "foreground");
  const std::vector<int> painted =
      Paint(shapes, mask.width, mask.height, [](const json&) { return 255; });
  size_t foreground = 0;
  for (size_t i = 0; i < painted.size(); ++i) {
    ASSERT_EQ(painted[i], At(mask, i)) << "pixel " << i;
    foreground += painted[i] != 0;
  }
  EXPECT_GT(foreground, 0u);
}

TEST_F(CvatFunctionsTest, ClassMaskIsOneShapePerClassNamedByTheModel) {
  const std::string image = ReadFile(TestModelsDir() / "images" / "rgb_regions.png");
  Image mask;
  json shapes;
  ASSERT_NO_FATAL_FAILURE(Run("tiny_multiclass", image, &mask, &shapes));
  const json function = json::parse(Call("GET", "/cvat/functions/tiny_multiclass").body);
  std::map<std::string, int> ids;
  for (const json& l : function["labels"]) ids[l["name"]] = l["id"];
  ASSERT_EQ(ids.size(), 2u) << function.dump();
  ASSERT_EQ(shapes.size(), 2u) << "red and green regions";
  const std::vector<int> painted = Paint(shapes, mask.width, mask.height, [&](const json& s) {
    EXPECT_TRUE(ids.contains(s["label"])) << s["label"];
    return ids[s["label"]];
  });
  for (size_t i = 0; i < painted.size(); ++i) ASSERT_EQ(painted[i], At(mask, i)) << "pixel " << i;
}

TEST_F(CvatFunctionsTest, InstanceMaskIsOneShapePerObject) {
  const std::string image = ReadFile(TestModelsDir() / "images" / "cells_2ch.tif");
  Image mask;
  json shapes;
  ASSERT_NO_FATAL_FAILURE(Run("cellpose_tiny", image, &mask, &shapes));
  ASSERT_GT(shapes.size(), 1u);
  int next = 0;
  const std::vector<int> painted = Paint(shapes, mask.width, mask.height, [&](const json& s) {
    EXPECT_EQ(s["label"], "object");
    return ++next;  // shapes come in instance order
  });
  std::map<int, int> instances;
  for (size_t i = 0; i < painted.size(); ++i) {
    ASSERT_EQ(painted[i] != 0, At(mask, i) != 0) << "pixel " << i;
    if (painted[i] != 0) {
      auto [it, added] = instances.emplace(painted[i], At(mask, i));
      ASSERT_EQ(it->second, At(mask, i)) << "a shape covers two instances";
    }
  }
  EXPECT_EQ(instances.size(), shapes.size());
}

TEST_F(CvatFunctionsTest, FunctionsAreDescribedForCvat) {
  HttpResponse list = Call("GET", "/cvat/functions");
  ASSERT_EQ(list.status, 200) << list.body;
  std::map<std::string, json> by_id;
  for (const json& f : json::parse(list.body)) by_id[f["id"]] = f;
  EXPECT_FALSE(by_id.contains("tiny_cls")) << "a classifier is no detector";
  ASSERT_TRUE(by_id.contains("cellpose_tiny"));
  EXPECT_EQ(by_id["cellpose_tiny"]["kind"], "detector");
  EXPECT_EQ(by_id["cellpose_tiny"]["labels"], json::parse(R"([{"id": 1, "name": "object"}])"));
  EXPECT_EQ(by_id["tiny_unet"]["labels"], json::parse(R"([{"id": 1, "name": "foreground"}])"));
  HttpResponse one = Call("GET", "/cvat/functions/tiny_unet");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(json::parse(one.body), by_id["tiny_unet"]);
}

TEST_F(CvatFunctionsTest, ThresholdReachesTheRunner) {
  const std::string image = ReadFile(TestModelsDir() / "images" / "blobs.png");
  auto foreground = [&](double t) {
    HttpResponse r = Call("POST", "/cvat/functions/tiny_unet",
                          json{{"image", B64(image)}, {"threshold", t}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    size_t n = 0;
    for (const json& s : json::parse(r.body)) {
      for (size_t i = 0; i + 4 < s["mask"].size(); ++i) n += s["mask"][i].get<int>();
    }
    return n;
  };
  EXPECT_GT(foreground(0.05), foreground(0.95));
}

TEST_F(CvatFunctionsTest, BadInputIsA4xxAndTheRoutesNeedAToken) {
  const std::string image = ReadFile(TestModelsDir() / "images" / "blobs.png");
  const std::string url = "/cvat/functions/tiny_unet";
  ExpectError(Call("POST", url, ""), 400, "empty body");
  ExpectError(Call("POST", url, "{nope"), 400, "malformed JSON");
  ExpectError(Call("POST", url, "[1]"), 400, "JSON object");
  ExpectError(Call("POST", url, json{{"threshold", 0.5}}.dump()), 400, "missing field 'image'");
  ExpectError(Call("POST", url, json{{"image", 7}}.dump()), 400, "base64 string");
  ExpectError(Call("POST", url, json{{"image", "!!!"}}.dump()), 400, "'image'");
  ExpectError(Call("POST", url, json{{"image", B64("not an image")}}.dump()), 400, "");
  ExpectError(Call("POST", url, json{{"image", B64(image)}, {"threshold", "high"}}.dump()), 400,
              "'threshold' must be a number");
  ExpectError(Call("POST", url, json{{"image", B64(image)}, {"threshold", 2}}.dump()), 400,
              "[0, 1]");
  ExpectError(Call("POST", "/cvat/functions/nope", json{{"image", B64(image)}}.dump()), 404,
              "nope");
  ExpectError(Call("POST", "/cvat/functions/tiny_cls", json{{"image", B64(image)}}.dump()), 400,
              "classifier");
  ExpectError(Call("GET", "/cvat/functions/tiny_cls"), 400, "classifier");
  EXPECT_EQ(Send("GET", "/cvat/functions").status, 401);
  EXPECT_EQ(Send("POST", url, json{{"image", B64(image)}}.dump()).status, 401);
}

}  // namespace
}  // namespace infera::testing
