// Tests for runners/cellpose.h: params (defaults, channels, bounds), Preprocess
// (Cellpose's channel selection and normalize99 against values computed here,
// padding, rescaling by diameter, tile counts), Postprocess on ideal network
// outputs cut into the tiles the plan says (masks recovered, tiled == untiled,
// rescaled flows brought back), artifacts and summary, and the errors (wrong
// output shapes, too few channels, bad specs).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "cellpose/average_precision.h"
#include "cellpose/masks_to_flows.h"
#include "cellpose/synthetic_cells.h"
#include "cellpose/tiling.h"
#include "imaging/codec.h"
#include "imaging/resize_image.h"
#include "runners/cellpose.h"
#include "runners/model_description.h"
#include "runners/segmentation_test_util.h"

namespace infera {
namespace {

using cellpose::AveragePrecision;
using cellpose::MakePerfectOutputs;
using cellpose::MakeSyntheticCells;
using cellpose::PerfectOutputs;
using cellpose::SyntheticCellsOptions;
using testing::FloatTensor;

constexpr float kLogit = 10.0f;

// np.percentile(values, p) with the default ("linear") method, in double.
double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const double i = (values.size() - 1) * p / 100.0;
  const size_t lo = static_cast<size_t>(std::floor(i));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (i - std::floor(i));
}

// normalize99 of one channel, computed from scratch.
std::vector<float> Normalized99(const std::vector<double>& values) {
  const double p1 = Percentile(values, 1.0);
  const double p99 = Percentile(values, 99.0);
  std::vector<float> out;
  for (double v : values) out.push_back(static_cast<float>((v - p1) / (p99 - p1)));
  return out;
}

// 5x4 16-bit RGB: R = i, G = i * i, B = 7 (i = the raster index 0..19).
Image Rgb16() {
  Image image = MakeImage(5, 4, 3, PixelType::kUInt16);
  uint16_t* p = image.pixels<uint16_t>();
  for (int i = 0; i < 20; ++i) {
    p[3 * i] = static_cast<uint16_t>(i);
    p[3 * i + 1] = static_cast<uint16_t>(i * i);
    p[3 * i + 2] = 7;
  }
  return image;
}

// A 1-channel 16-bit image, bright on the cells of `truth`.
Image CellsImage(const cellpose::LabelImage& truth) {
  Image image = MakeImage(truth.width, truth.height, 1, PixelType::kUInt16);
  for (size_t i = 0; i < truth.size(); ++i) {
    image.pixels<uint16_t>()[i] = static_cast<uint16_t>(truth.labels[i] != 0 ? 3000 : 200);
  }
  return image;
}

// Channel `c`, pixel (y, x) of a [1, C, H, W] tensor.
float At(const Tensor& t, int c, int y, int x) {
  const Shape& s = t.shape();
  return t.data_as<float>()[(static_cast<size_t>(c) * s[2] + y) * s[3] + x];
}

// The labels of an instance_mask artifact.
cellpose::LabelImage Labels(const RunnerArtifact& artifact) {
  cellpose::LabelImage out = cellpose::MakeLabelImage(artifact.image.height, artifact.image.width);
  for (size_t i = 0; i < out.size(); ++i) out.labels[i] = artifact.image.pixels<uint16_t>()[i];
  return out;
}

// What an ideal network returns for each tile of `input`: the tiles of the
// ideal outputs `net` (at the rescaled size the plan in the context says),
// background in the padding.
std::vector<std::vector<Tensor>> IdealTileOutputs(const RunnerInput& input,
                                                  const PerfectOutputs& net) {
  const nlohmann::json& c = input.context;
  const int rh = c["rescaled_height"], rw = c["rescaled_width"];
  EXPECT_EQ(net.flows.height, rh);
  EXPECT_EQ(net.flows.width, rw);
  const int pad_top = c["pad_top"], pad_left = c["pad_left"];
  const int t = c["tile_size"];
  auto layout =
      cellpose::MakeTileLayout(c["padded_height"], c["padded_width"], t, c["tile_overlap"]);
  EXPECT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->tiles.size(), input.items.size());
  std::vector<std::vector<Tensor>> outputs;
  for (const cellpose::TileRect& r : layout->tiles) {
    Tensor out(DType::kFP32, {1, 3, t, t});
    float* o = out.data_as<float>();
    const size_t plane = static_cast<size_t>(t) * t;
    for (int ty = 0; ty < t; ++ty) {
      for (int tx = 0; tx < t; ++tx) {
        const int y = r.top + ty - pad_top;
        const int x = r.left + tx - pad_left;
        const size_t k = static_cast<size_t>(ty) * t + tx;
        const bool inside = y >= 0 && y < rh && x >= 0 && x < rw;
        const size_t i = inside ? static_cast<size_t>(y) * rw + x : 0;
        o[k] = inside ? net.flows.dy[i] : 0.0f;
        o[plane + k] = inside ? net.flows.dx[i] : 0.0f;
        o[2 * plane + k] = inside ? net.cellprob[i] : -kLogit;
      }
    }
    outputs.emplace_back();
    outputs.back().push_back(std::move(out));
  }
  return outputs;
}

