// Tests for runners/multiclass_argmax.h with hand-made model outputs: exact argmax
// (ties to the lowest class), resize back to the source, 8- and 16-bit class masks,
// summary with labels and colours, preview, params and output-shape errors, and the
// training target.
#include "runners/multiclass_argmax.h"

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

class MulticlassArgmaxTest : public ::testing::Test {
 protected:
  MulticlassArgmaxTest() { config_.labels = {"background", "red", "green"}; }

  StatusOr<RunnerOutput> Run(const Image& source, Tensor output) {
    auto params = runner_.ValidateParams(nullptr, config_);
    EXPECT_TRUE(params.ok());
    return runner_.Postprocess(source, RunnerInput{}, OneOutput(std::move(output)), config_,
                               *params);
  }

  // Three classes over 3x2 (W x H): argmax 1, tie(0,1) -> 0, 2, all equal -> 0,
  // tie(0,1) above 2 -> 0, all equal -> 0.
  static Tensor ThreeClasses() {
    return FloatTensor({1, 3, 2, 3}, {
                                         0, 1, 2, 0, 5, -1,  // class 0
                                         1, 1, 0, 0, 5, -1,  // class 1
                                         0, 0, 3, 0, 4, -1,  // class 2
                                     });
  }

  MulticlassArgmaxRunner runner_;
  ModelDescription config_ = SegConfig(ColorMode::kRgb, 2, 3);
};

TEST_F(MulticlassArgmaxTest, NameAndTrainingLoss) {
  EXPECT_EQ(runner_.name(), "multiclass_argmax");
  EXPECT_EQ(runner_.training_loss(), "cross_entropy");
}

TEST_F(MulticlassArgmaxTest, HasOnlyOutputIsProbability) {
  auto params = runner_.ValidateParams(nullptr, config_);
  ASSERT_TRUE(params.ok());
  EXPECT_EQ(*params, (nlohmann::json{{"output_is_probability", false}}));
  const nlohmann::json schema = runner_.params_schema();
  EXPECT_EQ(schema["type"], "object");
  ASSERT_EQ(schema["properties"].size(), 1u);
  EXPECT_EQ(schema["properties"]["output_is_probability"]["type"], "boolean");
  auto bad = runner_.ValidateParams({{"threshold", 0.5}}, config_);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "'threshold'")) << bad.status();
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "multiclass_argmax")) << bad.status();
}

TEST_F(MulticlassArgmaxTest, PreprocessUsesTheInputSpec) {
  config_.input.mean = {0.485f, 0.456f, 0.406f};
  config_.input.std = {0.229f, 0.224f, 0.225f};
  auto params = runner_.ValidateParams(nullptr, config_);
  auto input = runner_.Preprocess(Gray8(5, 7, 255), config_, *params);
  ASSERT_TRUE(input.ok()) << input.status();
  ASSERT_EQ(input->items.size(), 1u);
  const Tensor& t = input->items[0][0];
  EXPECT_EQ(t.shape(), (Shape{1, 3, 2, 3}));
  EXPECT_FLOAT_EQ(t.data_as<float>()[0], (1.0f - 0.485f) / 0.229f);
}

TEST_F(MulticlassArgmaxTest, ArgmaxTiesGoToTheLowestClass) {
  auto out = Run(Gray8(3, 2, 0), ThreeClasses());
  ASSERT_TRUE(out.ok()) << out.status();
  const RunnerArtifact* mask = out->Find("class_mask");
  ASSERT_NE(mask, nullptr);
  EXPECT_EQ(mask->format, ArtifactFormat::kPng);
  EXPECT_EQ(mask->image.type, PixelType::kUInt8);
  EXPECT_EQ(Samples(mask->image), (std::vector<int>{1, 0, 2, 0, 0, 0}));
}

