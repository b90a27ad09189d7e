#include "models/model_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::TempDir;
using testing::WriteFile;

// A model folder `name` with the given model.yaml and empty artifacts for `versions`.
fs::path MakeModel(const fs::path& repo, const std::string& name, const std::string& yaml,
                   std::vector<int> versions = {1}) {
  const fs::path dir = repo / name;
  WriteFile(dir / "model.yaml", yaml);
  for (int v : versions) WriteFile(dir / std::to_string(v) / "model.pt", "x");
  return dir;
}

TEST(ModelConfigTest, FullModelYamlIsParsed) {
  TempDir tmp;
  WriteFile(tmp.path() / "m" / "labels.txt", "cat\ndog\r\n\n");
  fs::path dir = MakeModel(tmp.path(), "m", R"(
backend: torchscript
runner: classify
description: two classes
input:
  name: x
  color: bgr
  size: [32, 48]
  resize: letterbox
  interpolation: nearest
  scale: auto
  mean: [0.5]
  std: [0.25]
  layout: NHWC
  dtype: float32
outputs: [logits, features]
labels: labels.txt
batching: {max_batch_size: 4, max_queue_delay_ms: 0.5, max_queue_size: 10, default_timeout_ms: 100,
           preferred_batch_sizes: [4, 1, 4], batch_timing_budget_ms: 250}
instances: {count: 2, device: cpu, threads: 1}
warmup: {batch_sizes: [1, 4]}
optimize: false
)",
                           {1, 2, 10});
  StatusOr<ModelConfig> c = LoadModelFolder(dir);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->name, "m");
  EXPECT_EQ(c->version, 10);  // highest numeric folder (10 > 2 numerically)
  EXPECT_EQ(c->artifact, dir / "10" / "model.pt");
  EXPECT_EQ(c->input_name, "x");
  EXPECT_EQ(c->input.color, ColorMode::kBgr);
  EXPECT_EQ(c->input.size, (std::pair<int, int>{32, 48}));
  EXPECT_EQ(c->input.interpolation, Interpolation::kNearest);
  EXPECT_EQ(c->input.resize, ResizeMode::kLetterbox);
  EXPECT_FALSE(c->input.scale.has_value());
  EXPECT_EQ(c->input.layout, Layout::kNHWC);
  EXPECT_EQ(c->outputs, (std::vector<std::string>{"logits", "features"}));
  EXPECT_TRUE(c->output_positions.empty());
  EXPECT_EQ(c->labels, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(c->batching.max_batch_size, 4);
  EXPECT_DOUBLE_EQ(c->batching.max_queue_delay_ms, 0.5);
  EXPECT_EQ(c->batching.max_queue_size, 10);
  EXPECT_EQ(c->batching.default_timeout_ms, 100);
  EXPECT_EQ(c->batching.preferred_mode, PreferredBatchSizesMode::kList);
  EXPECT_EQ(c->batching.preferred_batch_sizes, (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(c->batching.batch_timing_budget_ms, 250);
  EXPECT_EQ(c->instances.count, 2);
  EXPECT_EQ(c->instances.threads, 1);
  EXPECT_EQ(c->warmup.batch_sizes, (std::vector<int64_t>{1, 4}));
  EXPECT_FALSE(c->optimize);
}

// `outputs: {name: position}` picks a tuple's elements by place (a traced Cellpose
// network whose flows are not first), in the order written.
TEST(ModelConfigTest, OutputsMayMapNamesToPositions) {
  TempDir tmp;
  StatusOr<ModelConfig> c = LoadModelFolder(MakeModel(tmp.path(), "cp", R"(
runner: cellpose
input: {color: gray, size: [128, 128]}
outputs: {flows: 1, style: 2}
)"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->outputs, (std::vector<std::string>{"flows", "style"}));
  EXPECT_EQ(c->output_positions, (std::vector<int64_t>{1, 2}));
}

TEST(ModelConfigTest, InputWindowForDicomIsCheckedAtLoad) {
  TempDir tmp;
  for (const auto& [yaml, want] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"window: lung", "lung"},
           {"window: [40, 400]", nlohmann::json::array({40.0, 400.0})},
           {"window: file", "file"},
           {"color: gray", nullptr}}) {
    StatusOr<ModelConfig> c =
        LoadModelFolder(MakeModel(tmp.path(), "w", "runner: classify\ninput: {" + yaml + "}\n"));
    ASSERT_TRUE(c.ok()) << yaml << ": " << c.status();
    EXPECT_EQ(c->window, want) << yaml;
  }
  for (const char* bad : {"window: liver", "window: [40]", "window: [40, 0]"}) {
    StatusOr<ModelConfig> c = LoadModelFolder(
        MakeModel(tmp.path(), "w", std::string("runner: classify\ninput: {") + bad + "}\n"));
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_THAT(std::string(c.status().message()), HasSubstr("window")) << bad;
  }
}

TEST(ModelConfigTest, EmptyModelYamlTakesTheImageNetClassifierDefaults) {
  TempDir tmp;
  StatusOr<ModelConfig> c = LoadModelFolder(MakeModel(tmp.path(), "plain", ""));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->runner, "classify");
  EXPECT_EQ(c->backend, "torchscript");
  EXPECT_EQ(c->input.color, ColorMode::kRgb);
  EXPECT_EQ(c->input.size, (std::pair<int, int>{224, 224}));
  EXPECT_EQ(c->input.mean, (std::vector<float>{0.485f, 0.456f, 0.406f}));
  EXPECT_EQ(c->input.std, (std::vector<float>{0.229f, 0.224f, 0.225f}));
  EXPECT_NEAR(*c->input.scale, 1.0 / 255.0, 1e-12);
  EXPECT_EQ(c->input.layout, Layout::kNCHW);
  EXPECT_EQ(c->input.dtype, DType::kFP32);
  EXPECT_EQ(c->batching.preferred_mode, PreferredBatchSizesMode::kAuto);
  EXPECT_EQ(c->batching.batch_timing_budget_ms, 500);
}

