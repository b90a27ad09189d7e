// The onnx backend (OpenCV DNN) on small graphs built here: the import step runs at
// load (Clip's min/max inputs, a dynamic batch), any batch size and back, outputs by
// name, and errors that name the node and op.
#include "backends/onnx/onnx_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backends/backend_registry.h"
#include "onnx_import/model_builder.h"
#include "support/test_env.h"

namespace infera {
namespace {

using ::testing::HasSubstr;
using testing::ModelBuilder;

// x [N,1,2,2] -> Conv (1x1, weight 2, bias 1) -> Clip(min 0, max 6 as inputs, opset 11)
// -> y; and x -> Sigmoid -> s. What ONNX exporters write, and OpenCV 4.6 refuses as is.
std::string ClipModel() {
  ModelBuilder b(11);
  b.Input("x", {-1, 1, 2, 2}).Output("y", {-1, 1, 2, 2}).Output("s", {-1, 1, 2, 2});
  b.FloatInit("w", {1, 1, 1, 1}, {2.0f});
  b.FloatInit("bias", {1}, {1.0f});
  b.FloatInit("lo", {}, {0.0f});
  b.FloatInit("hi", {}, {6.0f});
  testing::AddIntsAttr(b.Node("Conv", {"x", "w", "bias"}, {"c"}, "conv_1"), "kernel_shape", {1, 1});
  b.Node("Clip", {"c", "lo", "hi"}, {"y"}, "clip_1");
  b.Node("Sigmoid", {"x"}, {"s"}, "sigmoid_1");
  return b.Bytes();
}

std::unique_ptr<Backend> Load(const std::string& bytes, std::vector<std::string> outputs = {},
                              Status* status = nullptr, bool optimize = true,
                              std::vector<int> positions = {}) {
  static testing::TempDir* dir = new testing::TempDir();
  static int n = 0;
  const auto path = dir->path() / ("m" + std::to_string(n++) + ".onnx");
  testing::WriteFile(path, bytes);
  BackendOptions options;
  options.model_name = "m";
  options.artifact = path;
  options.input_shape = {1, 2, 2};
  options.output_names = std::move(outputs);
  options.optimize = optimize;
  options.output_positions = std::move(positions);
  StatusOr<std::unique_ptr<Backend>> backend = CreateBackend("onnx", options);
  if (status != nullptr) *status = backend.status();
  return backend.ok() ? std::move(*backend) : nullptr;
}

Tensor Input(int64_t batch, float first) {
  Tensor t(DType::kFP32, {batch, 1, 2, 2});
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data_as<float>()[i] = first + i;
  return t;
}

TEST(OnnxBackendTest, RunsAGraphOpenCvRefusesAsExportedAtEveryBatchSize) {
  for (const bool optimize : {true, false}) {
    SCOPED_TRACE(optimize ? "layer fusion" : "optimize: false");
    Status status;
    std::unique_ptr<Backend> backend = Load(ClipModel(), {"y"}, &status, optimize);
    ASSERT_NE(backend, nullptr) << status;
    EXPECT_GT(backend->weight_bytes(), 0);
    EXPECT_EQ(backend->graph_optimization(), optimize ? "layer fusion" : "none (optimize: false)");
    // Batch sizes change and come back: each result is the graph's.
    for (int64_t batch : {1, 3, 1, 2, 3}) {
      std::vector<Tensor> inputs{Input(batch, -2.0f)};
      StatusOr<std::vector<Tensor>> out = backend->Execute(inputs);
      ASSERT_TRUE(out.ok()) << out.status();
      ASSERT_EQ(out->size(), 1u);
      const Tensor& y = (*out)[0];
      ASSERT_EQ(y.shape(), (Shape{batch, 1, 2, 2}));
      for (int64_t i = 0; i < y.num_elements(); ++i) {
        const float x = -2.0f + static_cast<float>(i);
        EXPECT_FLOAT_EQ(y.data_as<float>()[i], std::clamp(2.0f * x + 1.0f, 0.0f, 6.0f)) << i;
      }
    }
  }
}

TEST(OnnxBackendTest, OutputsByGraphName) {
  std::unique_ptr<Backend> both = Load(ClipModel());
  ASSERT_NE(both, nullptr);
  std::vector<Tensor> inputs{Input(1, 0.0f)};
  StatusOr<std::vector<Tensor>> out = both->Execute(inputs);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 2u);                            // every graph output, in graph order
  EXPECT_FLOAT_EQ((*out)[1].data_as<float>()[0], 0.5f);  // sigmoid(0)
  EXPECT_EQ(both->input_names(), (std::vector<std::string>{"x"}));
  EXPECT_EQ(both->output_names(), (std::vector<std::string>{"y", "s"}));