TEST_F(MulticlassArgmaxTest, MaskIsResizedToTheSourceAndSummarised) {
  auto out = Run(Gray8(6, 4, 100), ThreeClasses());  // 2x upscale: index i >> 1
  ASSERT_TRUE(out.ok()) << out.status();
  const Image& mask = out->Find("class_mask")->image;
  EXPECT_EQ(mask.width, 6);
  EXPECT_EQ(mask.height, 4);
  const std::vector<int> expected = {
      1, 1, 0, 0, 2, 2,  //
      1, 1, 0, 0, 2, 2,  //
      0, 0, 0, 0, 0, 0,  //
      0, 0, 0, 0, 0, 0,  //
  };
  EXPECT_EQ(Samples(mask), expected);
  const nlohmann::json& s = out->summary;
  EXPECT_EQ(s["width"], 6);
  EXPECT_EQ(s["height"], 4);
  EXPECT_EQ(s["num_classes"], 3);
  EXPECT_DOUBLE_EQ(s["foreground_fraction"].get<double>(), 8.0 / 24.0);
  EXPECT_EQ(s["class_histogram"], (nlohmann::json{{"0", 16}, {"1", 4}, {"2", 4}}));
  const nlohmann::json expected_classes = nlohmann::json::parse(R"([
    {"class_id": 0, "label": "background", "pixels": 16, "fraction": 0.6666666666666666,
     "color": null},
    {"class_id": 1, "label": "red", "pixels": 4, "fraction": 0.16666666666666666,
     "color": "#e6194b"},
    {"class_id": 2, "label": "green", "pixels": 4, "fraction": 0.16666666666666666,
     "color": "#3cb44b"}])");
  EXPECT_EQ(s["classes"], expected_classes);
}

TEST_F(MulticlassArgmaxTest, AbsentClassesAreLeftOutAndUnlabelledClassesNamed) {
  config_.labels.clear();
  auto out = Run(Gray8(3, 1, 0), FloatTensor({1, 4, 1, 1}, {0, 0, 0, 1}));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->summary["class_histogram"], (nlohmann::json{{"3", 3}}));
  ASSERT_EQ(out->summary["classes"].size(), 1u);
  EXPECT_EQ(out->summary["classes"][0]["label"], "class_3");
  EXPECT_EQ(out->summary["classes"][0]["color"], "#ffe119");  // palette[2]: yellow
  EXPECT_EQ(out->summary["foreground_fraction"], 1.0);
  EXPECT_EQ(out->summary["num_classes"], 4);
}

TEST_F(MulticlassArgmaxTest, PreviewDrawsEachClassInItsColour) {
  auto out = Run(Gray8(3, 2, 100), ThreeClasses());
  ASSERT_TRUE(out.ok()) << out.status();
  const Image& preview = out->Find("preview")->image;
  ASSERT_EQ(preview.channels, 3);
  const std::vector<int> px = Samples(preview);
  EXPECT_EQ(std::vector<int>(px.begin(), px.begin() + 9),
            (std::vector<int>{165, 62, 88,     // class 1: red (230, 25, 75)
                              100, 100, 100,   // class 0: not drawn
                              80, 140, 88}));  // class 2: green (60, 180, 75)
}

TEST_F(MulticlassArgmaxTest, MoreThan256ClassesGiveA16BitMask) {
  std::vector<float> scores(300 * 2, 0.0f);
  scores[299 * 2 + 0] = 1.0f;  // pixel 0: class 299
  scores[7 * 2 + 1] = 1.0f;    // pixel 1: class 7
  config_.labels.clear();
  auto out = Run(Gray8(2, 1, 0), FloatTensor({1, 300, 1, 2}, scores));
  ASSERT_TRUE(out.ok()) << out.status();
  const Image& mask = out->Find("class_mask")->image;
  EXPECT_EQ(mask.type, PixelType::kUInt16);
  EXPECT_EQ(Samples(mask), (std::vector<int>{299, 7}));
  EXPECT_EQ(out->summary["class_histogram"], (nlohmann::json{{"7", 1}, {"299", 1}}));
  auto bytes = EncodeArtifact(*out->Find("class_mask"));
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto decoded = DecodeImage(*bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->type, PixelType::kUInt16);
  EXPECT_EQ(Samples(*decoded), (std::vector<int>{299, 7}));
}

TEST_F(MulticlassArgmaxTest, Exactly256ClassesStillFitEightBits) {
  std::vector<float> scores(256, 0.0f);
  scores[255] = 1.0f;
  auto out = Run(Gray8(1, 1, 0), FloatTensor({1, 256, 1, 1}, scores));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->Find("class_mask")->image.type, PixelType::kUInt8);
  EXPECT_EQ(Samples(out->Find("class_mask")->image), (std::vector<int>{255}));
}

