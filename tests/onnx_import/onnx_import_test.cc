#include "onnx_import/onnx_import.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "common/strings.h"
#include "onnx_import/model_builder.h"

namespace infera {
namespace {

using onnx::ModelProto;
using onnx::NodeProto;
using onnx::TensorProto;
using testing::AddIntAttr;
using testing::AddIntsAttr;
using ::testing::HasSubstr;
using testing::ModelBuilder;

const onnx::AttributeProto* Attr(const NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

ModelProto Parse(const std::string& bytes) {
  ModelProto m;
  EXPECT_TRUE(m.ParseFromString(bytes));
  return m;
}

std::vector<int64_t> Dims(const onnx::ValueInfoProto& v) {
  std::vector<int64_t> dims;
  for (const auto& d : v.type().tensor_type().shape().dim()) {
    dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
  }
  return dims;
}

std::vector<float> FloatsOf(const TensorProto& t) {
  EXPECT_EQ(t.data_type(), TensorProto::FLOAT);
  if (!t.has_raw_data()) return {t.float_data().begin(), t.float_data().end()};
  std::vector<float> out(t.raw_data().size() / sizeof(float));
  std::memcpy(out.data(), t.raw_data().data(), out.size() * sizeof(float));
  return out;
}

// x[1,3,4,4] -> Conv(w) -> Relu -> y: a model OpenCV 4.6 takes as it is.
ModelBuilder CleanModel() {
  ModelBuilder b;
  b.Input("x", {1, 3, 4, 4}).Output("y", {1, 2, 4, 4});
  b.FloatInit("w", {2, 3, 1, 1}, {1, 2, 3, 4, 5, 6});
  b.Node("Conv", {"x", "w"}, {"c"}, "conv");
  b.Node("Relu", {"c"}, {"y"}, "relu");
  return b;
}

TEST(OnnxImportTest, RejectsBytesThatAreNotOnnx) {
  OnnxImportReport report;
  for (const std::string& bytes :
       {std::string("hello, world"), std::string(), std::string("\x08\x07", 2),
        std::string("\xff\xff\xff\xff", 4)}) {
    auto result = ImportOnnx(bytes, {}, &report);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
    EXPECT_THAT(std::string(result.status().message()), HasSubstr("not an ONNX model"));
  }
}

TEST(OnnxImportTest, CleanModelComesBackUnchanged) {
  ModelBuilder b = CleanModel();
  OnnxImportReport report;
  auto result = ImportOnnx(b.Bytes(), {}, &report);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(report.changes.empty()) << StrJoin(report.changes, "\n");
  EXPECT_TRUE(report.unsupported.empty());
  EXPECT_TRUE(report.warnings.empty());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(Parse(*result), b.model()));
  EXPECT_EQ(report.opset, 13);
  ASSERT_EQ(report.inputs.size(), 1u);
  EXPECT_EQ(report.inputs[0].name, "x");
  EXPECT_EQ(report.inputs[0].dtype, "float32");
  EXPECT_EQ(report.inputs[0].shape, (std::vector<int64_t>{1, 3, 4, 4}));
  ASSERT_EQ(report.outputs.size(), 1u);
  EXPECT_EQ(report.outputs[0].shape, (std::vector<int64_t>{1, 2, 4, 4}));
}

TEST(OnnxImportTest, NullReportIsAllowed) {
  EXPECT_TRUE(ImportOnnx(CleanModel().Bytes(), {}, nullptr).ok());
}

TEST(OnnxImportTest, ClipBoundInputsBecomeAttributes) {
  ModelBuilder b(11);
  b.Input("x", {1, 4}).Output("y", {1, 4});
  b.FloatInit("lo", {}, {0.f});
  NodeProto& six = b.Node("Constant", {}, {"hi"}, "six");
  auto* value = six.add_attribute();
  value->set_name("value");
  value->set_type(onnx::AttributeProto::TENSOR);
  value->mutable_t()->set_data_type(TensorProto::FLOAT);
  value->mutable_t()->add_float_data(6.f);
  b.Node("Clip", {"x", "lo", "hi"}, {"c"}, "clip_3");
  b.Node("Clip", {"c", "", "hi"}, {"y"}, "clip_max_only");
  OnnxImportReport report;
  auto result = ImportOnnx(b.Bytes(), {}, &report);
  ASSERT_TRUE(result.ok()) << result.status();
  ModelProto out = Parse(*result);
  ASSERT_EQ(out.graph().node_size(), 2);  // the Constant only fed the bounds
  const NodeProto& clip = out.graph().node(0);
  EXPECT_EQ(clip.input_size(), 1);
  ASSERT_NE(Attr(clip, "min"), nullptr);
  ASSERT_NE(Attr(clip, "max"), nullptr);
  EXPECT_EQ(Attr(clip, "min")->type(), onnx::AttributeProto::FLOAT);
  EXPECT_EQ(Attr(clip, "min")->f(), 0.f);
  EXPECT_EQ(Attr(clip, "max")->f(), 6.f);
  const NodeProto& max_only = out.graph().node(1);
  EXPECT_EQ(max_only.input_size(), 1);
  EXPECT_EQ(Attr(max_only, "min")->f(), std::numeric_limits<float>::lowest());
  EXPECT_EQ(Attr(max_only, "max")->f(), 6.f);
  EXPECT_EQ(out.opset_import(0).version(), 11);  // kept: OpenCV reads the attributes anyway
  ASSERT_EQ(report.changes.size(), 3u) << StrJoin(report.changes, "\n");
  EXPECT_EQ(report.changes[0], "Clip 'clip_3': min/max inputs -> attributes (0, 6)");
  EXPECT_THAT(report.changes[1], HasSubstr("Clip 'clip_max_only'"));
  EXPECT_THAT(report.changes[2], HasSubstr("removed 1 nodes"));
}

TEST(OnnxImportTest, ClipWithComputedBoundsIsUnsupported) {
  ModelBuilder b(13);
  b.Input("x", {1, 4}).Input("m", {1}).Output("y", {1, 4});
  b.Node("Clip", {"x", "m"}, {"y"}, "clip_dyn");
  OnnxImportReport report;
  auto result = ImportOnnx(b.Bytes(), {}, &report);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("clip_dyn"));
  ASSERT_EQ(report.unsupported.size(), 1u);
  EXPECT_THAT(report.unsupported[0], HasSubstr("not constant"));
  EXPECT_TRUE(report.changes.empty());
}

TEST(OnnxImportTest, UnsupportedOpsAreAllListed) {
  ModelBuilder b(13);
  b.Input("boxes", {1, 10, 4}).Input("scores", {1, 1, 10}).Output("sel", {-1, 3});
  b.Output("z", {1, 10, 4});
  b.Node("NonMaxSuppression", {"boxes", "scores"}, {"sel"}, "nms_1");
  NodeProto& custom = b.Node("FancyOp", {"boxes"}, {"z"}, "fancy");
  custom.set_domain("com.example");
  auto* opset = b.model().add_opset_import();
  opset->set_domain("com.example");
  opset->set_version(1);
  OnnxImportReport report;
  auto result = ImportOnnx(b.Bytes(), {}, &report);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  const std::string message(result.status().message());
  EXPECT_THAT(message, HasSubstr("NonMaxSuppression (1 node, first 'nms_1')"));
  EXPECT_THAT(message, HasSubstr("com.example.FancyOp (1 node, first 'fancy')"));
  EXPECT_EQ(report.unsupported.size(), 2u);
}

TEST(OnnxImportTest, KnowsOpenCvsOpTable) {
  EXPECT_TRUE(OpenCvSupportsOnnxOp("", "Conv"));
  EXPECT_TRUE(OpenCvSupportsOnnxOp("ai.onnx", "Resize"));
  EXPECT_TRUE(OpenCvSupportsOnnxOp("com.microsoft", "QLinearAdd"));
  EXPECT_FALSE(OpenCvSupportsOnnxOp("", "Where"));  // OpenCV 4.7+
  EXPECT_FALSE(OpenCvSupportsOnnxOp("", "NonMaxSuppression"));
  EXPECT_FALSE(OpenCvSupportsOnnxOp("com.microsoft", "Conv"));
  EXPECT_FALSE(OpenCvSupportsOnnxOp("com.example", "Relu"));
}

TEST(OnnxImportTest, FixesDynamicInputShapes) {
  ModelBuilder b;
  b.Input("x", {-1, 3, -1, -1}).Output("y", {-1, 3, -1, -1});
  b.Node("Relu", {"x"}, {"y"}, "relu");
  OnnxImportOptions options;
  options.input_shapes = {{"", {1, 3, 8, 16}}};
  OnnxImportReport report;
  auto result = ImportOnnx(b.Bytes(), options, &report);
  ASSERT_TRUE(result.ok()) << result.status();
  ModelProto out = Parse(*result);
  EXPECT_EQ(Dims(out.graph().input(0)), (std::vector<int64_t>{1, 3, 8, 16}));
  ASSERT_EQ(report.changes.size(), 1u);
  EXPECT_EQ(report.changes[0], "input 'x': shape [-1, 3, -1, -1] -> [1, 3, 8, 16] (-1: dynamic)");
  EXPECT_EQ(report.inputs[0].shape, (std::vector<int64_t>{1, 3, 8, 16}));
  EXPECT_EQ(report.outputs[0].shape, (std::vector<int64_t>{1, 3, 8, 16}));
}

TEST(OnnxImportTest, FreeBatchIsDeclaredAsOptionsBatch) {
  ModelBuilder b;
  b.Input("x", {-1, 3, 8, 8}).Output("y", {-1, 3, 8, 8});
  b.Node("Relu", {"x"}, {"y"}, "relu");
  OnnxImportReport report;
  // Not listed: the dynamic batch stays free.
  auto result = ImportOnnx(b.Bytes(), {}, &report);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Dims(Parse(*result).graph().input(0)), (std::vector<int64_t>{2, 3, 8, 8}));
  EXPECT_EQ(report.inputs[0].shape, (std::vector<int64_t>{-1, 3, 8, 8}));
  EXPECT_EQ(report.outputs[0].shape, (std::vector<int64_t>{-1, 3, 8, 8}));
  ASSERT_EQ(report.changes.size(), 1u);
  EXPECT_THAT(report.changes[0], HasSubstr("batch declared as 2"));
  // Listed with -1, and another declared batch.
  OnnxImportOptions options;
  options.input_shapes = {{"x", {-1, 3, 8, 8}}};
  options.batch = 3;
  result = ImportOnnx(b.Bytes(), options, &report);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Dims(Parse(*result).graph().input(0)), (std::vector<int64_t>{3, 3, 8, 8}));
}