TEST(ModelConfigTest, PreferredBatchSizesNoneAndAuto) {
  TempDir tmp;
  StatusOr<ModelConfig> none =
      LoadModelFolder(MakeModel(tmp.path(), "n", "batching: {preferred_batch_sizes: none}\n"));
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->batching.preferred_mode, PreferredBatchSizesMode::kNone);
  StatusOr<ModelConfig> automatic =
      LoadModelFolder(MakeModel(tmp.path(), "a", "batching: {preferred_batch_sizes: auto}\n"));
  ASSERT_TRUE(automatic.ok()) << automatic.status();
  EXPECT_EQ(automatic->batching.preferred_mode, PreferredBatchSizesMode::kAuto);
}

TEST(ModelConfigTest, PinnedVersionIsServedAndMustExist) {
  TempDir tmp;
  StatusOr<ModelConfig> c = LoadModelFolder(MakeModel(tmp.path(), "p", "version: 1\n", {1, 2}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->version, 1);
  StatusOr<ModelConfig> missing = LoadModelFolder(MakeModel(tmp.path(), "q", "version: 5\n", {1}));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("pinned version 5"));
}

// Version policies as Triton's: latest (1 by default), latest N, all, specific.
TEST(ModelConfigTest, VersionPoliciesSelectTheServedVersions) {
  TempDir tmp;
  auto versions = [&](const std::string& name, const std::string& yaml) {
    std::vector<int64_t> out;
    StatusOr<std::vector<ModelConfig>> c =
        LoadModelFolderVersions(MakeModel(tmp.path(), name, yaml, {1, 2, 4}));
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) return out;
    for (const ModelConfig& m : *c) {
      EXPECT_EQ(m.artifact.parent_path().filename().string(), std::to_string(m.version));
      out.push_back(m.version);
    }
    return out;
  };
  EXPECT_EQ(versions("d", ""), (std::vector<int64_t>{4}));
  EXPECT_EQ(versions("l", "version_policy: latest\n"), (std::vector<int64_t>{4}));
  EXPECT_EQ(versions("l2", "version_policy: {latest: 2}\n"), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(versions("l9", "version_policy: {latest: 9}\n"), (std::vector<int64_t>{1, 2, 4}));
  EXPECT_EQ(versions("a", "version_policy: all\n"), (std::vector<int64_t>{1, 2, 4}));
  EXPECT_EQ(versions("s", "version_policy: {specific: [4, 1, 1]}\n"), (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(versions("p", "version: 2\n"), (std::vector<int64_t>{2}));
  // LoadModelFolder gives the newest selected.
  StatusOr<ModelConfig> one = LoadModelFolder(tmp.path() / "s");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->version, 4);

  auto error = [&](const std::string& name, const std::string& yaml) {
    return LoadModelFolderVersions(MakeModel(tmp.path(), name, yaml, {1, 2})).status();
  };
  Status missing = error("m", "version_policy: {specific: [3]}\n");
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.message(), HasSubstr("version_policy: version 3"));
  for (const char* bad : {"version_policy: newest\n", "version_policy: {latest: 0}\n",
                          "version_policy: {specific: []}\n", "version_policy: {specific: [0]}\n",
                          "version_policy: {latest: 1, all: 2}\n", "version_policy: [1]\n",
                          "version: 1\nversion_policy: all\n"}) {
    Status s = error("b", bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr("version_policy")) << bad;
  }
}