class CellposeRunnerTest : public ::testing::Test {
 protected:
  CellposeRunnerTest() {
    config_.name = "cellpose_model";
    config_.input.color = ColorMode::kGray;
    config_.input.size = std::pair<int, int>{224, 224};
    config_.input.mean.clear();
    config_.input.std.clear();
  }

  nlohmann::json Params(const nlohmann::json& given = nullptr) {
    auto params = runner_.ValidateParams(given, config_);
    EXPECT_TRUE(params.ok()) << params.status();
    return params.ok() ? *params : nlohmann::json::object();
  }

  RunnerInput Pre(const Image& image, const nlohmann::json& params = nullptr) {
    auto input = runner_.Preprocess(image, config_, Params(params));
    EXPECT_TRUE(input.ok()) << input.status();
    return input.ok() ? *std::move(input) : RunnerInput{};
  }

  // Preprocess, ideal network outputs for `truth` (at the source size),
  // Postprocess.
  StatusOr<RunnerOutput> Segment(const cellpose::LabelImage& truth,
                                 const nlohmann::json& params = nullptr) {
    const Image source = CellsImage(truth);
    const RunnerInput input = Pre(source, params);
    const PerfectOutputs net = MakePerfectOutputs(truth, kLogit);
    return runner_.Postprocess(source, input, IdealTileOutputs(input, net), config_,
                               Params(params));
  }

  CellposeRunner runner_;
  ModelDescription config_;
};

// --- Params ---

TEST_F(CellposeRunnerTest, ParamsDefaultsAreCellposes) {
  EXPECT_EQ(Params(), (nlohmann::json{{"diameter", 0.0},
                                      {"diam_mean", 30.0},
                                      {"channels", {0, 0}},
                                      {"flow_threshold", 0.4},
                                      {"cellprob_threshold", 0.0},
                                      {"min_size", 15},
                                      {"niter", 0},
                                      {"tile_overlap", 0.1},
                                      {"batch_size", 8},
                                      {"normalize", true},
                                      {"max_size_fraction", 0.4},
                                      {"model_channels", 0}}));
  const nlohmann::json schema = runner_.params_schema();
  EXPECT_EQ(schema["properties"]["channels"]["type"], "array");
  EXPECT_EQ(schema["properties"]["channels"]["default"], (nlohmann::json{0, 0}));
  EXPECT_EQ(schema["properties"]["channels"]["items"]["maximum"], 3);
  EXPECT_EQ(schema["properties"].size(), Params().size());
  for (const auto& [name, property] : schema["properties"].items()) {
    EXPECT_TRUE(property.contains("default")) << name;
    EXPECT_FALSE(property["description"].get<std::string>().empty()) << name;
  }
  const nlohmann::json given = Params({{"channels", {2.0, 1}}, {"diameter", 17}});
  EXPECT_EQ(given["channels"], (nlohmann::json{2, 1}));
  EXPECT_EQ(given["diameter"], 17.0);
}