TEST(OnnxImportTest, RejectsShapeOptionsThatDoNotFit) {
  ModelBuilder b;
  b.Input("x", {-1, 3, -1, -1}).Output("y", {-1, 3, -1, -1});
  b.Node("Relu", {"x"}, {"y"}, "relu");
  const std::vector<
      std::pair<std::vector<std::pair<std::string, std::vector<int64_t>>>, std::string>>
      cases = {
          {{{"x", {1, 3, 8}}}, "rank"},
          {{{"x", {1, 4, 8, 8}}}, "dim 1 is 3"},
          {{{"nope", {1, 3, 8, 8}}}, "'nope', which is not a graph input"},
          {{{"x", {1, 3, 0, 8}}}, "positive"},
          {{{"x", {1, 3, -1, 8}}}, "positive"},
          {{}, "dynamic dims [-1, 3, -1, -1]"},  // not listed, H and W dynamic
      };
  for (const auto& [shapes, expected] : cases) {
    OnnxImportOptions options;
    options.input_shapes = shapes;
    auto result = ImportOnnx(b.Bytes(), options, nullptr);
    ASSERT_FALSE(result.ok()) << expected;
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(expected));
  }
}

// x[N,4,2,2] -> Shape -> Gather(0) -> Unsqueeze -> Concat(.., [-1]) -> Reshape(x, ..) -> y
TEST(OnnxImportTest, FoldsReshapeTargetFromShapeKeepingTheBatchFree) {
  ModelBuilder b(11);
  b.Input("x", {-1, 4, 2, 2}).Output("y", {-1, 16});
  b.IntInit("zero", {}, {0});
  b.IntInit("minus_one", {1}, {-1});
  b.Node("Shape", {"x"}, {"s"}, "shape");
  b.Node("Gather", {"s", "zero"}, {"n"}, "gather");
  AddIntsAttr(b.Node("Unsqueeze", {"n"}, {"n1"}, "unsq"), "axes", {0});
  AddIntAttr(b.Node("Concat", {"n1", "minus_one"}, {"target"}, "concat"), "axis", 0);
  b.Node("Reshape", {"x", "target"}, {"y"}, "reshape");
  OnnxImportReport report;
  auto result = ImportOnnx(b.Bytes(), {}, &report);
  ASSERT_TRUE(result.ok()) << result.status();
  ModelProto out = Parse(*result);
  ASSERT_EQ(out.graph().node_size(), 1) << StrJoin(report.changes, "\n");
  const NodeProto& reshape = out.graph().node(0);
  EXPECT_EQ(reshape.op_type(), "Reshape");
  const TensorProto* target = nullptr;
  for (const auto& t : out.graph().initializer()) {
    if (t.name() == reshape.input(1)) target = &t;
  }
  ASSERT_NE(target, nullptr);
  EXPECT_EQ(std::vector<int64_t>(target->int64_data().begin(), target->int64_data().end()),
            (std::vector<int64_t>{0, -1}));
  ASSERT_EQ(report.changes.size(), 3u) << StrJoin(report.changes, "\n");
  EXPECT_THAT(report.changes[1],
              HasSubstr("Reshape 'reshape': target computed from Shape -> constant [0, -1]"));
  EXPECT_THAT(report.changes[2], HasSubstr("removed 4 nodes"));
  EXPECT_EQ(report.outputs[0].shape, (std::vector<int64_t>{-1, 16}));
}