TEST(ModelConfigTest, ModelNamesAreSafeInUrls) {
  EXPECT_TRUE(ValidateModelName("mobilenet_v2-1.0").ok());
  for (const char* bad : {"", "a b", "../x", "a/b", ".hidden", "-x", "caf\xc3\xa9"}) {
    EXPECT_EQ(ValidateModelName(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ValidateModelName(std::string(129, 'a')).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ModelConfigTest, NoVersionFolderIsNotFound) {
  TempDir tmp;
  StatusOr<ModelConfig> c = LoadModelFolder(MakeModel(tmp.path(), "empty", "", {}));
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(c.status().message(), HasSubstr("no version folder"));
}

TEST(ModelConfigTest, GrayModelWithoutMeanStdGetsNone) {
  TempDir tmp;
  StatusOr<ModelConfig> c =
      LoadModelFolder(MakeModel(tmp.path(), "g", "input: {color: gray, size: [8, 8]}\n"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->input.mean.empty());
  EXPECT_TRUE(c->input.std.empty());
}

struct BadCase {
  std::string yaml;
  std::string key;  // must appear in the message
  std::string why;  // must appear in the message
};

class ModelYamlErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ModelYamlErrorTest, NamesTheFileTheKeyAndWhy) {
  TempDir tmp;
  fs::path dir = MakeModel(tmp.path(), "bad", GetParam().yaml);
  StatusOr<ModelConfig> c = LoadModelFolder(dir);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), AllOf(HasSubstr((dir / "model.yaml").string()),
                                          HasSubstr(GetParam().key), HasSubstr(GetParam().why)));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ModelYamlErrorTest,
    ::testing::Values(
        BadCase{"bakend: torchscript\n", "bakend", "unknown key"},
        BadCase{"backend: tensorflow\n", "backend", "unknown backend 'tensorflow'"},
        BadCase{"runner: magic\n", "runner", "available: classify"},
        BadCase{"input: {color: rgba}\n", "input.color", "gray, rgb or bgr"},
        BadCase{"input: {size: [224]}\n", "input.size", "[height, width]"},
        BadCase{"input: {size: [0, 10]}\n", "input.size", "between 1"},
        BadCase{"input: {interpolation: cubic}\n", "input.interpolation", "bilinear or nearest"},
        BadCase{"input: {resize: pad}\n", "input.resize", "stretch or letterbox"},
        BadCase{"input: {size: keep, resize: letterbox}\n", "input", "needs a fixed size"},
        BadCase{"runner: cellpose\ninput: {resize: letterbox}\n", "input", "tiles images"},
        BadCase{"input: {scale: -1}\n", "input.scale", "positive"},
        BadCase{"input: {mean: [1, 2]}\n", "input", "mean"},
        BadCase{"input: {std: [0, 1, 1]}\n", "input", "std"},
        BadCase{"input: {layout: CHW}\n", "input.layout", "NCHW or NHWC"},
        BadCase{"input: {dtype: int64}\n", "input.dtype", "float32 or uint8"},
        BadCase{"input: {colour: rgb}\n", "input.colour", "unknown key"},
        BadCase{"batching: {max_batch_size: 0}\n", "batching.max_batch_size", "between 1"},
        BadCase{"batching: {max_batch_size: many}\n", "batching.max_batch_size", "integer"},
        BadCase{"batching: {max_queue_delay_ms: -2}\n", "batching.max_queue_delay_ms", "between"},
        BadCase{"batching: {max_queue_size: 0}\n", "batching.max_queue_size", "between"},
        BadCase{"batching: {timeout: 5}\n", "batching.timeout", "unknown key"},
        BadCase{"batching: {preferred_batch_sizes: some}\n", "batching.preferred_batch_sizes",
                "auto, none or a list"},
        BadCase{"batching: {preferred_batch_sizes: []}\n", "batching.preferred_batch_sizes",
                "auto, none or a list"},
        BadCase{"batching: {max_batch_size: 4, preferred_batch_sizes: [1, 8]}\n",
                "batching.preferred_batch_sizes", "between 1 and max_batch_size (4); got 8"},
        BadCase{"batching: {preferred_batch_sizes: [0]}\n", "batching.preferred_batch_sizes",
                "got 0"},
        BadCase{"batching: {batch_timing_budget_ms: -1}\n", "batching.batch_timing_budget_ms",
                "between"},
        BadCase{"instances: {device: gpu}\n", "instances.device", "cpu or cuda:N"},
        BadCase{"instances: {device: 'cuda:x'}\n", "instances.device", "cpu or cuda:N"},
        BadCase{"instances: {count: 0}\n", "instances.count", "between"},
        BadCase{"warmup: maybe\n", "warmup", "true or false"},
        BadCase{"optimize: sometimes\n", "optimize", "true or false"},
        BadCase{"labels: nope.txt\n", "labels", "cannot read labels file"},
        BadCase{"name: other\n", "name", "differs from the folder name"},
        BadCase{"artifact: ../x.pt\n", "artifact", "plain file name"},
        BadCase{"outputs: logits\n", "outputs", "list of strings"},
        BadCase{"outputs: [a, b, a]\n", "outputs", "'a' is named twice"},
        BadCase{"outputs: {flows: first}\n", "outputs.flows", "integer"},
        BadCase{"outputs: {flows: -1}\n", "outputs.flows", "between 0"},
        BadCase{"outputs: {}\n", "outputs", "at least one"},
        BadCase{"runner: binary_sigmoid\nparams: {threshold: 2}\n", "params", "threshold"},
        BadCase{"runner: binary_sigmoid\nparams: {thresh: 0.3}\n", "params", "thresh"},
        BadCase{"params: [1, 2]\n", "params", "mapping"},
        BadCase{"params: {a: {b: 1}}\n", "params.a", "a value or a list"},
        BadCase{"- a\n- b\n", "", "must be a mapping"}));

TEST(ModelConfigTest, ParamsAreTheRunnersDefaultsForTheModel) {
  TempDir tmp;
  fs::path dir = MakeModel(tmp.path(), "det", R"(
runner: binary_sigmoid
params:
  threshold: 0.3
  output_is_probability: true
)");
  StatusOr<ModelConfig> c = LoadModelFolder(dir);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->params, (nlohmann::json{{"threshold", 0.3}, {"output_is_probability", true}}));
  // Quoted scalars stay strings; lists keep their items' types.
  dir = MakeModel(tmp.path(), "cp", "runner: cellpose\nparams: {channels: [0, 0], diameter: 30}\n");
  c = LoadModelFolder(dir);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->params["channels"], nlohmann::json::array({0, 0}));
  EXPECT_EQ(c->params["diameter"], 30);
}

TEST(ModelConfigTest, OnnxBackendReadsModelOnnx) {
  TempDir tmp;
  WriteFile(tmp.path() / "m" / "model.yaml", "backend: onnx\n");
  WriteFile(tmp.path() / "m" / "1" / "model.pt", "x");
  EXPECT_EQ(LoadModelFolder(tmp.path() / "m").status().code(), absl::StatusCode::kNotFound);
  WriteFile(tmp.path() / "m" / "2" / "model.onnx", "x");
  StatusOr<ModelConfig> c = LoadModelFolder(tmp.path() / "m");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->version, 2);
  EXPECT_EQ(c->artifact.filename(), "model.onnx");
  EXPECT_EQ(DefaultArtifactName("torchscript"), "model.pt");
}

TEST(ModelConfigTest, YamlSyntaxErrorNamesTheFileAndLine) {
  TempDir tmp;
  fs::path dir = MakeModel(tmp.path(), "syntax", "input: {color: rgb\nbatching: [\n");
  StatusOr<ModelConfig> c = LoadModelFolder(dir);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr((dir / "model.yaml").string() + ":"));
}

}  // namespace
}  // namespace infera