TEST_F(CellposeRunnerTest, BadParamsAreInvalidArgumentNamingTheParam) {
  const std::vector<std::pair<nlohmann::json, std::string>> cases = {
      {{{"colour", 1}}, "colour"},
      {{{"channels", {0}}}, "channels"},
      {{{"channels", {0, 0, 0}}}, "channels"},
      {{{"channels", {4, 0}}}, "channels"},
      {{{"channels", {0, -1}}}, "channels"},
      {{{"channels", {1.5, 0}}}, "channels"},
      {{{"channels", {true, 0}}}, "channels"},
      {{{"channels", "0,0"}}, "channels"},
      {{{"channels", nullptr}}, "channels"},
      {{{"diameter", -1}}, "diameter"},
      {{{"diameter", "30"}}, "diameter"},
      {{{"tile_overlap", 0.6}}, "tile_overlap"},
      {{{"tile_overlap", 0.01}}, "tile_overlap"},
      {{{"min_size", 2.5}}, "min_size"},
      {{{"niter", -1}}, "niter"},
      {{{"normalize", 1}}, "normalize"},
      {{{"max_size_fraction", 1.5}}, "max_size_fraction"},
      {{{"model_channels", 1}}, "model_channels"},
      {nlohmann::json::array(), "object"},
  };
  for (const auto& [params, name] : cases) {
    auto result = runner_.ValidateParams(params, config_);
    ASSERT_FALSE(result.ok()) << params;
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << params;
    EXPECT_TRUE(absl::StrContains(result.status().message(), name)) << result.status();
  }
}

TEST_F(CellposeRunnerTest, UnknownParamsListChannelsAmongTheKnown) {
  auto result = runner_.ValidateParams({{"chanels", {1, 2}}}, config_);
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(absl::StrContains(result.status().message(), "unknown param 'chanels'"));
  EXPECT_TRUE(absl::StrContains(result.status().message(), "channels")) << result.status();
  EXPECT_TRUE(absl::StrContains(result.status().message(), "flow_threshold")) << result.status();
}

TEST_F(CellposeRunnerTest, ModelInputChannelsFollowTheInputSpec) {
  ModelDescription gray = config_;
  gray.input.color = ColorMode::kGray;
  EXPECT_EQ(runner_.ModelInputChannels(gray), 2);  // [cyto, nucleus]
  ModelDescription rgb = config_;
  rgb.input.color = ColorMode::kRgb;
  EXPECT_EQ(runner_.ModelInputChannels(rgb), 3);
}

// --- Preprocess ---

TEST_F(CellposeRunnerTest, GrayChannelsAreTheMeanAndAnEmptyNucleus) {
  config_.input.size = std::pair<int, int>{64, 64};
  const RunnerInput input = Pre(Rgb16());
  ASSERT_EQ(input.items.size(), 1u);
  const Tensor& t = input.items[0][0];
  ASSERT_EQ(t.shape(), (Shape{1, 2, 64, 64}));
  // Padding: 4 rows -> 8 + 6 above, 8 + 6 below = 32, then 16 more each side =
  // 64; 5 columns -> 8 + 5 left, 8 + 6 right = 32, then 16 more each side.
  ASSERT_EQ(input.context["pad_top"], 30);
  ASSERT_EQ(input.context["pad_left"], 29);
  std::vector<double> mean;
  for (int i = 0; i < 20; ++i) mean.push_back((i + i * i + 7) / 3.0);
  const std::vector<float> want = Normalized99(mean);
  double outside = 0.0;
  for (int y = 0; y < 64; ++y) {
    for (int x = 0; x < 64; ++x) {
      const int iy = y - 30, ix = x - 29;
      if (iy >= 0 && iy < 4 && ix >= 0 && ix < 5) {
        EXPECT_NEAR(At(t, 0, y, x), want[iy * 5 + ix], 1e-5) << iy << "," << ix;
      } else {
        outside += std::abs(At(t, 0, y, x));
      }
      EXPECT_EQ(At(t, 1, y, x), 0.0f);
    }
  }
  EXPECT_EQ(outside, 0.0) << "the padding is zeros";
}

