// Tests for runners/custom_tiff.h: percentile-normalised multi-channel input (channel
// selection, kept or resized size, layouts), probability and label TIFF outputs at the
// source size (sigmoid, softmax, bilinear and nearest resize back), summary, params and
// output-shape errors.
#include "runners/custom_tiff.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "imaging/codec.h"
#include "runners/multiclass_argmax.h"
#include "runners/segmentation_test_util.h"

namespace infera {
namespace {

using testing::FloatTensor;
using testing::Gray8;
using testing::OneOutput;
using testing::Samples;
using testing::SegConfig;

// 5x4, 16-bit, two channels: channel 0 counts 0..19 in raster order, channel 1 is flat.
Image TwoChannels() {
  Image image = MakeImage(5, 4, 2, PixelType::kUInt16);
  for (int i = 0; i < 20; ++i) {
    image.pixels<uint16_t>()[2 * i] = static_cast<uint16_t>(i);
    image.pixels<uint16_t>()[2 * i + 1] = 500;
  }
  return image;
}

std::vector<float> Floats(const Tensor& t) {
  return {t.data_as<float>(), t.data_as<float>() + t.num_elements()};
}

std::vector<float> Floats(const Image& image) {
  return {image.pixels<float>(),
          image.pixels<float>() + static_cast<size_t>(image.width) * image.height * image.channels};
}

class CustomTiffTest : public ::testing::Test {
 protected:
  nlohmann::json Params(const nlohmann::json& given = nullptr) {
    auto params = runner_.ValidateParams(given, config_);
    EXPECT_TRUE(params.ok()) << params.status();
    return params.ok() ? *params : nlohmann::json::object();
  }

  StatusOr<RunnerOutput> Run(const Image& source, Tensor output,
                             const nlohmann::json& params = nullptr) {
    return runner_.Postprocess(source, RunnerInput{}, OneOutput(std::move(output)), config_,
                               Params(params));
  }

