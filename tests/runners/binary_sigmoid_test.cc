// Tests for runners/binary_sigmoid.h with hand-made model outputs: exact masks at the
// source size (upscale and downscale, non-square), the threshold and
// output_is_probability params, the summary, the preview, params and output-shape
// errors, and the training target.
#include "runners/binary_sigmoid.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "imaging/codec.h"
#include "runners/segmentation_test_util.h"

namespace infera {
namespace {

using testing::FloatTensor;
using testing::Gray8;
using testing::OneOutput;
using testing::Samples;
using testing::SegConfig;

class BinarySigmoidTest : public ::testing::Test {
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

  BinarySigmoidRunner runner_;
  ModelDescription config_ = SegConfig(ColorMode::kGray, 2, 3);
};

TEST_F(BinarySigmoidTest, NameAndTrainingLoss) {
  EXPECT_EQ(runner_.name(), "binary_sigmoid");
  EXPECT_EQ(runner_.training_loss(), "bce_with_logits");
  EXPECT_FALSE(runner_.description().empty());
}

TEST_F(BinarySigmoidTest, ParamsDefaults) {
  const nlohmann::json params = Params();
  EXPECT_EQ(params, (nlohmann::json{{"threshold", 0.5}, {"output_is_probability", false}}));
  EXPECT_EQ(Params(nlohmann::json::object()), params);
  EXPECT_EQ(Params({{"threshold", 1}})["threshold"], 1.0);
}

// A model's own defaults (model.yaml `params`) sit between the runner's and a request's.
TEST_F(BinarySigmoidTest, ModelParamsAreDefaultsARequestOverrides) {
  config_.params = {{"threshold", 0.3}, {"output_is_probability", true}};
  StatusOr<nlohmann::json> p = runner_.ResolveParams(nullptr, config_);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p, (nlohmann::json{{"threshold", 0.3}, {"output_is_probability", true}}));
  p = runner_.ResolveParams({{"threshold", 0.6}}, config_);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p, (nlohmann::json{{"threshold", 0.6}, {"output_is_probability", true}}));
  EXPECT_FALSE(runner_.ResolveParams({{"threshold", 7}}, config_).ok());
  EXPECT_FALSE(runner_.ResolveParams("x", config_).ok());
  const nlohmann::json schema = runner_.ModelParamsSchema(config_);
  EXPECT_EQ(schema["properties"]["threshold"]["default"], 0.3);
  EXPECT_EQ(schema["properties"]["output_is_probability"]["default"], true);
  EXPECT_EQ(runner_.params_schema()["properties"]["threshold"]["default"], 0.5);
}

TEST_F(BinarySigmoidTest, ParamsSchemaDocumentsEveryParam) {
  const nlohmann::json schema = runner_.params_schema();
  EXPECT_EQ(schema["type"], "object");
  EXPECT_EQ(schema["additionalProperties"], false);
  const nlohmann::json& threshold = schema["properties"]["threshold"];
  EXPECT_EQ(threshold["type"], "number");
  EXPECT_EQ(threshold["default"], 0.5);
  EXPECT_EQ(threshold["minimum"], 0.0);
  EXPECT_EQ(threshold["maximum"], 1.0);
  EXPECT_FALSE(threshold["description"].get<std::string>().empty());
  const nlohmann::json& prob = schema["properties"]["output_is_probability"];
  EXPECT_EQ(prob["type"], "boolean");
  EXPECT_EQ(prob["default"], false);
  EXPECT_EQ(schema["properties"].size(), 2u);
}

