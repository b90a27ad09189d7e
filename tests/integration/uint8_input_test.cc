// The uint8 input path (`input.dtype: uint8`, `layout: NHWC`) end to end, on
// mobilenet_v2_u8: mobilenet_v2's module (the same weights) wrapped to take uint8 NHWC and
// normalise in the graph (model_tools/make_test_models.py). The same image through both
// models gives the same predictions; the Open Inference Protocol takes a UINT8 tensor and
// refuses an FP32 one with a 400; `infera bench` feeds the raw engine the model's own
// dtype and reports both models' served and raw rows.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/base64.h"
#include "imaging/codec.h"
#include "imaging/preprocess.h"
#include "support/child_process.h"
#include "support/server_fixture.h"
#include "support/status_matchers.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using json = nlohmann::json;

// A 224x224 RGB image with detail in every channel: at the models' own input size, so
// the uint8 input holds exactly its samples (no resampling, no rounding).
Image TestImage() {
  Image image = MakeImage(224, 224, 3, PixelType::kUInt8);
  auto* p = image.pixels<uint8_t>();
  for (int y = 0; y < 224; ++y) {
    for (int x = 0; x < 224; ++x) {
      uint8_t* px = p + (y * 224 + x) * 3;
      px[0] = static_cast<uint8_t>(x * 255 / 223);
      px[1] = static_cast<uint8_t>((y * 7 + x * 3) % 256);
      px[2] = static_cast<uint8_t>(((x / 16 + y / 16) % 2) * 180 + y % 64);
    }
  }
  return image;
}

class Uint8InputTest : public testing::ServerFixture {
 protected:
  static void SetUpTestSuite() { StartSuiteServer({"mobilenet_v2", "mobilenet_v2_u8"}); }
  static void TearDownTestSuite() { StopSuiteServer(); }

  void SetUp() override {
    ServerFixture::SetUp();
    image_ = TestImage();
    ASSERT_OK_AND_ASSIGN(std::vector<std::byte> png, EncodePng(image_));
    body_ = json{{"image", Base64Encode(png.data(), png.size())}}.dump();
  }

  // The model's input tensor for image_ as the server makes it (FP32 NCHW ImageNet for
  // mobilenet_v2, UINT8 NHWC for mobilenet_v2_u8).
  Tensor InputFor(DType dtype) const {
    InputSpec spec;  // 224x224 RGB, ImageNet scale/mean/std
    if (dtype == DType::kUInt8) {
      spec.dtype = DType::kUInt8;
      spec.layout = Layout::kNHWC;
    }
    StatusOr<Tensor> t = ImageToTensor(image_, spec);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? std::move(*t) : Tensor();
  }

  // POST /v2/models/M/infer with `tensor` as the binary data extension; the FP32 logits.
  std::vector<float> InferBinary(const std::string& model, const Tensor& tensor,
                                 const std::string& datatype, int want_status = 200) {
    const json header = {
        {"inputs",
         {{{"name", "input"},
           {"shape", tensor.shape()},
           {"datatype", datatype},
           {"parameters", {{"binary_data_size", tensor.byte_size()}}}}}},
        {"outputs", {{{"name", "output0"}, {"parameters", {{"binary_data", true}}}}}}};
    std::string body = header.dump();
    const size_t json_size = body.size();
    body.append(reinterpret_cast<const char*>(tensor.data()), tensor.byte_size());
    HttpResponse r = Post("/v2/models/" + model + "/infer", body,
                          {{"inference-header-content-length", std::to_string(json_size)}});
    EXPECT_EQ(r.status, want_status) << r.body;
    if (r.status != 200) return {};
    const size_t n = std::stoul(r.headers["inference-header-content-length"]);
    EXPECT_EQ(r.body.size() - n, 1000u * sizeof(float));
    std::vector<float> logits((r.body.size() - n) / sizeof(float));
    std::memcpy(logits.data(), r.body.data() + n, logits.size() * sizeof(float));
    return logits;
  }

  Image image_;
  std::string body_;
};

TEST_F(Uint8InputTest, ModelDescribesAUint8NhwcInput) {
  json v1 = json::parse(Get("/v1/models/mobilenet_v2_u8").body);
  EXPECT_EQ(v1["input"]["dtype"], "UINT8");
  EXPECT_EQ(v1["input"]["layout"], "NHWC");
  EXPECT_EQ(v1["runner"], "classify");
  EXPECT_EQ(v1["num_labels"], 1000);
  // Checked at load on a uint8 probe like the float model on its own.
  EXPECT_EQ(v1["graph_optimization"], "optimize_for_inference");
  json v2 = json::parse(Get("/v2/models/mobilenet_v2_u8").body);
  ASSERT_EQ(v2["inputs"].size(), 1u) << v2.dump();
  EXPECT_EQ(v2["inputs"][0]["datatype"], "UINT8");
  EXPECT_EQ(v2["inputs"][0]["shape"], json::array({-1, 224, 224, 3}));
}