  CustomTiffRunner runner_;
  ModelDescription config_ = SegConfig(ColorMode::kGray, 0, 0, /*keep=*/true);
};

TEST_F(CustomTiffTest, ParamsDefaultsAndSchema) {
  EXPECT_EQ(Params(), (nlohmann::json{{"output", "probability"},
                                      {"output_is_probability", false},
                                      {"threshold", 0.5},
                                      {"channels", 0},
                                      {"low_percentile", 1.0},
                                      {"high_percentile", 99.0}}));
  const nlohmann::json schema = runner_.params_schema();
  EXPECT_EQ(schema["properties"]["output"]["enum"], (nlohmann::json{"probability", "labels"}));
  EXPECT_EQ(schema["properties"]["channels"]["type"], "integer");
  EXPECT_EQ(schema["properties"]["channels"]["maximum"], 256);
  for (const auto& [name, property] : schema["properties"].items()) {
    EXPECT_TRUE(property.contains("default")) << name;
    EXPECT_FALSE(property["description"].get<std::string>().empty()) << name;
  }
  EXPECT_EQ(Params({{"channels", 2.0}})["channels"], 2);
}

TEST_F(CustomTiffTest, BadParamsAreInvalidArgumentNamingTheParam) {
  const std::vector<std::pair<nlohmann::json, std::string>> cases = {
      {{{"output", "mask"}}, "output"},
      {{{"output", 1}}, "output"},
      {{{"channels", 300}}, "channels"},
      {{{"channels", -1}}, "channels"},
      {{{"channels", 1.5}}, "channels"},
      {{{"low_percentile", 101}}, "low_percentile"},
      {{{"low_percentile", 50}, {"high_percentile", 40}}, "low_percentile"},
      {{{"low_percentile", 40}, {"high_percentile", 40}}, "high_percentile"},
      {{{"normalize", true}}, "normalize"},
  };
  for (const auto& [params, name] : cases) {
    auto result = runner_.ValidateParams(params, config_);
    ASSERT_FALSE(result.ok()) << params;
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << params;
    EXPECT_TRUE(absl::StrContains(result.status().message(), name)) << result.status();
  }
}

TEST_F(CustomTiffTest, PreprocessNormalisesEveryChannelAtTheSourceSize) {
  auto input = runner_.Preprocess(TwoChannels(), config_,
                                  Params({{"low_percentile", 0}, {"high_percentile", 100}}));
  ASSERT_TRUE(input.ok()) << input.status();
  ASSERT_EQ(input->items.size(), 1u);
  const Tensor& t = input->items[0][0];
  ASSERT_EQ(t.shape(), (Shape{1, 2, 4, 5}));
  const std::vector<float> v = Floats(t);
  for (int i = 0; i < 20; ++i) {
    EXPECT_FLOAT_EQ(v[i], static_cast<float>(i) / 19.0f) << i;  // min..max -> 0..1
    EXPECT_EQ(v[20 + i], 0.0f) << i;                            // flat channel -> 0
  }
  EXPECT_EQ(input->context["channels"], 2);
}

TEST_F(CustomTiffTest, PreprocessUsesTheFirstAndNinetyNinthPercentilesByDefault) {
  auto input = runner_.Preprocess(TwoChannels(), config_, Params());
  ASSERT_TRUE(input.ok()) << input.status();
  const std::vector<float> v = Floats(input->items[0][0]);
  // np.percentile(range(20), [1, 99]) = [0.19, 18.81]
  EXPECT_FLOAT_EQ(v[0], -0.19f / 18.62f);
  EXPECT_FLOAT_EQ(v[19], (19.0f - 0.19f) / 18.62f);
}

TEST_F(CustomTiffTest, PreprocessTakesTheFirstChannels) {
  auto input = runner_.Preprocess(TwoChannels(), config_, Params({{"channels", 1}}));
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_EQ(input->items[0][0].shape(), (Shape{1, 1, 4, 5}));
  EXPECT_EQ(input->context["channels"], 1);

  auto too_many = runner_.Preprocess(TwoChannels(), config_, Params({{"channels", 3}}));
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(too_many.status().message(), "3 channels")) << too_many.status();
}

// 5x4 -> 3x2 nearest: columns 0,1,3 and rows 0,2.
TEST_F(CustomTiffTest, PreprocessResizesToTheSpecSize) {
  config_.input.size = std::pair<int, int>{2, 3};
  config_.input.interpolation = Interpolation::kNearest;
  auto input = runner_.Preprocess(TwoChannels(), config_,
                                  Params({{"low_percentile", 0}, {"high_percentile", 100}}));
  ASSERT_TRUE(input.ok()) << input.status();
  ASSERT_EQ(input->items[0][0].shape(), (Shape{1, 2, 2, 3}));
  const std::vector<float> v = Floats(input->items[0][0]);
  const std::vector<int> sampled = {0, 1, 3, 10, 11, 13};
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(v[i], sampled[i] / 19.0f) << i;
}

// Letterbox: the 5x4 image fills the top 3 rows of a 4x4 input (ContentSize 3x4, nearest:
// source columns 0..3, rows 0..2); the last row is 0.
TEST_F(CustomTiffTest, LetterboxPreprocessPadsBelowTheImage) {
  config_.input.size = std::pair<int, int>{4, 4};
  config_.input.resize = ResizeMode::kLetterbox;
  config_.input.interpolation = Interpolation::kNearest;
  auto input = runner_.Preprocess(TwoChannels(), config_,
                                  Params({{"low_percentile", 0}, {"high_percentile", 100}}));
  ASSERT_TRUE(input.ok()) << input.status();
  ASSERT_EQ(input->items[0][0].shape(), (Shape{1, 2, 4, 4}));
  const std::vector<float> v = Floats(input->items[0][0]);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) {
      const float want = y < 3 ? static_cast<float>(y * 5 + x) / 19.0f : 0.0f;
      EXPECT_FLOAT_EQ(v[y * 4 + x], want) << x << "," << y;
      if (y == 3) {
        EXPECT_EQ(v[16 + y * 4 + x], 0.0f) << "channel 1, " << x;
      }
    }
  }
}