TEST_F(CellposeRunnerTest, NamedChannelsAreSelectedAndNormalisedEach) {
  config_.input.size = std::pair<int, int>{64, 64};
  std::vector<double> red, green;
  for (int i = 0; i < 20; ++i) {
    red.push_back(i);
    green.push_back(i * i);
  }
  const std::vector<float> want_red = Normalized99(red);
  const std::vector<float> want_green = Normalized99(green);

  // [G, R]: cyto green, nucleus red.
  RunnerInput input = Pre(Rgb16(), {{"channels", {2, 1}}});
  ASSERT_EQ(input.items.size(), 1u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_NEAR(At(input.items[0][0], 0, 30 + i / 5, 29 + i % 5), want_green[i], 1e-5) << i;
    EXPECT_NEAR(At(input.items[0][0], 1, 30 + i / 5, 29 + i % 5), want_red[i], 1e-5) << i;
  }
  // [B, none]: a constant channel is left as it is (normalize99 skips ptp ==
  // 0).
  input = Pre(Rgb16(), {{"channels", {3, 0}}});
  EXPECT_EQ(At(input.items[0][0], 0, 31, 31), 7.0f);
  EXPECT_EQ(At(input.items[0][0], 1, 31, 31), 0.0f);
  // normalize false: raw samples.
  input = Pre(Rgb16(), {{"channels", {2, 1}}, {"normalize", false}});
  EXPECT_EQ(At(input.items[0][0], 0, 30 + 3, 29 + 4), 361.0f);  // i = 19
  EXPECT_EQ(At(input.items[0][0], 1, 30 + 3, 29 + 4), 19.0f);
  // A 3-channel model gets a zero third channel.
  input = Pre(Rgb16(), {{"channels", {2, 1}}, {"model_channels", 3}});
  ASSERT_EQ(input.items[0][0].shape(), (Shape{1, 3, 64, 64}));
  EXPECT_NEAR(At(input.items[0][0], 0, 30, 29 + 1), want_green[1], 1e-5);
  EXPECT_EQ(At(input.items[0][0], 2, 30, 29 + 1), 0.0f);
  // So does an rgb input spec.
  config_.input.color = ColorMode::kRgb;
  input = Pre(Rgb16());
  EXPECT_EQ(input.items[0][0].shape(), (Shape{1, 3, 64, 64}));
  // NHWC.
  config_.input.layout = Layout::kNHWC;
  input = Pre(Rgb16(), {{"channels", {2, 1}}});
  ASSERT_EQ(input.items[0][0].shape(), (Shape{1, 64, 64, 3}));
  const float* nhwc = input.items[0][0].data_as<float>();
  EXPECT_NEAR(nhwc[(30 * 64 + 30) * 3 + 0], want_green[1], 1e-5);
  EXPECT_NEAR(nhwc[(30 * 64 + 30) * 3 + 1], want_red[1], 1e-5);
}

TEST_F(CellposeRunnerTest, GrayImagesAreTheCytoChannelWhateverChannelsSay) {
  config_.input.size = std::pair<int, int>{64, 64};
  const Image gray = testing::Gray8(5, 4, [](int x, int y) { return 10 * (y * 5 + x); });
  std::vector<double> values;
  for (int i = 0; i < 20; ++i) values.push_back(10.0 * i);
  const std::vector<float> want = Normalized99(values);
  for (const nlohmann::json& channels : {nlohmann::json{0, 0}, nlohmann::json{3, 2}}) {
    const RunnerInput input = Pre(gray, {{"channels", channels}});
    ASSERT_EQ(input.items.size(), 1u);
    EXPECT_NEAR(At(input.items[0][0], 0, 30 + 2, 29 + 3), want[13], 1e-5) << channels;
    EXPECT_EQ(At(input.items[0][0], 1, 30 + 2, 29 + 3), 0.0f) << channels;
  }
}

TEST_F(CellposeRunnerTest, TooFewImageChannelsAreInvalidArgument) {
  Image two = MakeImage(4, 4, 2, PixelType::kUInt8);
  for (const nlohmann::json& channels : {nlohmann::json{3, 0}, nlohmann::json{1, 3}}) {
    auto input = runner_.Preprocess(two, config_, Params({{"channels", channels}}));
    ASSERT_FALSE(input.ok()) << channels;
    EXPECT_EQ(input.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(input.status().message(), "2")) << input.status();
  }
  EXPECT_TRUE(runner_.Preprocess(two, config_, Params({{"channels", {2, 1}}})).ok());
}