// The spec shows the preprocessing really applied: the uint8 path applies no scale or
// ImageNet mean/std (the graph normalises), the float model's are applied as shown.
TEST_F(Uint8InputTest, ModelSpecShowsNoServerNormalisationForUint8) {
  for (const std::string url :
       {"/v1/models/mobilenet_v2_u8", "/v2/models/mobilenet_v2_u8/config"}) {
    const json input = json::parse(Get(url).body)["input"];
    EXPECT_TRUE(input.contains("mean") && input["mean"].is_null()) << url << input.dump();
    EXPECT_TRUE(input.contains("std") && input["std"].is_null()) << url << input.dump();
    EXPECT_TRUE(input.contains("scale") && input["scale"].is_null()) << url << input.dump();
    EXPECT_EQ(input["normalized_by"], "model") << url;
  }
  const json fp32 = json::parse(Get("/v1/models/mobilenet_v2").body)["input"];
  EXPECT_EQ(fp32["normalized_by"], "server");
  ASSERT_EQ(fp32["mean"].size(), 3u) << fp32.dump();
  EXPECT_NEAR(fp32["mean"][0].get<double>(), 0.485, 1e-6);
  EXPECT_NEAR(fp32["std"][2].get<double>(), 0.225, 1e-6);
  EXPECT_NEAR(fp32["scale"].get<double>(), 1.0 / 255.0, 1e-9);
}

// The same PNG through /predict: the float model normalises in the server (per element),
// the uint8 one in its graph; the top-5 classes and probabilities agree.
TEST_F(Uint8InputTest, PredictGivesTheFloatModelsTopFive) {
  HttpResponse f = Post("/predict/mobilenet_v2", body_, {{"content-type", "application/json"}});
  HttpResponse u = Post("/predict/mobilenet_v2_u8", body_, {{"content-type", "application/json"}});
  ASSERT_EQ(f.status, 200) << f.body;
  ASSERT_EQ(u.status, 200) << u.body;
  const json want = json::parse(f.body)["predictions"];
  const json got = json::parse(u.body)["predictions"];
  ASSERT_EQ(want.size(), 5u);
  ASSERT_EQ(got.size(), want.size());
  // The float model's top 5 are apart by more than the tolerance: equal ranks are a check.
  for (size_t i = 0; i + 1 < want.size(); ++i) {
    ASSERT_GT(want[i]["confidence"].get<double>() - want[i + 1]["confidence"].get<double>(), 2e-4)
        << want.dump();
  }
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i]["class_id"], want[i]["class_id"]) << "rank " << i;
    EXPECT_EQ(got[i]["label"], want[i]["label"]) << "rank " << i;
    EXPECT_NEAR(got[i]["confidence"].get<double>(), want[i]["confidence"].get<double>(), 1e-4)
        << "rank " << i;
  }
}

// /v2/models/mobilenet_v2_u8/infer takes the UINT8 NHWC tensor (binary and JSON data) and
// answers mobilenet_v2's logits for the FP32 NCHW tensor of the same image.
TEST_F(Uint8InputTest, V2InferTakesAUint8TensorAndMatchesTheFloatModel) {
  const Tensor u8 = InputFor(DType::kUInt8);
  ASSERT_EQ(u8.shape(), (Shape{1, 224, 224, 3}));
  ASSERT_EQ(std::memcmp(u8.data(), image_.data.data(), u8.byte_size()), 0);
  const std::vector<float> want = InferBinary("mobilenet_v2", InputFor(DType::kFP32), "FP32");
  const std::vector<float> got = InferBinary("mobilenet_v2_u8", u8, "UINT8");
  ASSERT_EQ(want.size(), 1000u);
  ASSERT_EQ(got.size(), want.size());
  float largest = 1;
  for (float v : want) largest = std::max(largest, std::abs(v));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4 * largest) << i;

  // The same tensor as JSON numbers.
  const std::vector<uint8_t> values(u8.data_as<uint8_t>(),
                                    u8.data_as<uint8_t>() + u8.num_elements());
  const json req = {{"inputs",
                     {{{"name", "input"},
                       {"shape", {1, 224, 224, 3}},
                       {"datatype", "UINT8"},
                       {"data", values}}}}};
  HttpResponse r = Post("/v2/models/mobilenet_v2_u8/infer", req.dump());
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 500);
  const std::vector<float> from_json =
      json::parse(r.body)["outputs"][0]["data"].get<std::vector<float>>();
  ASSERT_EQ(from_json.size(), got.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(from_json[i], got[i], 1e-4 * largest) << i;
}

