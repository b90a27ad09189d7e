// The real server (in-process, real HTTP on a free port) with real TorchScript models
// made by PyTorch (model_tools/make_test_models.py), checked against PyTorch's own outputs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/http_client.h"
#include "common/base64.h"
#include "imaging/codec.h"
#include "support/server_fixture.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::ReadFile;

std::string ImageBody(const fs::path& file, const std::string& extra = "") {
  const std::string bytes = ReadFile(file);
  return "{\"image\":\"" + Base64Encode(bytes.data(), bytes.size()) + "\"" + extra + "}";
}

class PredictTest : public testing::ServerFixture {
 protected:
  static void SetUpTestSuite() {
    StartSuiteServer({}, "server: {max_body_mb: 2, max_image_pixels: 1000000}\n");
  }
  static void TearDownTestSuite() { StopSuiteServer(); }
  HttpResponse Post(const std::string& target, const std::string& body) {
    return ServerFixture::Post(target, body, {{"content-type", "application/json"}});
  }
};

TEST_F(PredictTest, HealthIsOk) {
  HttpResponse r = Get("/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["x-request-id"].size(), 16u);
  HttpResponse traced = Send("GET", "/health", "", {{"X-Request-Id", "client-7"}});
  EXPECT_EQ(traced.headers["x-request-id"], "client-7");
  EXPECT_EQ(nlohmann::json::parse(r.body), nlohmann::json({{"status", "ok"}}));
}

// How each TorchScript model was prepared at load: optimize_for_inference where it keeps
// the outputs (MobileNetV2, ResNet-18), the frozen module where torch 1.13's
// optimize_for_inference miscomputes the graph (clamp_net: conv/relu6/hardswish; its
// predictions then match PyTorch's in MatchesPyTorchOnEveryReferenceCase), the module as
// written with `optimize: false` (gray_cls).
TEST_F(PredictTest, GraphOptimizationIsCheckedAtLoad) {
  auto described = [this](const std::string& model) {
    HttpResponse r = Get("/v1/models/" + model);
    EXPECT_EQ(r.status, 200) << r.body;
    return nlohmann::json::parse(r.body, nullptr, false).value("graph_optimization", "");
  };
  EXPECT_EQ(described("mobilenet_v2"), "optimize_for_inference");
  EXPECT_EQ(described("resnet18"), "optimize_for_inference");
  EXPECT_THAT(described("clamp_net"),
              ::testing::StartsWith("frozen (optimize_for_inference changed the outputs by "));
  EXPECT_EQ(described("gray_cls"), "none (optimize: false)");
  EXPECT_EQ(described("tiny_tiff"),
            "optimize_for_inference (not checked: the input size is not fixed)");
}

TEST_F(PredictTest, MatchesPyTorchOnEveryReferenceCase) {
  const fs::path root = testing::TestModelsDir();
  nlohmann::json expected = nlohmann::json::parse(ReadFile(root / "expected.json"));
  ASSERT_GE(expected["cases"].size(), 8u);
  for (const auto& c : expected["cases"]) {
    SCOPED_TRACE(c["model"].get<std::string>() + " on " + c["image"].get<std::string>());
    HttpResponse r = Post("/predict/" + c["model"].get<std::string>(),
                          ImageBody(root / c["image"].get<std::string>()));
    ASSERT_EQ(r.status, 200) << r.body;
    nlohmann::json got = nlohmann::json::parse(r.body);
    EXPECT_EQ(got["model"], c["model"]);
    if (c.contains("version")) {
      EXPECT_EQ(got["version"], c["version"]);
    }
    const auto& want = c["top5"];
    ASSERT_EQ(got["predictions"].size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_NEAR(got["predictions"][i]["confidence"].get<double>(),
                  want[i]["confidence"].get<double>(), 1e-4)
          << "rank " << i;
      // Ranks can swap only between near-equal probabilities.
      if (got["predictions"][i]["class_id"] != want[i]["class_id"]) {
        EXPECT_NEAR(want[i]["confidence"].get<double>(), c["top5"][i]["confidence"].get<double>(),
                    1e-4);
      } else {
        EXPECT_EQ(got["predictions"][i]["label"], want[i]["label"]);
      }
    }
    EXPECT_GE(got["inference_time_ms"].get<double>(), 0.0);
    EXPECT_GE(got["queue_time_ms"].get<double>(), 0.0);
    EXPECT_GT(got["compute_time_ms"].get<double>(), 0.0);
  }
}

TEST_F(PredictTest, TinyClassifierIsRightOnHeldOutImages) {
  const fs::path heldout = testing::TestModelsDir() / "images" / "heldout";
  nlohmann::json labels = nlohmann::json::parse(ReadFile(heldout / "labels.json"));
  int right = 0, total = 0;
  for (const auto& [file, label] : labels.items()) {
    HttpResponse r = Post("/predict/tiny_cls", ImageBody(heldout / file));
    ASSERT_EQ(r.status, 200) << r.body;
    nlohmann::json got = nlohmann::json::parse(r.body);
    right += got["predictions"][0]["label"] == label ? 1 : 0;
    ++total;
  }
  ASSERT_GE(total, 30);
  EXPECT_GE(static_cast<double>(right) / total, 0.95);
}

TEST_F(PredictTest, TopKLimitsPredictions) {
  const fs::path img = testing::TestModelsDir() / "images" / "photo.png";
  nlohmann::json got =
      nlohmann::json::parse(Post("/predict/mobilenet_v2", ImageBody(img, ",\"top_k\":2")).body);
  EXPECT_EQ(got["predictions"].size(), 2u);
  got = nlohmann::json::parse(Post("/predict/tiny_cls", ImageBody(img, ",\"top_k\":10")).body);
  EXPECT_EQ(got["predictions"].size(), 3u);  // capped at the class count
  ExpectError(Post("/predict/tiny_cls", ImageBody(img, ",\"top_k\":0")), 400, "top_k");
  ExpectError(Post("/predict/tiny_cls", ImageBody(img, ",\"top_k\":\"x\"")), 400, "top_k");
}

TEST_F(PredictTest, HighestVersionIsServedAndVersionsAreAddressable) {
  const fs::path img = testing::TestModelsDir() / "images" / "disk.png";
  nlohmann::json got = nlohmann::json::parse(Post("/predict/versioned", ImageBody(img)).body);
  EXPECT_EQ(got["version"], 3);
  got = nlohmann::json::parse(Post("/predict/versioned/versions/3", ImageBody(img)).body);
  EXPECT_EQ(got["version"], 3);
  ExpectError(Post("/predict/versioned/versions/1", ImageBody(img)), 404, "no loaded version 1");
  ExpectError(Post("/predict/versioned/versions/x", ImageBody(img)), 400, "version");
}

TEST_F(PredictTest, UnknownModelIs404ListingModels) {
  const fs::path img = testing::TestModelsDir() / "images" / "disk.png";
  HttpResponse r = Post("/predict/gpt-4", ImageBody(img));
  ExpectError(r, 404, "unknown model 'gpt-4'");
  EXPECT_THAT(r.body, HasSubstr("tiny_cls"));
}

TEST_F(PredictTest, BadBodiesAre400WithAReason) {
  ExpectError(Post("/predict/tiny_cls", ""), 400, "empty body");
  ExpectError(Post("/predict/tiny_cls", "{\"image\": "), 400, "JSON");
  ExpectError(Post("/predict/tiny_cls", "[1,2]"), 400, "JSON object");
  ExpectError(Post("/predict/tiny_cls", "{}"), 400, "missing field 'image'");
  ExpectError(Post("/predict/tiny_cls", "{\"image\": 5}"), 400, "base64 string");
  ExpectError(Post("/predict/tiny_cls", "{\"image\": \"@@@@\"}"), 400, "base64");
  ExpectError(Post("/predict/tiny_cls", "{\"image\": \"\"}"), 400, "empty");
  ExpectError(Post("/predict/tiny_cls", "{\"image\": \"aGVsbG8=\", \"imgae\": 1}"), 400,
              "unknown field 'imgae'");
  // Valid base64 of bytes that are no image.
  ExpectError(Post("/predict/tiny_cls", "{\"image\": \"aGVsbG8gd29ybGQ=\"}"), 400, "");
  // A PNG cut in half.
  const std::string png = ReadFile(testing::TestModelsDir() / "images" / "photo.png");
  const std::string half = png.substr(0, png.size() / 2);
  ExpectError(
      Post("/predict/tiny_cls", "{\"image\":\"" + Base64Encode(half.data(), half.size()) + "\"}"),
      400, "PNG");
}

TEST_F(PredictTest, ImageOverThePixelLimitIs400) {
  Image big = MakeImage(1100, 1000, 1, PixelType::kUInt8);  // 1.1 MP > 1 MP limit
  const auto png = EncodePng(big);
  ASSERT_TRUE(png.ok());
  HttpResponse r =
      Post("/predict/tiny_cls", "{\"image\":\"" + Base64Encode(png->data(), png->size()) + "\"}");
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(PredictTest, BodyOverTheLimitIs413) {
  std::string huge(3u << 20, 'A');  // 3 MB > max_body_mb 2
  HttpResponse r = Post("/predict/tiny_cls", "{\"image\":\"" + huge + "\"}");
  ExpectError(r, 413, "exceeds");
}

TEST_F(PredictTest, WrongMethodIs405AndUnknownRouteIs404) {
  ExpectError(Get("/predict/tiny_cls"), 405, "");
  ExpectError(Get("/nope"), 404, "");
}

TEST_F(PredictTest, ModelsAreListedWithConfigAndState) {
  HttpResponse r = Get("/v1/models");
  ASSERT_EQ(r.status, 200);
  nlohmann::json body = nlohmann::json::parse(r.body);
  std::set<std::string> names;
  for (const auto& m : body["models"]) {
    names.insert(m["name"].get<std::string>());
    EXPECT_EQ(m["state"], "READY");
  }
  EXPECT_TRUE(names.count("tiny_cls"));
  EXPECT_TRUE(names.count("mobilenet_v2"));
  nlohmann::json tiny = nlohmann::json::parse(Get("/v1/models/tiny_cls").body);
  EXPECT_EQ(tiny["runner"], "classify");
  EXPECT_EQ(tiny["input"]["size"], nlohmann::json({64, 64}));
  EXPECT_EQ(tiny["input"]["resize"], "stretch");
  EXPECT_EQ(tiny["graph_optimization"], "optimize_for_inference");
  EXPECT_EQ(tiny["num_labels"], 3);
  ExpectError(Get("/v1/models/nope"), 404, "unknown model 'nope'");
}

// N concurrent clients with distinct inputs each receive the result computed for their
// own input, while the batcher merges their requests.
TEST_F(PredictTest, ConcurrentClientsGetTheirOwnResults) {
  const fs::path images = testing::TestModelsDir() / "images";
  const std::vector<std::string> files = {"disk.png", "square.png", "stripes.png", "photo.png"};
  std::vector<std::string> bodies;
  std::vector<nlohmann::json> solo;
  for (const auto& f : files) {
    bodies.push_back(ImageBody(images / f, ",\"top_k\":3"));
    solo.push_back(
        nlohmann::json::parse(Post("/predict/tiny_cls", bodies.back()).body)["predictions"]);
  }
  constexpr int kClients = 8;
  constexpr int kRequests = 15;
  std::atomic<int> mismatches{0}, failures{0}, batched{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      HttpClient client;
      if (!client.Connect("127.0.0.1", server()->port()).ok()) {
        ++failures;
        return;
      }
      for (int k = 0; k < kRequests; ++k) {
        const size_t which = static_cast<size_t>(c + k) % files.size();
        auto r = client.Send("POST", "/predict/tiny_cls", bodies[which]);
        if (!r.ok() || r->status != 200) {
          ++failures;
          continue;
        }
        nlohmann::json got = nlohmann::json::parse(r->body);
        if (got["batch_size"].get<int>() > 1) ++batched;
        for (size_t i = 0; i < 3; ++i) {
          if (got["predictions"][i]["class_id"] != solo[which][i]["class_id"] ||
              std::abs(got["predictions"][i]["confidence"].get<double>() -
                       solo[which][i]["confidence"].get<double>()) > 1e-4) {
            ++mismatches;
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_GT(batched.load(), 0) << "no request was ever batched with another";
}

}  // namespace
}  // namespace infera