TEST_F(CellposeRunnerTest, DiameterRescalesTheImage) {
  config_.input.size = std::pair<int, int>{64, 64};
  const Image ramp = testing::Gray8(128, 128, [](int x, int) { return x; });
  // 128 -> padded 144: ceil(1.2 * 144 / 64) = 3 tiles per side.
  RunnerInput input = Pre(ramp);
  EXPECT_EQ(input.context["rescaled_height"], 128);
  EXPECT_EQ(input.items.size(), 9u);
  // diameter 60: x 0.5 -> 64, padded 80: ceil(1.2 * 80 / 64) = 2.
  input = Pre(ramp, {{"diameter", 60}});
  EXPECT_EQ(input.context["rescale"], 0.5);
  EXPECT_EQ(input.context["rescaled_height"], 64);
  EXPECT_EQ(input.context["rescaled_width"], 64);
  EXPECT_EQ(input.items.size(), 4u);
  // diameter 15: x 2 -> 256, padded 272: ceil(1.2 * 272 / 64) = 6.
  input = Pre(ramp, {{"diameter", 15}});
  EXPECT_EQ(input.context["rescaled_width"], 256);
  EXPECT_EQ(input.items.size(), 36u);
  // diam_mean 17 (nuclei), diameter 34: x 0.5.
  input = Pre(ramp, {{"diameter", 34}, {"diam_mean", 17}});
  EXPECT_EQ(input.context["rescaled_width"], 64);
  // int() truncates: 128 * 30 / 70 = 54.86 -> 54.
  input = Pre(ramp, {{"diameter", 70}});
  EXPECT_EQ(input.context["rescaled_width"], 54);

  // The values are the normalised ramp resampled bilinearly: x' = 0.5 -> x =
  // 2x' + 0.5.
  config_.input.size.reset();  // size: keep -> Cellpose's 224 tiles
  input = Pre(ramp, {{"diameter", 60}});
  ASSERT_EQ(input.items.size(), 1u);
  ASSERT_EQ(input.items[0][0].shape(), (Shape{1, 2, 224, 224}));
  const int pad = input.context["pad_top"];
  EXPECT_EQ(pad, 80);  // 64 + 8 + 8 = 80 < 224: 72 more each side
  std::vector<double> values;
  for (int y = 0; y < 128; ++y) {
    for (int x = 0; x < 128; ++x) values.push_back(x);
  }
  const double p1 = Percentile(values, 1), p99 = Percentile(values, 99);
  for (int x : {0, 10, 31, 63}) {
    EXPECT_NEAR(At(input.items[0][0], 0, pad + 5, pad + x), (2 * x + 0.5 - p1) / (p99 - p1), 1e-5)
        << x;
  }
}

TEST_F(CellposeRunnerTest, ImageThreeTimesTheTileSizeIsTiled) {
  const Image image = MakeImage(3 * 224, 3 * 224, 1, PixelType::kUInt8);
  // 672 + 16 = 688: ceil((1 + 2 * 0.1) * 688 / 224) = ceil(3.69) = 4 per side.
  RunnerInput input = Pre(image);
  EXPECT_EQ(input.items.size(), 16u);
  for (const auto& item : input.items) {
    ASSERT_EQ(item.size(), 1u);
    EXPECT_EQ(item[0].shape(), (Shape{1, 2, 224, 224}));
  }
  // tile_overlap 0.5: ceil(2 * 688 / 224) = ceil(6.14) = 7 per side.
  EXPECT_EQ(Pre(image, {{"tile_overlap", 0.5}}).items.size(), 49u);
}

TEST_F(CellposeRunnerTest, BadInputSpecsAreInternalNamingTheModel) {
  const Image image = MakeImage(8, 8, 1, PixelType::kUInt8);
  config_.input.size = std::pair<int, int>{224, 256};
  auto input = runner_.Preprocess(image, config_, Params());
  ASSERT_FALSE(input.ok());
  EXPECT_EQ(input.status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StrContains(input.status().message(), "cellpose_model")) << input.status();
  config_.input.size = std::pair<int, int>{224, 224};
  config_.input.dtype = DType::kUInt8;
  input = runner_.Preprocess(image, config_, Params());
  ASSERT_FALSE(input.ok());
  EXPECT_EQ(input.status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StrContains(input.status().message(), "cellpose_model")) << input.status();
}

TEST_F(CellposeRunnerTest, TinyDiameterThatBlowsUpTheImageIsInvalidArgument) {
  const Image image = MakeImage(4000, 4000, 1, PixelType::kUInt8);
  auto input = runner_.Preprocess(image, config_, Params({{"diameter", 1}}));
  ASSERT_FALSE(input.ok());
  EXPECT_EQ(input.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(input.status().message(), "diameter")) << input.status();
}

// --- Postprocess ---

cellpose::LabelImage Truth(int side, uint64_t seed, double min_radius = 6.0,
                           double max_radius = 12.0) {
  SyntheticCellsOptions o;
  o.height = side;
  o.width = side;
  o.count = side * side / 600;
  o.touching = true;
  o.min_radius = min_radius;
  o.max_radius = max_radius;
  o.seed = seed;
  return MakeSyntheticCells(o);
}