// A target whose batch element is a product (N*4) cannot be a 0-copy: it becomes -1.
TEST(OnnxImportTest, FoldsComputedBatchElementToMinusOne) {
  ModelBuilder b(13);
  b.Input("x", {-1, 4, 2, 2}).Output("y", {-1, 4});
  b.IntInit("zero", {1}, {0});
  b.IntInit("four", {1}, {4});
  b.Node("Shape", {"x"}, {"s"}, "shape");
  b.Node("Gather", {"s", "zero"}, {"n"}, "gather");
  b.Node("Mul", {"n", "four"}, {"n4"}, "mul");
  AddIntAttr(b.Node("Concat", {"n4", "four"}, {"target"}, "concat"), "axis", 0);
  b.Node("Reshape", {"x", "target"}, {"y"}, "reshape");
  OnnxImportReport report;
  auto result = ImportOnnx(b.Bytes(), {}, &report);
  ASSERT_TRUE(result.ok()) << result.status();
  ModelProto out = Parse(*result);
  ASSERT_EQ(out.graph().node_size(), 1);
  const TensorProto& target = out.graph().initializer(out.graph().initializer_size() - 1);
  EXPECT_EQ(target.name(), out.graph().node(0).input(1));
  EXPECT_EQ(std::vector<int64_t>(target.int64_data().begin(), target.int64_data().end()),
            (std::vector<int64_t>{-1, 4}));
}