TEST_F(MulticlassArgmaxTest, WrongOutputsAreInternalNamingModelAndShape) {
  const std::vector<std::pair<Tensor, std::string>> cases = {
      {FloatTensor({1, 1, 2, 3}, std::vector<float>(6)), "[1,1,2,3]"},
      {FloatTensor({1, 2, 3}, std::vector<float>(6)), "[1,2,3]"},
      {FloatTensor({2, 3, 1, 1}, std::vector<float>(6)), "[2,3,1,1]"},
      {Tensor(DType::kFP16, {1, 3, 2, 3}), "FP16"},
  };
  for (const auto& [tensor, shape] : cases) {
    auto out = Run(Gray8(3, 2, 0), tensor);
    ASSERT_FALSE(out.ok()) << shape;
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInternal) << out.status();
    EXPECT_TRUE(absl::StrContains(out.status().message(), "seg_model")) << out.status();
    EXPECT_TRUE(absl::StrContains(out.status().message(), shape)) << out.status();
  }
}

// Annotation 7x5 -> model 3x2: columns 0,2,4 and rows 0,2.
TEST_F(MulticlassArgmaxTest, AnnotationToTargetIsInt64ClassIndicesAtTheModelSize) {
  Image annotation = Gray8(7, 5, 0);
  annotation.pixels<uint8_t>()[0 * 7 + 2] = 2;
  annotation.pixels<uint8_t>()[2 * 7 + 4] = 1;
  annotation.pixels<uint8_t>()[1 * 7 + 1] = 2;  // not sampled
  auto target = runner_.AnnotationToTarget(annotation, Gray8(7, 5, 0), config_);
  ASSERT_TRUE(target.ok()) << target.status();
  ASSERT_EQ(target->size(), 1u);
  const Tensor& t = (*target)[0];
  EXPECT_EQ(t.dtype(), DType::kInt64);
  EXPECT_EQ(t.shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(std::vector<int64_t>(t.data_as<int64_t>(), t.data_as<int64_t>() + 6),
            (std::vector<int64_t>{0, 2, 0, 0, 0, 1}));
}

TEST_F(MulticlassArgmaxTest, AnnotationToTargetTakesSixteenBitLabels) {
  config_.labels.clear();
  Image annotation = MakeImage(3, 2, 1, PixelType::kUInt16);
  annotation.pixels<uint16_t>()[5] = 1000;
  auto target = runner_.AnnotationToTarget(annotation, Gray8(3, 2, 0), config_);
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ((*target)[0].data_as<int64_t>()[5], 1000);
}

// 255 (8-bit) and 65535 (16-bit) mark unannotated pixels: kUnannotatedTarget, which the
// training loss ignores; not an unknown class even with 3 labels.
TEST_F(MulticlassArgmaxTest, UnannotatedPixelsGetTheIgnoreTarget) {
  Image annotation = Gray8(3, 2, 255);
  annotation.pixels<uint8_t>()[0] = 1;
  auto target = runner_.AnnotationToTarget(annotation, Gray8(3, 2, 0), config_);
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ((*target)[0].data_as<int64_t>()[0], 1);
  EXPECT_EQ((*target)[0].data_as<int64_t>()[1], kUnannotatedTarget);
  Image wide = MakeImage(3, 2, 1, PixelType::kUInt16);
  wide.pixels<uint16_t>()[4] = 65535;
  target = runner_.AnnotationToTarget(wide, Gray8(3, 2, 0), config_);
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ((*target)[0].data_as<int64_t>()[4], kUnannotatedTarget);
  EXPECT_EQ((*target)[0].data_as<int64_t>()[3], 0);
}

TEST_F(MulticlassArgmaxTest, AnnotationWithAnUnknownClassIsInvalidArgument) {
  Image annotation = Gray8(7, 5, 0);
  annotation.pixels<uint8_t>()[1 * 7 + 1] = 3;  // not sampled by the resize, still refused
  auto target = runner_.AnnotationToTarget(annotation, Gray8(7, 5, 0), config_);
  ASSERT_FALSE(target.ok());
  EXPECT_EQ(target.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(target.status().message(), "class 3")) << target.status();
}

TEST_F(MulticlassArgmaxTest, FloatOrMisfitAnnotationsAreInvalidArgument) {
  auto target =
      runner_.AnnotationToTarget(MakeImage(3, 2, 1, PixelType::kFloat32), Gray8(3, 2, 0), config_);
  ASSERT_FALSE(target.ok());
  EXPECT_EQ(target.status().code(), absl::StatusCode::kInvalidArgument);
  target = runner_.AnnotationToTarget(Gray8(3, 3, 0), Gray8(3, 2, 0), config_);
  ASSERT_FALSE(target.ok());
  EXPECT_EQ(target.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infera