TEST_F(CellposeRunnerTest, IdealTiledOutputsGiveTheTrueMasks) {
  const cellpose::LabelImage truth = Truth(3 * 224, 7);
  ASSERT_GE(cellpose::CountLabels(truth), 300);
  auto out = Segment(truth);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->summary["tiles"], 16);

  const RunnerArtifact* mask = out->Find("instance_mask");
  ASSERT_NE(mask, nullptr);
  EXPECT_EQ(mask->format, ArtifactFormat::kPng);
  ASSERT_EQ(mask->image.type, PixelType::kUInt16);
  const cellpose::LabelImage labels = Labels(*mask);
  const auto ap = AveragePrecision(truth, labels, 0.5);
  EXPECT_GE(ap.ap, 0.95) << ap.true_positives << " of " << ap.true_masks << " matched, "
                         << ap.predicted_masks << " predicted";
  // The masks are where the cells are, not shifted by the padding: most match
  // closely.
  const auto ap90 = AveragePrecision(truth, labels, 0.9);
  EXPECT_GE(ap90.ap, 0.99) << ap90.true_positives << " of " << ap90.true_masks;

  // Summary and the other artifacts agree with the labels.
  const int n = cellpose::CountLabels(labels);
  int64_t fg = 0;
  uint32_t max_label = 0;
  for (uint32_t l : labels.labels) {
    fg += l != 0;
    max_label = std::max(max_label, l);
  }
  const nlohmann::json& s = out->summary;
  EXPECT_EQ(s["count"], n);
  EXPECT_EQ(max_label, static_cast<uint32_t>(n)) << "labels are 1..N";
  EXPECT_EQ(s["width"], 672);
  EXPECT_EQ(s["height"], 672);
  EXPECT_DOUBLE_EQ(s["foreground_fraction"].get<double>(), fg / (672.0 * 672.0));
  EXPECT_DOUBLE_EQ(s["mean_area"].get<double>(), static_cast<double>(fg) / n);
  EXPECT_EQ(s["diameter_used"], 30.0);
  EXPECT_EQ(s["niter"], 200);
  EXPECT_EQ(s["model_channels"], 2);
  const RunnerArtifact* class_mask = out->Find("class_mask");
  ASSERT_NE(class_mask, nullptr);
  ASSERT_EQ(class_mask->image.type, PixelType::kUInt8);
  for (size_t i = 0; i < labels.size(); ++i) {
    ASSERT_EQ(class_mask->image.pixels<uint8_t>()[i], labels.labels[i] != 0 ? 255 : 0) << i;
  }
  const RunnerArtifact* preview = out->Find("preview");
  ASSERT_NE(preview, nullptr);
  EXPECT_EQ(preview->format, ArtifactFormat::kPng);
  EXPECT_EQ(preview->image.channels, 3);
  EXPECT_EQ(preview->image.width, 672);
  for (const RunnerArtifact& a : out->artifacts) {
    auto bytes = EncodeArtifact(a);
    ASSERT_TRUE(bytes.ok()) << a.kind << ": " << bytes.status();
    auto decoded = DecodeImage(*bytes);
    ASSERT_TRUE(decoded.ok()) << a.kind << ": " << decoded.status();
    EXPECT_EQ(decoded->data, a.image.data) << a.kind;
  }
}

// The requirement: tiling does not change the result. One tile covering
// the whole padded image (input.size 704 >= 672 + 16) against 16 tiles of 224.
TEST_F(CellposeRunnerTest, TiledAndUntiledGiveTheSameLabels) {
  const cellpose::LabelImage truth = Truth(3 * 224, 11);
  auto tiled = Segment(truth);
  ASSERT_TRUE(tiled.ok()) << tiled.status();
  config_.input.size = std::pair<int, int>{704, 704};
  auto untiled = Segment(truth);
  ASSERT_TRUE(untiled.ok()) << untiled.status();
  EXPECT_EQ(tiled->summary["tiles"], 16);
  EXPECT_EQ(untiled->summary["tiles"], 1);

  const cellpose::LabelImage a = Labels(*tiled->Find("instance_mask"));
  const cellpose::LabelImage b = Labels(*untiled->Find("instance_mask"));
  const int na = cellpose::CountLabels(a), nb = cellpose::CountLabels(b);
  ASSERT_GT(nb, 300);
  EXPECT_LE(std::abs(na - nb), nb / 100) << na << " vs " << nb;
  const auto ap = AveragePrecision(b, a, 0.5);
  EXPECT_GE(ap.ap, 0.99) << ap.true_positives << " of " << ap.true_masks;
  const auto exact = AveragePrecision(b, a, 0.99);
  EXPECT_GE(exact.ap, 1.0) << exact.true_positives << " of " << exact.true_masks;
}