uint16_t HalfBits(std::string_view which) {
  if (which == "1.5") return 0x3e00;
  if (which == "-2") return 0xc000;
  if (which == "65504") return 0x7bff;
  if (which == "min_subnormal") return 0x0001;  // 2^-24
  if (which == "max_subnormal") return 0x03ff;  // 1023 * 2^-24
  if (which == "-0") return 0x8000;
  return 0x7c00;  // +inf
}

TEST(OnnxImportTest, ConvertsFp16ToFp32) {
  ModelBuilder b;
  b.Input("x", {1, 7}, TensorProto::FLOAT16).Output("y", {1, 7}, TensorProto::FLOAT16);
  const std::vector<std::string_view> names = {"1.5",           "-2", "65504", "min_subnormal",
                                               "max_subnormal", "-0", "inf"};
  TensorProto* w = b.model().mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(TensorProto::FLOAT16);
  w->add_dims(7);
  std::string raw;
  for (auto n : names) {
    const uint16_t h = HalfBits(n);
    raw.append(reinterpret_cast<const char*>(&h), 2);
  }
  w->set_raw_data(raw);
  NodeProto& c = b.Node("Constant", {}, {"k"}, "k");
  auto* value = c.add_attribute();
  value->set_name("value");
  value->set_type(onnx::AttributeProto::TENSOR);
  value->mutable_t()->set_data_type(TensorProto::FLOAT16);
  value->mutable_t()->add_dims(1);
  value->mutable_t()->add_int32_data(HalfBits("1.5"));  // FP16 in int32_data, as ONNX allows
  b.Node("Add", {"x", "w"}, {"a"}, "add");
  b.Node("Mul", {"a", "k"}, {"m"}, "mul");
  AddIntAttr(b.Node("Cast", {"m"}, {"y"}, "to_half"), "to", TensorProto::FLOAT16);
  OnnxImportReport report;
  auto result = ImportOnnx(b.Bytes(), {}, &report);
  ASSERT_TRUE(result.ok()) << result.status();
  ModelProto out = Parse(*result);
  const std::vector<float> values = FloatsOf(out.graph().initializer(0));
  const std::vector<float> expected = {1.5f,
                                       -2.f,
                                       65504.f,
                                       5.9604644775390625e-8f,
                                       6.0975551605224609375e-5f,
                                       -0.f,
                                       std::numeric_limits<float>::infinity()};
  ASSERT_EQ(values.size(), expected.size());
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(values[i], expected[i]) << names[i];
  EXPECT_TRUE(std::signbit(values[5]));
  EXPECT_EQ(FloatsOf(Attr(out.graph().node(0), "value")->t()), std::vector<float>{1.5f});
  EXPECT_EQ(Attr(out.graph().node(3), "to")->i(), TensorProto::FLOAT);
  EXPECT_EQ(out.graph().input(0).type().tensor_type().elem_type(), TensorProto::FLOAT);
  EXPECT_EQ(out.graph().output(0).type().tensor_type().elem_type(), TensorProto::FLOAT);
  EXPECT_EQ(report.inputs[0].dtype, "float32");
  ASSERT_EQ(report.changes.size(), 4u) << StrJoin(report.changes, "\n");
  EXPECT_EQ(report.changes[0], "FP16 -> FP32: 1 initializers (first 'w'), 7 values in all");
}