TEST_F(BinarySigmoidTest, BadParamsAreInvalidArgumentNamingTheParam) {
  const std::vector<std::pair<nlohmann::json, std::string>> cases = {
      {{{"threshold", "high"}}, "threshold"},
      {{{"threshold", 1.5}}, "threshold"},
      {{{"threshold", -0.1}}, "threshold"},
      {{{"threshold", nullptr}}, "threshold"},
      {{{"output_is_probability", 1}}, "output_is_probability"},
      {{{"output_is_probability", "true"}}, "output_is_probability"},
      {{{"top_k", 3}}, "top_k"},
      {nlohmann::json::array({1}), "params must be a JSON object"},
      {"threshold", "params must be a JSON object"},
  };
  for (const auto& [params, name] : cases) {
    auto result = runner_.ValidateParams(params, config_);
    ASSERT_FALSE(result.ok()) << params;
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << params;
    EXPECT_TRUE(absl::StrContains(result.status().message(), name)) << result.status();
  }
}

TEST_F(BinarySigmoidTest, PreprocessMakesOneModelCallAtTheModelSize) {
  auto input = runner_.Preprocess(Gray8(7, 5, 200), config_, Params());
  ASSERT_TRUE(input.ok()) << input.status();
  ASSERT_EQ(input->items.size(), 1u);
  ASSERT_EQ(input->items[0].size(), 1u);
  EXPECT_EQ(input->items[0][0].shape(), (Shape{1, 1, 2, 3}));
  EXPECT_FLOAT_EQ(input->items[0][0].data_as<float>()[0], 200.0f / 255.0f);

  config_.input.color = ColorMode::kRgb;
  input = runner_.Preprocess(Gray8(7, 5, 200), config_, Params());
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_EQ(input->items[0][0].shape(), (Shape{1, 3, 2, 3}));
}

TEST_F(BinarySigmoidTest, PreprocessRefusesAnEmptyImage) {
  auto input = runner_.Preprocess(Image{}, config_, Params());
  ASSERT_FALSE(input.ok());
  EXPECT_EQ(input.status().code(), absl::StatusCode::kInvalidArgument);
}

// Logits at 3x2 (W x H) -> a 7x5 source: columns 0,0,0,1,1,2,2 and rows 0,0,0,1,1 (torch's
// nearest: floor(i * in / out)).
TEST_F(BinarySigmoidTest, MaskIsUpscaledToANonSquareSourceByNearest) {
  auto out = Run(Gray8(7, 5, 100), FloatTensor({1, 1, 2, 3}, {-2, 3, -1, 5, -4, 0.5f}));
  ASSERT_TRUE(out.ok()) << out.status();
  const RunnerArtifact* mask = out->Find("class_mask");
  ASSERT_NE(mask, nullptr);
  EXPECT_EQ(mask->format, ArtifactFormat::kPng);
  EXPECT_EQ(mask->image.width, 7);
  EXPECT_EQ(mask->image.height, 5);
  EXPECT_EQ(mask->image.channels, 1);
  EXPECT_EQ(mask->image.type, PixelType::kUInt8);
  const std::vector<int> expected = {
      0,   0,   0,   255, 255, 0,   0,    //
      0,   0,   0,   255, 255, 0,   0,    //
      0,   0,   0,   255, 255, 0,   0,    //
      255, 255, 255, 0,   0,   255, 255,  //
      255, 255, 255, 0,   0,   255, 255,  //
  };
  EXPECT_EQ(Samples(mask->image), expected);
  EXPECT_EQ(out->summary["width"], 7);
  EXPECT_EQ(out->summary["height"], 5);
  EXPECT_EQ(out->summary["class_histogram"], (nlohmann::json{{"0", 19}, {"255", 16}}));
  EXPECT_DOUBLE_EQ(out->summary["foreground_fraction"].get<double>(), 16.0 / 35.0);
  EXPECT_EQ(out->summary["threshold"], 0.5);
  EXPECT_EQ(out->summary["foreground_color"], "#e6194b");
}