// diameter 60 halves the image: the network's (ideal) outputs are at half size,
// the runner resizes them back and integrates for 200 * 60 / 30 = 400 steps.
TEST_F(CellposeRunnerTest, RescaledOutputsAreBroughtBackToTheSourceSize) {
  config_.input.size = std::pair<int, int>{128, 128};
  const cellpose::LabelImage truth = Truth(256, 5, 10.0, 16.0);
  ASSERT_GE(cellpose::CountLabels(truth), 40);
  const nlohmann::json params = {{"diameter", 60}};
  const Image source = CellsImage(truth);
  const RunnerInput input = Pre(source, params);
  ASSERT_EQ(input.context["rescaled_height"], 128);
  // The ideal outputs of the half-size image: labels resized (nearest), then
  // their flows.
  Image full = MakeImage(256, 256, 1, PixelType::kUInt16);
  for (size_t i = 0; i < truth.size(); ++i) {
    full.pixels<uint16_t>()[i] = static_cast<uint16_t>(truth.labels[i]);
  }
  auto half = ResizeImage(full, 128, 128, Interpolation::kNearest);
  ASSERT_TRUE(half.ok()) << half.status();
  cellpose::LabelImage small = cellpose::MakeLabelImage(128, 128);
  for (size_t i = 0; i < small.size(); ++i) small.labels[i] = half->pixels<uint16_t>()[i];
  const PerfectOutputs net = MakePerfectOutputs(small, kLogit);
  auto out =
      runner_.Postprocess(source, input, IdealTileOutputs(input, net), config_, Params(params));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->summary["niter"], 400);
  EXPECT_EQ(out->summary["diameter_used"], 60.0);
  const RunnerArtifact* mask = out->Find("instance_mask");
  ASSERT_EQ(mask->image.width, 256);
  ASSERT_EQ(mask->image.height, 256);
  const auto ap = AveragePrecision(truth, Labels(*mask), 0.5);
  EXPECT_GE(ap.ap, 0.99) << ap.true_positives << " of " << ap.true_masks << " matched, "
                         << ap.predicted_masks << " predicted";
  // Resized back without a shift: the masks still overlap their cells closely.
  const auto ap75 = AveragePrecision(truth, Labels(*mask), 0.75);
  EXPECT_GE(ap75.ap, 0.95) << ap75.true_positives << " of " << ap75.true_masks;
}

TEST_F(CellposeRunnerTest, NoCellsGiveAnEmptyResult) {
  config_.input.size = std::pair<int, int>{64, 64};
  const cellpose::LabelImage empty = cellpose::MakeLabelImage(40, 50);
  auto out = Segment(empty);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->summary["count"], 0);
  EXPECT_EQ(out->summary["mean_area"], 0.0);
  EXPECT_EQ(out->summary["foreground_fraction"], 0.0);
  const cellpose::LabelImage labels = Labels(*out->Find("instance_mask"));
  EXPECT_EQ(cellpose::CountLabels(labels), 0);
  EXPECT_EQ(labels.width, 50);
}