// What the uint8 model cannot take is a 400 naming why: an FP32 tensor (even of the right
// shape), the NCHW shape, a value out of UINT8's range, a 16-bit image.
TEST_F(Uint8InputTest, V2InferRefusesOtherDatatypesAndShapesWith400) {
  const std::string target = "/v2/models/mobilenet_v2_u8/infer";
  Tensor fp32(DType::kFP32, Shape{1, 224, 224, 3});
  InferBinary("mobilenet_v2_u8", fp32, "FP32", 400);
  ExpectError(Post(target, json{{"inputs",
                                 {{{"name", "input"},
                                   {"shape", {1, 1, 1, 3}},
                                   {"datatype", "FP32"},
                                   {"data", {0.5, 0.25, 0.125}}}}}}
                               .dump()),
              400, "datatype FP32 does not match the model's UINT8");
  const std::vector<float> nchw_f(3 * 224 * 224, 0.0f);
  ExpectError(Post(target, json{{"inputs",
                                 {{{"name", "input"},
                                   {"shape", {1, 3, 224, 224}},
                                   {"datatype", "FP32"},
                                   {"data", nchw_f}}}}}
                               .dump()),
              400, "datatype FP32");
  ExpectError(Post(target, json{{"inputs",
                                 {{{"name", "input"},
                                   {"shape", {1, 3, 224, 224}},
                                   {"datatype", "UINT8"},
                                   {"data", std::vector<int>(3 * 224 * 224, 7)}}}}}
                               .dump()),
              400, "shape [1,3,224,224] does not match the model's [-1,224,224,3]");
  ExpectError(Post(target, json{{"inputs",
                                 {{{"name", "input"},
                                   {"shape", {1, 1, 1, 3}},
                                   {"datatype", "UINT8"},
                                   {"data", {1, 300, 2}}}}}}
                               .dump()),
              400, "300");
  // /predict: a 16-bit image has no uint8 samples to send.
  Image sixteen = MakeImage(224, 224, 3, PixelType::kUInt16);
  ASSERT_OK_AND_ASSIGN(std::vector<std::byte> png16, EncodePng(sixteen));
  ExpectError(Post("/predict/mobilenet_v2_u8",
                   json{{"image", Base64Encode(png16.data(), png16.size())}}.dump(),
                   {{"content-type", "application/json"}}),
              400, "8-bit");
  // The FP32 model, for its part, refuses the UINT8 tensor.
  Tensor u8(DType::kUInt8, Shape{1, 3, 224, 224});
  InferBinary("mobilenet_v2", u8, "UINT8", 400);
}

// `infera bench` on both models (the comma list, as `make bench-onnx` uses): each gets
// raw rows (the raw engine fed the model's own input: UINT8 NHWC for the u8 model) and
// served rows without errors, and the comparison table names both.
TEST(BenchBinaryTest, Uint8ModelBesideTheFloatOneHasServedAndRawRows) {
  testing::TempDir tmp;
  const fs::path json_file = tmp.path() / "bench.json";
  testing::Child c = testing::Spawn(
      {testing::InferaBinary().string(), "bench", "--config",
       (testing::TestModelsDir() / "config.yaml").string(), "--model",
       "mobilenet_v2,mobilenet_v2_u8", "--seconds", "0.3", "--concurrency", "1,2", "--batch-sizes",
       "1,2", "--preferred-batch-sizes", "none", "--json", json_file.string()});
  const std::string out =
      testing::ReadUntil(c.out, "compared with mobilenet_v2", std::chrono::seconds(240));
  const std::string rest = testing::ReadUntil(c.out, "mobilenet_v2_u8 ", std::chrono::seconds(10));
  const std::string err = testing::ReadUntil(c.err, "\n\n", std::chrono::seconds(1));
  EXPECT_EQ(testing::WaitExit(c.pid, std::chrono::seconds(60)), 0) << out << rest << err;
  close(c.out);
  close(c.err);
  EXPECT_THAT(out, HasSubstr("raw engine: mobilenet_v2_u8 (torchscript"));
  EXPECT_THAT(out, HasSubstr("input UINT8 [1,224,224,3]"));
  EXPECT_THAT(out, HasSubstr("input FP32 [1,3,224,224]"));
  const json reports = json::parse(testing::ReadFile(json_file), nullptr, false);
  ASSERT_TRUE(reports.is_array()) << testing::ReadFile(json_file);
  ASSERT_EQ(reports.size(), 2u);
  const char* want_type[] = {"FP32", "UINT8"};
  for (size_t m = 0; m < 2; ++m) {
    const json& r = reports[m];
    SCOPED_TRACE(r["model"].dump());
    EXPECT_EQ(r["model"], m == 0 ? "mobilenet_v2" : "mobilenet_v2_u8");
    EXPECT_EQ(r["raw_input"]["datatype"], want_type[m]);
    for (const char* key : {"1", "2"}) {
      ASSERT_TRUE(r["raw"][key].is_object()) << r.dump();
      EXPECT_GT(r["raw"][key]["count"].get<uint64_t>(), 0u) << key;
      EXPECT_GT(r["raw"][key]["per_second"].get<double>(), 0) << key;
      ASSERT_TRUE(r["served"][key].is_object()) << r.dump();
      EXPECT_GT(r["served"][key]["count"].get<uint64_t>(), 0u) << key;
      EXPECT_EQ(r["served"][key]["errors"].get<uint64_t>(), 0u) << key;
    }
    EXPECT_GT(r["throughput_ratio"].get<double>(), 0);
    EXPECT_TRUE(r.contains("added_p50_ms_concurrency1"));
  }
}

}  // namespace
}  // namespace infera