// Logits at 6x4 -> a 3x2 source: columns 0,2,4 and rows 0,2.
TEST_F(BinarySigmoidTest, MaskIsDownscaledToTheSourceByNearest) {
  std::vector<float> logits(24, -5.0f);
  logits[0 * 6 + 2] = 5.0f;  // (x 2, y 0): kept
  logits[2 * 6 + 4] = 5.0f;  // (x 4, y 2): kept
  logits[1 * 6 + 1] = 5.0f;  // (x 1, y 1): not sampled
  auto out = Run(Gray8(3, 2, 0), FloatTensor({1, 1, 4, 6}, logits));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Samples(out->Find("class_mask")->image), (std::vector<int>{0, 255, 0, 0, 0, 255}));
}

TEST_F(BinarySigmoidTest, SameSizeOutputIsCopied) {
  auto out = Run(Gray8(3, 2, 0), FloatTensor({1, 1, 2, 3}, {1, -1, 1, -1, 1, -1}));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Samples(out->Find("class_mask")->image), (std::vector<int>{255, 0, 255, 0, 255, 0}));
}

TEST_F(BinarySigmoidTest, ThreeDimensionalOutputIsAccepted) {
  auto out = Run(Gray8(3, 2, 0), FloatTensor({1, 2, 3}, {1, -1, 1, -1, 1, -1}));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Samples(out->Find("class_mask")->image), (std::vector<int>{255, 0, 255, 0, 255, 0}));
}

TEST_F(BinarySigmoidTest, ThresholdIsStrictlyAboveAndAppliesToTheProbability) {
  const std::vector<float> probs = {0.1f, 0.5f, 0.6f, 0.95f};
  auto mask_for = [&](const nlohmann::json& params) {
    auto out = Run(Gray8(4, 1, 0), FloatTensor({1, 1, 1, 4}, probs), params);
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? Samples(out->Find("class_mask")->image) : std::vector<int>{};
  };
  EXPECT_EQ(mask_for({{"output_is_probability", true}}), (std::vector<int>{0, 0, 255, 255}));
  EXPECT_EQ(mask_for({{"output_is_probability", true}, {"threshold", 0.9}}),
            (std::vector<int>{0, 0, 0, 255}));
  EXPECT_EQ(mask_for({{"output_is_probability", true}, {"threshold", 0}}),
            (std::vector<int>{255, 255, 255, 255}));
  EXPECT_EQ(mask_for({{"output_is_probability", true}, {"threshold", 1}}),
            (std::vector<int>{0, 0, 0, 0}));
  // As logits, every value is positive: sigmoid > 0.5 everywhere.
  EXPECT_EQ(mask_for(nullptr), (std::vector<int>{255, 255, 255, 255}));
  // sigmoid(0.6) = 0.6457, sigmoid(0.95) = 0.7211.
  EXPECT_EQ(mask_for({{"threshold", 0.7}}), (std::vector<int>{0, 0, 0, 255}));
}

TEST_F(BinarySigmoidTest, HistogramAlwaysHasBothValues) {
  auto out = Run(Gray8(2, 2, 0), FloatTensor({1, 1, 2, 2}, {-1, -1, -1, -1}));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->summary["class_histogram"], (nlohmann::json{{"0", 4}, {"255", 0}}));
  EXPECT_EQ(out->summary["foreground_fraction"], 0.0);
}

TEST_F(BinarySigmoidTest, PreviewBlendsTheForegroundInRed) {
  auto out = Run(Gray8(2, 1, 100), FloatTensor({1, 1, 1, 2}, {3, -3}));
  ASSERT_TRUE(out.ok()) << out.status();
  const RunnerArtifact* preview = out->Find("preview");
  ASSERT_NE(preview, nullptr);
  EXPECT_EQ(preview->format, ArtifactFormat::kPng);
  EXPECT_EQ(preview->image.channels, 3);
  EXPECT_EQ(preview->image.type, PixelType::kUInt8);
  // Red is (230, 25, 75): 0.5 * 100 + 0.5 * c, rounded half to even.
  EXPECT_EQ(Samples(preview->image), (std::vector<int>{165, 62, 88, 100, 100, 100}));
}