TEST_F(CellposeRunnerTest, WrongOutputsAreInternalNamingModelAndShape) {
  config_.input.size = std::pair<int, int>{32, 32};
  const Image source = MakeImage(20, 20, 1, PixelType::kUInt8);
  const RunnerInput input = Pre(source);
  ASSERT_EQ(input.items.size(),
            2u * 2u);  // 20 + 16 = 36 -> ceil(1.2 * 36 / 32) = 2
  const std::vector<std::pair<Tensor, std::string>> cases = {
      {Tensor(DType::kFP32, {1, 2, 32, 32}), "[1,2,32,32]"},
      {Tensor(DType::kFP32, {1, 3, 32, 31}), "[1,3,32,31]"},
      {Tensor(DType::kFP32, {3, 32, 32}), "[3,32,32]"},
      {Tensor(DType::kFP32, {2, 3, 32, 32}), "[2,3,32,32]"},
      {Tensor(DType::kInt32, {1, 3, 32, 32}), "INT32"},
  };
  for (const auto& [tensor, shape] : cases) {
    std::vector<std::vector<Tensor>> outputs(4);
    for (auto& o : outputs) o.push_back(Tensor(DType::kFP32, {1, 3, 32, 32}));
    outputs[3][0] = tensor;  // the last tile is wrong
    auto out = runner_.Postprocess(source, input, outputs, config_, Params());
    ASSERT_FALSE(out.ok()) << shape;
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInternal) << out.status();
    EXPECT_TRUE(absl::StrContains(out.status().message(), "cellpose_model")) << out.status();
    EXPECT_TRUE(absl::StrContains(out.status().message(), shape)) << out.status();
  }
  // Too few tile outputs, or none for a tile.
  std::vector<std::vector<Tensor>> three(3);
  for (auto& o : three) o.push_back(Tensor(DType::kFP32, {1, 3, 32, 32}));
  auto out = runner_.Postprocess(source, input, three, config_, Params());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StrContains(out.status().message(), "cellpose_model")) << out.status();
  three.emplace_back();
  out = runner_.Postprocess(source, input, three, config_, Params());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInternal);
  // A context that is not the runner's plan.
  out = runner_.Postprocess(source, RunnerInput{}, three, config_, Params());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInternal);
}

// Training: a 48x48 crop for a 64-pixel tile (one tile with 8 pixels of padding each
// side): 5 x the masks' flows and the cell probability, in the tile's frame.
TEST_F(CellposeRunnerTest, AnnotationToTargetIsFiveTimesTheFlowsAndTheCellProbability) {
  config_.input.size = std::pair<int, int>{64, 64};
  EXPECT_EQ(runner_.training_loss(), "cellpose");
  ASSERT_EQ(*CellposeTrainingSide(config_), 48);
  cellpose::SyntheticCellsOptions o;
  o.height = o.width = 48;
  o.count = 4;
  o.min_radius = 5;
  o.max_radius = 8;
  const cellpose::LabelImage labels = cellpose::MakeSyntheticCells(o);
  Image annotation = MakeImage(48, 48, 1, PixelType::kUInt16);
  for (size_t i = 0; i < labels.size(); ++i) {
    annotation.pixels<uint16_t>()[i] = static_cast<uint16_t>(labels.labels[i]);
  }
  auto target = runner_.AnnotationToTarget(annotation, testing::Gray8(48, 48, 0), config_);
  ASSERT_TRUE(target.ok()) << target.status();
  const Tensor& t = (*target)[0];
  ASSERT_EQ(t.shape(), (Shape{1, 3, 64, 64}));
  auto flows = cellpose::MasksToFlows(labels);
  ASSERT_TRUE(flows.ok());
  const float* v = t.data_as<float>();
  int cells = 0;
  for (int y = 0; y < 64; ++y) {
    for (int x = 0; x < 64; ++x) {
      const size_t at = static_cast<size_t>(y) * 64 + x;
      const bool inside = y >= 8 && y < 56 && x >= 8 && x < 56;
      const size_t src = inside ? static_cast<size_t>(y - 8) * 48 + (x - 8) : 0;
      const float dy = inside ? 5 * flows->dy[src] : 0, dx = inside ? 5 * flows->dx[src] : 0;
      const float prob = inside && labels.labels[src] != 0 ? 1 : 0;
      ASSERT_FLOAT_EQ(v[at], dy) << y << "," << x;
      ASSERT_FLOAT_EQ(v[64 * 64 + at], dx) << y << "," << x;
      ASSERT_FLOAT_EQ(v[2 * 64 * 64 + at], prob) << y << "," << x;
      cells += prob > 0;
    }
  }
  EXPECT_GT(cells, 100);
  // The crop Preprocess feeds is one tile.
  EXPECT_EQ(Pre(testing::Gray8(48, 48, 0)).items.size(), 1u);
  // Another size, or a diameter that rescales, is refused.
  EXPECT_EQ(
      runner_.AnnotationToTarget(testing::Gray8(40, 48, 0), testing::Gray8(40, 48, 0), config_)
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  config_.params = {{"diameter", 15.0}};
  EXPECT_EQ(
      runner_.AnnotationToTarget(annotation, testing::Gray8(48, 48, 0), config_).status().code(),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infera