// The padding row says "foreground"; only the image's 3 rows come back to the source.
TEST_F(CustomTiffTest, LetterboxOutputKeepsOnlyWhatTheImageFilled) {
  config_.input.size = std::pair<int, int>{4, 4};
  config_.input.resize = ResizeMode::kLetterbox;
  std::vector<float> probabilities(16, 0.1f);
  for (int x = 0; x < 4; ++x) probabilities[12 + x] = 0.9f;
  auto out = Run(Gray8(5, 4, 0), FloatTensor({1, 1, 4, 4}, probabilities),
                 {{"output", "labels"}, {"output_is_probability", true}});
  ASSERT_TRUE(out.ok()) << out.status();
  const RunnerArtifact* mask = out->Find("class_mask");
  ASSERT_NE(mask, nullptr);
  EXPECT_EQ(mask->image.width, 5);
  EXPECT_EQ(mask->image.height, 4);
  EXPECT_EQ(Samples(mask->image), std::vector<int>(20, 0));
}

TEST_F(CustomTiffTest, PreprocessHonoursNhwc) {
  config_.input.layout = Layout::kNHWC;
  auto input = runner_.Preprocess(TwoChannels(), config_,
                                  Params({{"low_percentile", 0}, {"high_percentile", 100}}));
  ASSERT_TRUE(input.ok()) << input.status();
  ASSERT_EQ(input->items[0][0].shape(), (Shape{1, 4, 5, 2}));
  const std::vector<float> v = Floats(input->items[0][0]);
  EXPECT_FLOAT_EQ(v[2 * 7], 7.0f / 19.0f);
  EXPECT_EQ(v[2 * 7 + 1], 0.0f);
}

TEST_F(CustomTiffTest, PreprocessNeedsAFloatInputSpec) {
  config_.input.dtype = DType::kUInt8;
  auto input = runner_.Preprocess(TwoChannels(), config_, Params());
  ASSERT_FALSE(input.ok());
  EXPECT_EQ(input.status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StrContains(input.status().message(), "seg_model")) << input.status();
}

TEST_F(CustomTiffTest, ProbabilityOutputIsAFloatTiffOfTheSigmoid) {
  Image source = TwoChannels();
  source.pages = 3;
  std::vector<float> logits(20);
  for (int i = 0; i < 20; ++i) logits[i] = static_cast<float>(i) - 9.5f;
  RunnerInput input;
  input.context = {{"channels", 2}};
  auto out = runner_.Postprocess(source, input, OneOutput(FloatTensor({1, 1, 4, 5}, logits)),
                                 config_, Params());
  ASSERT_TRUE(out.ok()) << out.status();
  const RunnerArtifact* prob = out->Find("probability");
  ASSERT_NE(prob, nullptr);
  EXPECT_EQ(out->Find("class_mask"), nullptr);
  EXPECT_EQ(prob->format, ArtifactFormat::kTiff);
  EXPECT_EQ(prob->image.type, PixelType::kFloat32);
  EXPECT_EQ(prob->image.channels, 1);
  EXPECT_EQ(prob->image.width, 5);
  EXPECT_EQ(prob->image.height, 4);
  const std::vector<float> p = Floats(prob->image);
  for (int i = 0; i < 20; ++i) {
    EXPECT_FLOAT_EQ(p[i], 1.0f / (1.0f + std::exp(-logits[i]))) << i;
  }
  const nlohmann::json& s = out->summary;
  EXPECT_EQ(s["width"], 5);
  EXPECT_EQ(s["height"], 4);
  EXPECT_EQ(s["pages"], 3);
  EXPECT_EQ(s["channels"], 2);
  EXPECT_EQ(s["num_classes"], 1);
  EXPECT_EQ(s["output"], "probability");
  EXPECT_EQ(s["threshold"], 0.5);
  EXPECT_EQ(s["class_histogram"], (nlohmann::json{{"0", 10}, {"1", 10}}));
  EXPECT_DOUBLE_EQ(s["foreground_fraction"].get<double>(), 0.5);
  ASSERT_NE(out->Find("preview"), nullptr);
  EXPECT_EQ(out->Find("preview")->format, ArtifactFormat::kPng);

  auto bytes = EncodeArtifact(*prob);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(DetectImageFormat(*bytes), ImageFormat::kTiff);
  auto decoded = DecodeImage(*bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->type, PixelType::kFloat32);
  EXPECT_EQ(decoded->data, prob->image.data);
}