TEST_F(BinarySigmoidTest, ArtifactsEncodeAndDecodeBack) {
  auto out = Run(Gray8(7, 5, 100), FloatTensor({1, 1, 2, 3}, {-2, 3, -1, 5, -4, 0.5f}));
  ASSERT_TRUE(out.ok()) << out.status();
  for (const RunnerArtifact& artifact : out->artifacts) {
    auto bytes = EncodeArtifact(artifact);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    auto decoded = DecodeImage(*bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->data, artifact.image.data) << artifact.kind;
  }
}

TEST_F(BinarySigmoidTest, WrongOutputsAreInternalNamingModelAndShape) {
  struct Case {
    std::vector<std::vector<Tensor>> outputs;
    std::string shape;
  };
  std::vector<Case> cases;
  cases.push_back({OneOutput(FloatTensor({1, 2, 2, 3}, std::vector<float>(12))), "[1,2,2,3]"});
  cases.push_back({OneOutput(FloatTensor({2, 1, 2, 3}, std::vector<float>(12))), "[2,1,2,3]"});
  cases.push_back({OneOutput(FloatTensor({1, 6}, std::vector<float>(6))), "[1,6]"});
  cases.push_back({OneOutput(Tensor(DType::kInt64, {1, 1, 2, 3})), "INT64"});
  cases.push_back({OneOutput(FloatTensor({1, 1, 0, 3}, {})), "[1,1,0,3]"});
  cases.push_back({{}, "0 calls"});
  cases.push_back({std::vector<std::vector<Tensor>>(1), "0 outputs"});
  for (Case& c : cases) {
    auto out = runner_.Postprocess(Gray8(3, 2, 0), RunnerInput{}, c.outputs, config_, Params());
    ASSERT_FALSE(out.ok()) << c.shape;
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInternal) << out.status();
    EXPECT_TRUE(absl::StrContains(out.status().message(), "seg_model")) << out.status();
    EXPECT_TRUE(absl::StrContains(out.status().message(), c.shape)) << out.status();
  }
}

// Annotation 7x5 -> model 3x2: columns 0,2,4 and rows 0,2.
TEST_F(BinarySigmoidTest, AnnotationToTargetIsAFloatMaskAtTheModelSize) {
  Image annotation = Gray8(7, 5, 0);
  annotation.pixels<uint8_t>()[0 * 7 + 2] = 7;  // kept
  annotation.pixels<uint8_t>()[2 * 7 + 4] = 1;  // kept
  annotation.pixels<uint8_t>()[1 * 7 + 1] = 9;  // not sampled
  auto target = runner_.AnnotationToTarget(annotation, Gray8(7, 5, 0), config_);
  ASSERT_TRUE(target.ok()) << target.status();
  ASSERT_EQ(target->size(), 1u);
  const Tensor& t = (*target)[0];
  EXPECT_EQ(t.dtype(), DType::kFP32);
  EXPECT_EQ(t.shape(), (Shape{1, 1, 2, 3}));
  EXPECT_EQ(std::vector<float>(t.data_as<float>(), t.data_as<float>() + 6),
            (std::vector<float>{0, 1, 0, 0, 0, 1}));
}

TEST_F(BinarySigmoidTest, AnnotationToTargetTakesSixteenBitAndFloatAnnotations) {
  Image wide = MakeImage(3, 2, 1, PixelType::kUInt16);
  wide.pixels<uint16_t>()[4] = 1000;
  Image real = MakeImage(3, 2, 1, PixelType::kFloat32);
  real.pixels<float>()[1] = 0.25f;
  real.pixels<float>()[2] = -1.0f;
  auto a = runner_.AnnotationToTarget(wide, Gray8(3, 2, 0), config_);
  auto b = runner_.AnnotationToTarget(real, Gray8(3, 2, 0), config_);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(std::vector<float>((*a)[0].data_as<float>(), (*a)[0].data_as<float>() + 6),
            (std::vector<float>{0, 0, 0, 0, 1, 0}));
  EXPECT_EQ(std::vector<float>((*b)[0].data_as<float>(), (*b)[0].data_as<float>() + 6),
            (std::vector<float>{0, 1, 0, 0, 0, 0}));
}