  std::unique_ptr<Backend> s_only = Load(ClipModel(), {"s"});
  ASSERT_NE(s_only, nullptr);
  std::vector<Tensor> again{Input(1, 0.0f)};
  out = s_only->Execute(again);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_FLOAT_EQ((*out)[0].data_as<float>()[0], 0.5f);
  EXPECT_EQ(s_only->output_names(), (std::vector<std::string>{"s"}));

  Status status;
  EXPECT_EQ(Load(ClipModel(), {"logits"}, &status), nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("no output 'logits'"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("y, s"));
}

// model.yaml's `outputs: {name: position}` picks graph outputs by their place.
TEST(OnnxBackendTest, OutputsByPosition) {
  Status status;
  std::unique_ptr<Backend> s_first = Load(ClipModel(), {"prob"}, &status, true, {1});
  ASSERT_NE(s_first, nullptr) << status;
  std::vector<Tensor> inputs{Input(1, 0.0f)};
  StatusOr<std::vector<Tensor>> out = s_first->Execute(inputs);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_FLOAT_EQ((*out)[0].data_as<float>()[0], 0.5f);  // sigmoid(0): graph output #1
  EXPECT_EQ(s_first->output_names(), (std::vector<std::string>{"s"}));

  EXPECT_EQ(Load(ClipModel(), {"prob"}, &status, true, {2}), nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("no output at position 2 (it has 2)"));
}

TEST(OnnxBackendTest, RefusesWrongInputs) {
  std::unique_ptr<Backend> backend = Load(ClipModel(), {"y"});
  ASSERT_NE(backend, nullptr);
  std::vector<Tensor> ints{Tensor(DType::kUInt8, {1, 1, 2, 2})};
  StatusOr<std::vector<Tensor>> out = backend->Execute(ints);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("FP32"));
  std::vector<Tensor> two{Input(1, 0), Input(1, 0)};
  EXPECT_EQ(backend->Execute(two).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(OnnxBackendTest, UnsupportedOpsAreListedAtLoad) {
  ModelBuilder b(13);
  b.Input("x", {-1, 1, 2, 2}).Output("y", {-1, 1, 2, 2});
  b.Node("Einsum", {"x"}, {"y"}, "einsum_1");
  Status status;
  EXPECT_EQ(Load(b.Bytes(), {}, &status), nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("Einsum"));
  EXPECT_THAT(std::string(status.message()), HasSubstr(".onnx"));
}

// A graph OpenCV accepts op by op but cannot build: the message names the node and op,
// without OpenCV's source paths.
TEST(OnnxBackendTest, OpenCvErrorsNameTheNodeAndOp) {
  ModelBuilder b(13);
  b.Input("x", {-1, 1, 2, 2}).Output("y", {-1, 1, 2, 2});
  b.FloatInit("w", {1, 1, 3}, {1.0f, 1.0f, 1.0f});  // a 1-D kernel for a 2-D input
  b.Node("Conv", {"x", "w"}, {"y"}, "bad_conv");
  Status status;
  std::unique_ptr<Backend> backend = Load(b.Bytes(), {}, &status);
  if (backend != nullptr) {  // OpenCV may only notice when it runs
    std::vector<Tensor> inputs{Input(1, 0)};
    status = backend->Execute(inputs).status();
  }
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("bad_conv"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("Conv"));
  EXPECT_THAT(std::string(status.message()), ::testing::Not(HasSubstr(".cpp")));
}

TEST(OnnxBackendTest, NotAnOnnxFile) {
  Status status;
  EXPECT_EQ(Load("not a model", {}, &status), nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr(".onnx"));
}

}  // namespace
}  // namespace infera