TEST(OnnxImportTest, SortsShuffledNodesTopologically) {
  ModelBuilder sorted = CleanModel();
  sorted.Node("Sigmoid", {"y"}, {"z"}, "sig");
  sorted.Node("Neg", {"z"}, {"out"}, "neg");
  sorted.model().mutable_graph()->mutable_output(0)->set_name("out");
  ModelBuilder shuffled = sorted;
  auto* nodes = shuffled.model().mutable_graph()->mutable_node();
  std::reverse(nodes->begin(), nodes->end());  // neg, sig, relu, conv
  nodes->SwapElements(0, 1);                   // sig, neg, relu, conv
  OnnxImportReport report;
  auto result = ImportOnnx(shuffled.Bytes(), {}, &report);
  ASSERT_TRUE(result.ok()) << result.status();
  ModelProto out = Parse(*result);
  std::vector<std::string> order;
  for (const auto& n : out.graph().node()) order.push_back(n.name());
  EXPECT_EQ(order, (std::vector<std::string>{"conv", "relu", "sig", "neg"}));
  ASSERT_EQ(report.changes.size(), 1u);
  EXPECT_EQ(report.changes[0], "nodes put in topological order (4 of 4 nodes moved)");
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(out, sorted.model()));
}

TEST(OnnxImportTest, RejectsCyclesAndUndefinedInputs) {
  ModelBuilder cycle;
  cycle.Input("x", {1, 4}).Output("y", {1, 4});
  cycle.Node("Add", {"x", "b"}, {"a"}, "first");
  cycle.Node("Relu", {"a"}, {"b"}, "second");
  cycle.Node("Relu", {"a"}, {"y"}, "third");
  auto result = ImportOnnx(cycle.Bytes(), {}, nullptr);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("cycle"));
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("'first'"));

  ModelBuilder undefined;
  undefined.Input("x", {1, 4}).Output("y", {1, 4});
  undefined.Node("Add", {"x", "ghost"}, {"y"}, "adder");
  result = ImportOnnx(undefined.Bytes(), {}, nullptr);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()),
              HasSubstr("node 'adder' (Add) reads 'ghost'"));

  ModelBuilder twice;
  twice.Input("x", {1, 4}).Output("y", {1, 4});
  twice.Node("Relu", {"x"}, {"y"}, "one");
  twice.Node("Neg", {"x"}, {"y"}, "two");
  result = ImportOnnx(twice.Bytes(), {}, nullptr);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("already defined"));
}

}  // namespace
}  // namespace infera