TEST_F(BinarySigmoidTest, AnnotationOfAnotherSizeIsInvalidArgument) {
  auto target = runner_.AnnotationToTarget(Gray8(6, 5, 0), Gray8(7, 5, 0), config_);
  ASSERT_FALSE(target.ok());
  EXPECT_EQ(target.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(target.status().message(), "6x5")) << target.status();
}

// ---- Letterboxed input (resize: letterbox) ----
// An 8x4 source into a 4x4 input fills the top 2 rows (ContentSize 2x4).

TEST_F(BinarySigmoidTest, LetterboxPreprocessPadsBelowTheImage) {
  config_ = SegConfig(ColorMode::kGray, 4, 4);
  config_.input.resize = ResizeMode::kLetterbox;
  auto input = runner_.Preprocess(Gray8(8, 4, 200), config_, Params());
  ASSERT_TRUE(input.ok()) << input.status();
  const Tensor& t = input->items[0][0];
  ASSERT_EQ(t.shape(), (Shape{1, 1, 4, 4}));
  for (int i = 0; i < 16; ++i) {
    EXPECT_FLOAT_EQ(t.data_as<float>()[i], i < 8 ? 200.0f / 255.0f : 0.0f) << i;
  }
}

TEST_F(BinarySigmoidTest, LetterboxMaskKeepsOnlyWhatTheImageFilled) {
  config_ = SegConfig(ColorMode::kGray, 4, 4);
  config_.input.resize = ResizeMode::kLetterbox;
  // Rows 0-1 are the image; rows 2-3 are padding and say "foreground" everywhere.
  auto out = Run(Gray8(8, 4, 0), FloatTensor({1, 1, 4, 4}, {5, -5, 5, -5,  //
                                                            -5, -5, 5, 5,  //
                                                            5, 5, 5, 5,    //
                                                            5, 5, 5, 5}));
  ASSERT_TRUE(out.ok()) << out.status();
  const std::vector<int> row0 = {255, 255, 0, 0, 255, 255, 0, 0};
  const std::vector<int> row1 = {0, 0, 0, 0, 255, 255, 255, 255};
  std::vector<int> expected;
  for (const auto* row : {&row0, &row0, &row1, &row1}) {
    expected.insert(expected.end(), row->begin(), row->end());
  }
  EXPECT_EQ(Samples(out->Find("class_mask")->image), expected);
  EXPECT_DOUBLE_EQ(out->summary["foreground_fraction"].get<double>(), 16.0 / 32.0);

  // An output at half the input's resolution (2x2): its top row is the image.
  out = Run(Gray8(8, 4, 0), FloatTensor({1, 1, 2, 2}, {5, -5, 5, 5}));
  ASSERT_TRUE(out.ok()) << out.status();
  std::vector<int> halves;
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 8; ++x) halves.push_back(x < 4 ? 255 : 0);
  }
  EXPECT_EQ(Samples(out->Find("class_mask")->image), halves);
}

TEST_F(BinarySigmoidTest, LetterboxAnnotationTargetIsPaddedWithBackground) {
  config_ = SegConfig(ColorMode::kGray, 4, 4);
  config_.input.resize = ResizeMode::kLetterbox;
  auto target = runner_.AnnotationToTarget(Gray8(8, 4, 1), Gray8(8, 4, 0), config_);
  ASSERT_TRUE(target.ok()) << target.status();
  const Tensor& t = (*target)[0];
  ASSERT_EQ(t.shape(), (Shape{1, 1, 4, 4}));
  for (int i = 0; i < 16; ++i) EXPECT_EQ(t.data_as<float>()[i], i < 8 ? 1.0f : 0.0f) << i;
}

}  // namespace
}  // namespace infera