// Probabilities 0.2 and 0.6 at 2x1 -> 4x1 bilinear: 0.2, 0.3, 0.5, 0.6.
TEST_F(CustomTiffTest, ProbabilityIsResizedBackBilinearly) {
  auto out = Run(Gray8(4, 1, 0), FloatTensor({1, 1, 1, 2}, {0.2f, 0.6f}),
                 {{"output_is_probability", true}});
  ASSERT_TRUE(out.ok()) << out.status();
  const std::vector<float> p = Floats(out->Find("probability")->image);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_FLOAT_EQ(p[0], 0.2f);
  EXPECT_FLOAT_EQ(p[1], 0.3f);
  EXPECT_FLOAT_EQ(p[2], 0.5f);
  EXPECT_FLOAT_EQ(p[3], 0.6f);
  // Labels (summary, preview) are thresholded at the model size, then resized nearest.
  EXPECT_EQ(out->summary["class_histogram"], (nlohmann::json{{"0", 2}, {"1", 2}}));
}

TEST_F(CustomTiffTest, MultiClassProbabilityIsTheSoftmax) {
  auto out = Run(Gray8(2, 1, 0), FloatTensor({1, 3, 1, 2}, {0, 5, 1, 5, 2, 5}));
  ASSERT_TRUE(out.ok()) << out.status();
  const Image& prob = out->Find("probability")->image;
  ASSERT_EQ(prob.channels, 3);
  const std::vector<float> p = Floats(prob);
  const double e = std::exp(1.0), e2 = std::exp(2.0);
  EXPECT_NEAR(p[0], 1.0 / (1 + e + e2), 1e-6);
  EXPECT_NEAR(p[1], e / (1 + e + e2), 1e-6);
  EXPECT_NEAR(p[2], e2 / (1 + e + e2), 1e-6);
  EXPECT_NEAR(p[3], 1.0 / 3, 1e-6);  // all equal
  EXPECT_FALSE(out->summary.contains("threshold"));
  EXPECT_EQ(out->summary["class_histogram"], (nlohmann::json{{"0", 1}, {"2", 1}}));

  out = Run(Gray8(2, 1, 0), FloatTensor({1, 3, 1, 2}, {0.1f, 0.2f, 0.3f, 0.4f, 0.6f, 0.4f}),
            {{"output_is_probability", true}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Floats(out->Find("probability")->image),
            (std::vector<float>{0.1f, 0.3f, 0.6f, 0.2f, 0.4f, 0.4f}));
}

TEST_F(CustomTiffTest, LabelsOutputIsASixteenBitTiff) {
  // One channel: probability above the threshold -> 1.
  auto out = Run(Gray8(4, 1, 0), FloatTensor({1, 1, 4}, {-1, 0.5f, 2, 3}),
                 {{"output", "labels"}, {"threshold", 0.7}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->Find("probability"), nullptr);
  const RunnerArtifact* mask = out->Find("class_mask");
  ASSERT_NE(mask, nullptr);
  EXPECT_EQ(mask->format, ArtifactFormat::kTiff);
  EXPECT_EQ(mask->image.type, PixelType::kUInt16);
  EXPECT_EQ(Samples(mask->image), (std::vector<int>{0, 0, 1, 1}));  // sigmoid 0.27 .62 .88 .95
  EXPECT_EQ(out->summary["output"], "labels");
  EXPECT_EQ(out->summary["threshold"], 0.7);

  // Several classes: argmax, upscaled nearest to 4x2.
  out = Run(Gray8(4, 2, 0), FloatTensor({1, 3, 1, 2}, {0, 5, 1, 5, 2, 5}), {{"output", "labels"}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Samples(out->Find("class_mask")->image), (std::vector<int>{2, 2, 0, 0, 2, 2, 0, 0}));
  auto bytes = EncodeArtifact(*out->Find("class_mask"));
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto decoded = DecodeImage(*bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(Samples(*decoded), (std::vector<int>{2, 2, 0, 0, 2, 2, 0, 0}));
}

TEST_F(CustomTiffTest, WrongOutputsAreInternalNamingModelAndShape) {
  const std::vector<std::pair<Tensor, std::string>> cases = {
      {FloatTensor({1, 4}, std::vector<float>(4)), "[1,4]"},
      {FloatTensor({3, 1, 2}, std::vector<float>(6)), "[3,1,2]"},
      {Tensor(DType::kInt32, {1, 1, 2, 2}), "INT32"},
  };
  for (const auto& [tensor, shape] : cases) {
    auto out = Run(Gray8(2, 2, 0), tensor);
    ASSERT_FALSE(out.ok()) << shape;
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInternal) << out.status();
    EXPECT_TRUE(absl::StrContains(out.status().message(), "seg_model")) << out.status();
    EXPECT_TRUE(absl::StrContains(out.status().message(), shape)) << out.status();
  }
}

// Training: both targets from one annotation, at the model input size: [0] foreground
// (every non-zero label, 255 included) for K = 1, [1] class indices with 255 / 65535
// unannotated for K > 1 (training/losses.h picks by the model's output).
TEST_F(CustomTiffTest, AnnotationToTargetGivesTheForegroundAndTheClasses) {
  EXPECT_EQ(runner_.training_loss(), "by_output_type");
  // 4x2 labels: 0 1 2 255 / 0 0 3 1, at the source size (size: keep).
  const std::vector<uint8_t> labels = {0, 1, 2, 255, 0, 0, 3, 1};
  Image annotation = Gray8(4, 2, [&](int x, int y) { return labels[y * 4 + x]; });
  auto targets = runner_.AnnotationToTarget(annotation, Gray8(4, 2, 0), config_);
  ASSERT_TRUE(targets.ok()) << targets.status();
  ASSERT_EQ(targets->size(), 2u);
  const Tensor& foreground = (*targets)[0];
  EXPECT_EQ(foreground.dtype(), DType::kFP32);
  EXPECT_EQ(foreground.shape(), (Shape{1, 1, 2, 4}));
  EXPECT_EQ(Floats(foreground), (std::vector<float>{0, 1, 1, 1, 0, 0, 1, 1}));
  const Tensor& classes = (*targets)[1];
  EXPECT_EQ(classes.dtype(), DType::kInt64);
  EXPECT_EQ(classes.shape(), (Shape{1, 2, 4}));
  const int64_t* c = classes.data_as<int64_t>();
  EXPECT_EQ(std::vector<int64_t>(c, c + 8),
            (std::vector<int64_t>{0, 1, 2, kUnannotatedTarget, 0, 0, 3, 1}));

  // 16-bit: 65535 is unannotated, 255 a class; resized (nearest) to a fixed input size.
  Image wide = MakeImage(4, 2, 1, PixelType::kUInt16);
  const std::vector<uint16_t> wide_labels = {0, 255, 65535, 7, 0, 255, 65535, 7};
  std::copy(wide_labels.begin(), wide_labels.end(), wide.pixels<uint16_t>());
  ModelDescription sized = SegConfig(ColorMode::kGray, 1, 2);
  targets = runner_.AnnotationToTarget(wide, Gray8(4, 2, 0), sized);
  ASSERT_TRUE(targets.ok()) << targets.status();
  EXPECT_EQ((*targets)[0].shape(), (Shape{1, 1, 1, 2}));
  EXPECT_EQ((*targets)[1].shape(), (Shape{1, 1, 2}));
  const int64_t* w = (*targets)[1].data_as<int64_t>();
  // Nearest from 4 to 2 columns takes columns 0 and 2: 0 and 65535.
  EXPECT_EQ(std::vector<int64_t>(w, w + 2), (std::vector<int64_t>{0, kUnannotatedTarget}));
  EXPECT_EQ(Floats((*targets)[0]), (std::vector<float>{0, 1}));

  // Float annotations are no labels; a mask of another size does not fit.
  auto refused =
      runner_.AnnotationToTarget(MakeImage(4, 2, 1, PixelType::kFloat32), Gray8(4, 2, 0), config_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "not float")) << refused.status();
  EXPECT_FALSE(runner_.AnnotationToTarget(Gray8(3, 2, 0), Gray8(4, 2, 0), config_).ok());
}

}  // namespace
}  // namespace infera
