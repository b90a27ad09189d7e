#include "onnx_import/onnx_import.h"

#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <bit>
#include <climits>
#include <cmath>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "common/strings.h"
#include "tensor/tensor.h"

namespace infera {
namespace {

static_assert(std::endian::native == std::endian::little, "ONNX raw_data is little-endian");

using onnx::AttributeProto;
using onnx::GraphProto;
using onnx::ModelProto;
using onnx::NodeProto;
using onnx::TensorProto;
using onnx::TensorShapeProto;
using onnx::ValueInfoProto;

// The op types OpenCV 4.6.0's ONNX importer (modules/dnn/src/onnx/onnx_importer.cpp)
// builds a layer for: the names of ONNXImporter::buildDispatchMap_ONNX_AI (with its
// `simpleLayers` list) and buildDispatchMap_COM_MICROSOFT. Any other op type goes to
// parseCustomLayer, which only works when a layer of that exact name is registered; of
// the standard names that holds for Mish, Swish and Not (layers of OpenCV's own), which
// are listed here too. The table is what Debian's libopencv-dnn406 4.6.0+dfsg-12 accepts,
// probed when this file was written by loading a one-node model of every ONNX op type
// (libonnx's schema list) and recording which ones made OpenCV log "unknown node type".
// Newer OpenCV tables (4.7+) add e.g. Where, Scatter*,
// GatherElements, Tile, Range, TopK, Einsum, LayerNormalization, GreaterOrEqual, And/Or.
// Sorted (checked below).
constexpr std::string_view kOpenCvOnnxOps[] = {"Abs",
                                               "Acos",
                                               "Acosh",
                                               "Add",
                                               "ArgMax",
                                               "ArgMin",
                                               "Asin",
                                               "Asinh",
                                               "Atan",
                                               "Atanh",
                                               "AveragePool",
                                               "BatchNormalization",
                                               "Cast",
                                               "Ceil",
                                               "Celu",
                                               "Clip",
                                               "Concat",
                                               "Constant",
                                               "ConstantFill",
                                               "ConstantOfShape",
                                               "Conv",
                                               "ConvTranspose",
                                               "Cos",
                                               "Cosh",
                                               "CumSum",
                                               "DepthToSpace",
                                               "DequantizeLinear",
                                               "DetectionOutput",
                                               "Div",
                                               "Dropout",
                                               "Elu",
                                               "Equal",
                                               "Erf",
                                               "Exp",
                                               "Expand",
                                               "Flatten",
                                               "Floor",
                                               "GRU",
                                               "Gather",
                                               "Gemm",
                                               "GlobalAveragePool",
                                               "GlobalMaxPool",
                                               "Greater",
                                               "HardSigmoid",
                                               "HardSwish",
                                               "Identity",
                                               "ImageScaler",
                                               "InstanceNormalization",
                                               "LRN",
                                               "LSTM",
                                               "LeakyRelu",
                                               "Less",
                                               "Log",
                                               "LogSoftmax",
                                               "MatMul",
                                               "Max",
                                               "MaxPool",
                                               "MaxUnpool",
                                               "Min",
                                               "Mish",
                                               "Mul",
                                               "Neg",
                                               "Not",
                                               "PRelu",
                                               "Pad",
                                               "Pow",
                                               "QLinearConv",
                                               "QLinearMatMul",
                                               "QuantizeLinear",
                                               "Reciprocal",
                                               "ReduceL1",
                                               "ReduceL2",
                                               "ReduceLogSum",
                                               "ReduceLogSumExp",
                                               "ReduceMax",
                                               "ReduceMean",
                                               "ReduceMin",
                                               "ReduceProd",
                                               "ReduceSum",
                                               "ReduceSumSquare",
                                               "Relu",
                                               "Reshape",
                                               "Resize",
                                               "Round",
                                               "Selu",
                                               "Shape",
                                               "Shrink",
                                               "Sigmoid",
                                               "Sign",
                                               "Sin",
                                               "Sinh",
                                               "Slice",
                                               "SoftMax",
                                               "Softmax",
                                               "Softplus",
                                               "Softsign",
                                               "SpaceToDepth",
                                               "Split",
                                               "Sqrt",
                                               "Squeeze",
                                               "Sub",
                                               "Sum",
                                               "Swish",
                                               "Tan",
                                               "Tanh",
                                               "ThresholdedRelu",
                                               "Transpose",
                                               "Unsqueeze",
                                               "Upsample"};
static_assert(std::is_sorted(std::begin(kOpenCvOnnxOps), std::end(kOpenCvOnnxOps)));
constexpr std::string_view kOpenCvMicrosoftOps[] = {
    "QLinearAdd",       "QLinearAveragePool", "QLinearConcat", "QLinearGlobalAveragePool",
    "QLinearLeakyRelu", "QLinearMul",         "QLinearSigmoid"};

static_assert(std::is_sorted(std::begin(kOpenCvMicrosoftOps), std::end(kOpenCvMicrosoftOps)));

bool IsDefaultDomain(std::string_view domain) { return domain.empty() || domain == "ai.onnx"; }

std::string NodeLabel(const NodeProto& node) {
  if (!node.name().empty()) return StrCat("'", node.name(), "'");
  if (node.output_size() > 0) return StrCat("(", node.op_type(), " -> '", node.output(0), "')");
  return StrCat("(", node.op_type(), ")");
}

std::string ShapeText(const std::vector<int64_t>& dims) {
  return StrCat("[", StrJoin(dims, ", "), "]");
}

std::string DtypeName(int32_t elem_type) {
  switch (elem_type) {
    case TensorProto::FLOAT:
      return "float32";
    case TensorProto::FLOAT16:
      return "float16";
    case TensorProto::BFLOAT16:
      return "bfloat16";
    case TensorProto::DOUBLE:
      return "float64";
    case TensorProto::INT8:
      return "int8";
    case TensorProto::INT16:
      return "int16";
    case TensorProto::INT32:
      return "int32";
    case TensorProto::INT64:
      return "int64";
    case TensorProto::UINT8:
      return "uint8";
    case TensorProto::UINT16:
      return "uint16";
    case TensorProto::UINT32:
      return "uint32";
    case TensorProto::UINT64:
      return "uint64";
    case TensorProto::BOOL:
      return "bool";
    case TensorProto::STRING:
      return "string";
    default:
      return StrCat("type", elem_type);
  }
}

bool IsDynamic(const TensorShapeProto::Dimension& dim) {
  return !dim.has_dim_value() || dim.dim_value() <= 0;
}

// Dims of a value's declared tensor shape; -1 where unknown. Empty optional: no shape.
std::optional<std::vector<int64_t>> DeclaredDims(const ValueInfoProto& value) {
  if (!value.type().has_tensor_type() || !value.type().tensor_type().has_shape()) return {};
  std::vector<int64_t> dims;
  for (const auto& dim : value.type().tensor_type().shape().dim()) {
    dims.push_back(IsDynamic(dim) ? -1 : dim.dim_value());
  }
  return dims;
}

// ---- Tensor values -------------------------------------------------------------------

int64_t ElementCount(const TensorProto& tensor) {
  int64_t n = 1;
  for (int64_t d : tensor.dims()) n *= d;
  return n;
}

// Converts an FP16 tensor to FP32 in place (data in raw_data, or one value per int32_data
// element as ONNX stores it). Returns the number of values.
StatusOr<int64_t> ConvertHalfTensor(TensorProto& tensor) {
  std::vector<uint16_t> halves;
  if (tensor.has_raw_data()) {
    const std::string& raw = tensor.raw_data();
    if (raw.size() % 2 != 0) {
      return absl::InvalidArgumentError(
          StrCat("FP16 tensor '", tensor.name(), "' has an odd raw_data size"));
    }
    halves.resize(raw.size() / 2);
    std::memcpy(halves.data(), raw.data(), raw.size());
  } else {
    for (int32_t v : tensor.int32_data()) halves.push_back(static_cast<uint16_t>(v & 0xffff));
  }
  if (static_cast<int64_t>(halves.size()) != ElementCount(tensor)) {
    return absl::InvalidArgumentError(
        StrCat("FP16 tensor '", tensor.name(), "' has ", halves.size(), " values for dims ",
               ShapeText({tensor.dims().begin(), tensor.dims().end()})));
  }
  std::string raw(halves.size() * sizeof(float), '\0');
  for (size_t i = 0; i < halves.size(); ++i) {
    const float f = HalfToFloat(halves[i]);
    std::memcpy(raw.data() + i * sizeof(float), &f, sizeof(float));
  }
  tensor.clear_int32_data();
  tensor.set_raw_data(std::move(raw));
  tensor.set_data_type(TensorProto::FLOAT);
  return static_cast<int64_t>(halves.size());
}

template <typename T>
std::vector<T> RawValues(const std::string& raw) {
  std::vector<T> out(raw.size() / sizeof(T));
  std::memcpy(out.data(), raw.data(), out.size() * sizeof(T));
  return out;
}

// Values of a float-typed tensor as floats; nullopt for other types.
std::optional<std::vector<float>> FloatValues(const TensorProto& t) {
  switch (t.data_type()) {
    case TensorProto::FLOAT:
      if (t.has_raw_data()) return RawValues<float>(t.raw_data());
      return std::vector<float>(t.float_data().begin(), t.float_data().end());
    case TensorProto::DOUBLE: {
      std::vector<double> d =
          t.has_raw_data() ? RawValues<double>(t.raw_data())
                           : std::vector<double>(t.double_data().begin(), t.double_data().end());
      return std::vector<float>(d.begin(), d.end());
    }
    case TensorProto::FLOAT16: {
      TensorProto copy = t;
      if (!ConvertHalfTensor(copy).ok()) return {};
      return FloatValues(copy);
    }
    default:
      return {};
  }
}

// Values of an integer tensor as int64; nullopt for other types.
std::optional<std::vector<int64_t>> IntValues(const TensorProto& t) {
  switch (t.data_type()) {
    case TensorProto::INT64:
      if (t.has_raw_data()) return RawValues<int64_t>(t.raw_data());
      return std::vector<int64_t>(t.int64_data().begin(), t.int64_data().end());
    case TensorProto::INT32: {
      std::vector<int32_t> v =
          t.has_raw_data() ? RawValues<int32_t>(t.raw_data())
                           : std::vector<int32_t>(t.int32_data().begin(), t.int32_data().end());
      return std::vector<int64_t>(v.begin(), v.end());
    }
    default:
      return {};
  }
}

const AttributeProto* FindAttribute(const NodeProto& node, std::string_view name) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

int64_t IntAttribute(const NodeProto& node, std::string_view name, int64_t fallback) {
  const AttributeProto* a = FindAttribute(node, name);
  return a != nullptr && a->type() == AttributeProto::INT ? a->i() : fallback;
}

// The tensor a Constant node defines (value, value_float(s), value_int(s)), if any.
std::optional<TensorProto> ConstantNodeTensor(const NodeProto& node) {
  for (const auto& a : node.attribute()) {
    TensorProto t;
    if (a.name() == "value" && a.has_t()) return a.t();
    if (a.name() == "value_float") {
      t.set_data_type(TensorProto::FLOAT);
      t.add_float_data(a.f());
      return t;
    }
    if (a.name() == "value_floats") {
      t.set_data_type(TensorProto::FLOAT);
      t.add_dims(a.floats_size());
      for (float f : a.floats()) t.add_float_data(f);
      return t;
    }
    if (a.name() == "value_int") {
      t.set_data_type(TensorProto::INT64);
      t.add_int64_data(a.i());
      return t;
    }
    if (a.name() == "value_ints") {
      t.set_data_type(TensorProto::INT64);
      t.add_dims(a.ints_size());
      for (int64_t i : a.ints()) t.add_int64_data(i);
      return t;
    }
  }
  return {};
}

// ---- Graph structure -----------------------------------------------------------------

// Names a (sub)graph reads from its enclosing scopes: node inputs not defined inside it.
void CollectOuterNames(const GraphProto& graph, std::set<std::string>& out) {
  std::unordered_set<std::string> defined;
  for (const auto& v : graph.input()) defined.insert(v.name());
  for (const auto& t : graph.initializer()) defined.insert(t.name());
  for (const auto& n : graph.node()) {
    for (const auto& o : n.output()) defined.insert(o);
  }
  for (const auto& n : graph.node()) {
    std::set<std::string> names(n.input().begin(), n.input().end());
    for (const auto& a : n.attribute()) {
      if (a.has_g()) CollectOuterNames(a.g(), names);
      for (const auto& g : a.graphs()) CollectOuterNames(g, names);
    }
    for (const auto& name : names) {
      if (!name.empty() && !defined.contains(name)) out.insert(name);
    }
  }
}

// Every name a node reads: its inputs and what its subgraph attributes read from outside.
std::set<std::string> NodeReads(const NodeProto& node) {
  std::set<std::string> names(node.input().begin(), node.input().end());
  for (const auto& a : node.attribute()) {
    if (a.has_g()) CollectOuterNames(a.g(), names);
    for (const auto& g : a.graphs()) CollectOuterNames(g, names);
  }
  names.erase("");
  return names;
}

// ---- The importer ----------------------------------------------------------------------

class Importer {
 public:
  Importer(const OnnxImportOptions& options, OnnxImportReport& report)
      : options_(options), report_(report) {}

  Status Run(std::string_view bytes);
  ModelProto& model() { return model_; }

 private:
  GraphProto& graph() { return *model_.mutable_graph(); }
  Status Parse(std::string_view bytes);
  Status SortNodes();
  Status ConvertFp16();
  Status FixInputShapes();
  void RewriteClips();
  void FoldReshapeTargets();
  // Fills dims1_ (shapes at the fixed input shapes) and dims2_ (the same with the dynamic
  // batch dims at another value; equal to dims1_ when there are none). False when ONNX
  // shape inference fails.
  bool InferBothBatches();
  // Removes nodes left without consumers by our rewrites: producers of `orphans_` and,
  // transitively, of their inputs. Dead nodes the model came with stay.
  void RemoveOrphanedNodes();
  void CollectUnsupported();
  void FillIo();

  // Real graph inputs (not initializers listed as inputs, as IR < 4 models do).
  std::vector<ValueInfoProto*> RealInputs();
  std::unordered_set<std::string> InitializerNames() const;
  std::string UniqueName(const std::string& base);
  // Constant tensors by name: initializers and Constant node outputs.
  std::unordered_map<std::string, TensorProto> Constants() const;

  // Runs ONNX shape inference on a copy of the model whose dynamic batch dims are set to
  // `batch` (when >0); returns each value's dims (-1 unknown). Empty on failure.
  std::unordered_map<std::string, std::vector<int64_t>> InferDims(int64_t batch);
  // Evaluates the integer value of `name` (a small shape computation) under `dims`.
  std::optional<std::vector<int64_t>> EvalInts(
      const std::string& name, const std::unordered_map<std::string, std::vector<int64_t>>& dims,
      std::unordered_map<std::string, std::optional<std::vector<int64_t>>>& memo, int depth);

  const OnnxImportOptions& options_;
  OnnxImportReport& report_;
  ModelProto model_;
  bool inputs_changed_ = false;
  // Inputs whose first dim the model left dynamic (their batch can vary at run time).
  std::set<std::string> batch_inputs_;
  std::unordered_map<std::string, TensorProto> constants_;  // for FoldReshapeTargets
  std::unordered_map<std::string, const NodeProto*> producers_;
  std::set<std::string> used_names_;
  std::vector<std::string> clip_unsupported_;  // node labels
  std::set<std::string> orphans_;              // values a rewrite stopped reading
  std::optional<bool> inferred_;
  std::unordered_map<std::string, std::vector<int64_t>> dims1_, dims2_;
  int64_t batch1_ = 1;
};

Status Importer::Parse(std::string_view bytes) {
  if (bytes.size() > static_cast<size_t>(INT_MAX) ||
      !model_.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError("not an ONNX model (the bytes do not parse as a ModelProto)");
  }
  if (model_.ir_version() <= 0 || !model_.has_graph() || model_.graph().node_size() == 0 ||
      model_.graph().output_size() == 0) {
    return absl::InvalidArgumentError("not an ONNX model (no IR version, graph, nodes or outputs)");
  }
  report_.opset = model_.opset_import_size() == 0 ? 1 : 0;  // IR < 3 models: opset 1
  for (const auto& opset : model_.opset_import()) {
    if (IsDefaultDomain(opset.domain())) report_.opset = opset.version();
  }
  for (const auto& t : model_.graph().initializer()) {
    if (t.data_location() == TensorProto::EXTERNAL) {
      return absl::InvalidArgumentError(StrCat("initializer '", t.name(),
                                               "' keeps its data in an external file; "
                                               "only self-contained .onnx files can be imported"));
    }
  }
  return absl::OkStatus();
}

Status Importer::SortNodes() {
  GraphProto& g = graph();
  const int n = g.node_size();
  std::unordered_set<std::string> available;
  for (const auto& v : g.input()) available.insert(v.name());
  for (const auto& t : g.initializer()) available.insert(t.name());
  std::unordered_map<std::string, int> producer;
  for (int i = 0; i < n; ++i) {
    for (const auto& out : g.node(i).output()) {
      if (out.empty()) continue;
      if (available.contains(out) || !producer.emplace(out, i).second) {
        return absl::InvalidArgumentError(StrCat("node ", NodeLabel(g.node(i)), " (",
                                                 g.node(i).op_type(), ") defines '", out,
                                                 "', which is already defined"));
      }
    }
  }
  std::vector<std::vector<int>> consumers(n);
  std::vector<int> pending(n, 0);
  for (int i = 0; i < n; ++i) {
    std::set<int> deps;
    for (const auto& name : NodeReads(g.node(i))) {
      if (available.contains(name)) continue;
      auto it = producer.find(name);
      if (it == producer.end()) {
        return absl::InvalidArgumentError(
            StrCat("node ", NodeLabel(g.node(i)), " (", g.node(i).op_type(), ") reads '", name,
                   "', which no graph input, initializer or node defines"));
      }
      deps.insert(it->second);
    }
    for (int d : deps) consumers[d].push_back(i);
    pending[i] = static_cast<int>(deps.size());
  }
  // Kahn's algorithm, always taking the earliest ready node: a sorted graph stays as is.
  std::priority_queue<int, std::vector<int>, std::greater<>> ready;
  for (int i = 0; i < n; ++i) {
    if (pending[i] == 0) ready.push(i);
  }
  std::vector<int> order;
  while (!ready.empty()) {
    const int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int c : consumers[i]) {
      if (--pending[c] == 0) ready.push(c);
    }
  }
  if (static_cast<int>(order.size()) < n) {
    std::vector<std::string> stuck;
    for (int i = 0; i < n && stuck.size() < 5; ++i) {
      if (pending[i] > 0)
        stuck.push_back(StrCat(NodeLabel(g.node(i)), " (", g.node(i).op_type(), ")"));
    }
    return absl::InvalidArgumentError(
        StrCat("the graph has a cycle; nodes on or after it: ", StrJoin(stuck, ", ")));
  }
  int moved = 0;
  for (int i = 0; i < n; ++i) moved += order[i] != i;
  if (moved == 0) return absl::OkStatus();
  std::vector<NodeProto> nodes(n);
  for (int i = 0; i < n; ++i) nodes[i].Swap(g.mutable_node(i));
  for (int i = 0; i < n; ++i) g.mutable_node(i)->Swap(&nodes[order[i]]);
  report_.changes.push_back(
      StrCat("nodes put in topological order (", moved, " of ", n, " nodes moved)"));
  return absl::OkStatus();
}

Status Importer::ConvertFp16() {
  GraphProto& g = graph();
  int tensors = 0, attributes = 0, casts = 0, types = 0;
  int64_t values = 0;
  std::string first_tensor, first_attribute, first_cast, first_type;
  for (auto& t : *g.mutable_initializer()) {
    if (t.data_type() != TensorProto::FLOAT16) continue;
    ASSIGN_OR_RETURN(int64_t count, ConvertHalfTensor(t));
    values += count;
    if (tensors++ == 0) first_tensor = t.name();
  }
  for (auto& node : *g.mutable_node()) {
    for (auto& a : *node.mutable_attribute()) {
      if (a.has_t() && a.t().data_type() == TensorProto::FLOAT16) {
        RETURN_IF_ERROR(ConvertHalfTensor(*a.mutable_t()).status());
        if (attributes++ == 0) first_attribute = NodeLabel(node);
      }
      for (auto& t : *a.mutable_tensors()) {
        if (t.data_type() != TensorProto::FLOAT16) continue;
        RETURN_IF_ERROR(ConvertHalfTensor(t).status());
        if (attributes++ == 0) first_attribute = NodeLabel(node);
      }
      if (node.op_type() == "Cast" && IsDefaultDomain(node.domain()) && a.name() == "to" &&
          a.i() == TensorProto::FLOAT16) {
        a.set_i(TensorProto::FLOAT);
        if (casts++ == 0) first_cast = NodeLabel(node);
      }
    }
  }
  for (auto* list : {g.mutable_input(), g.mutable_output(), g.mutable_value_info()}) {
    for (auto& v : *list) {
      if (v.type().has_tensor_type() &&
          v.type().tensor_type().elem_type() == TensorProto::FLOAT16) {
        v.mutable_type()->mutable_tensor_type()->set_elem_type(TensorProto::FLOAT);
        if (types++ == 0) first_type = v.name();
      }
    }
  }
  if (tensors > 0) {
    report_.changes.push_back(StrCat("FP16 -> FP32: ", tensors, " initializers (first '",
                                     first_tensor, "'), ", values, " values in all"));
  }
  if (attributes > 0) {
    report_.changes.push_back(StrCat("FP16 -> FP32: ", attributes,
                                     " tensor attributes of nodes, e.g. Constant values (first ",
                                     first_attribute, ")"));
  }
  if (casts > 0) {
    report_.changes.push_back(
        StrCat("FP16 -> FP32: ", casts, " Cast nodes now cast to float (first ", first_cast, ")"));
  }
  if (types > 0) {
    report_.changes.push_back(StrCat("FP16 -> FP32: element type of ", types,
                                     " graph inputs/outputs/value_info (first '", first_type,
                                     "')"));
  }
  return absl::OkStatus();
}

std::unordered_set<std::string> Importer::InitializerNames() const {
  std::unordered_set<std::string> names;
  for (const auto& t : model_.graph().initializer()) names.insert(t.name());
  return names;
}

std::vector<ValueInfoProto*> Importer::RealInputs() {
  const auto initializers = InitializerNames();
  std::vector<ValueInfoProto*> inputs;
  for (auto& v : *graph().mutable_input()) {
    if (!initializers.contains(v.name())) inputs.push_back(&v);
  }
  return inputs;
}

Status Importer::FixInputShapes() {
  std::vector<ValueInfoProto*> inputs = RealInputs();
  if (options_.batch <= 0) {
    return absl::InvalidArgumentError(StrCat("batch is ", options_.batch, "; it must be positive"));
  }
  std::map<std::string, std::vector<int64_t>> wanted;
  for (const auto& [name, dims] : options_.input_shapes) {
    std::string key = name;
    if (key.empty()) {
      if (inputs.empty()) return absl::InvalidArgumentError("the model has no graph inputs");
      key = inputs[0]->name();
    }
    if (std::none_of(inputs.begin(), inputs.end(), [&](auto* v) { return v->name() == key; })) {
      std::vector<std::string> names;
      names.reserve(inputs.size());
      for (auto* v : inputs) names.push_back(StrCat("'", v->name(), "'"));
      return absl::InvalidArgumentError(
          StrCat("input_shapes names '", key,
                 "', which is not a graph input (inputs: ", StrJoin(names, ", "), ")"));
    }
    if (!wanted.emplace(key, dims).second) {
      return absl::InvalidArgumentError(StrCat("input_shapes lists input '", key, "' twice"));
    }
    for (size_t i = 0; i < dims.size(); ++i) {
      if (dims[i] <= 0 && !(i == 0 && dims[i] == -1)) {
        return absl::InvalidArgumentError(StrCat("input_shapes for '", key, "' is ",
                                                 ShapeText(dims),
                                                 "; dims must be positive (-1 allowed for dim 0)"));
      }
    }
  }
  for (ValueInfoProto* input : inputs) {
    if (!input->type().has_tensor_type()) {
      return absl::InvalidArgumentError(
          StrCat("graph input '", input->name(), "' is not a tensor; OpenCV reads tensors only"));
    }
    auto* tensor = input->mutable_type()->mutable_tensor_type();
    const bool had_shape = tensor->has_shape();
    const std::vector<int64_t> before = DeclaredDims(*input).value_or(std::vector<int64_t>{});
    std::vector<int64_t> dims;  // what to declare
    auto it = wanted.find(input->name());
    if (it != wanted.end()) {
      dims = it->second;
      if (had_shape && before.size() != dims.size()) {
        return absl::InvalidArgumentError(StrCat("input '", input->name(), "' has rank ",
                                                 before.size(), " ", ShapeText(before),
                                                 " but input_shapes gives ", ShapeText(dims)));
      }
      for (size_t i = 0; i < before.size(); ++i) {
        if (before[i] != -1 && dims[i] != -1 && before[i] != dims[i]) {
          return absl::InvalidArgumentError(StrCat("input '", input->name(), "' dim ", i, " is ",
                                                   before[i], " in the model ", ShapeText(before),
                                                   " but input_shapes gives ", ShapeText(dims)));
        }
      }
      if (!dims.empty() && dims[0] == -1) dims[0] = before.empty() ? -1 : before[0];
    } else {
      if (!had_shape) {
        return absl::InvalidArgumentError(StrCat(
            "input '", input->name(), "' has no shape in the model; set it in input_shapes"));
      }
      for (size_t i = 1; i < before.size(); ++i) {
        if (before[i] == -1) {
          return absl::InvalidArgumentError(
              StrCat("input '", input->name(), "' has dynamic dims ", ShapeText(before),
                     " (-1: dynamic); set its shape in input_shapes"));
        }
      }
      dims = before;
    }
    if (!dims.empty() && dims[0] == -1) {  // a batch that stays free at run time
      dims[0] = options_.batch;
      batch_inputs_.insert(input->name());
    }
    if (dims == before) continue;
    TensorShapeProto* shape = tensor->mutable_shape();
    shape->clear_dim();
    for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
    report_.changes.push_back(StrCat(
        "input '", input->name(), "': shape ", had_shape ? ShapeText(before) : "(none)", " -> ",
        ShapeText(dims),
        batch_inputs_.contains(input->name())
            ? StrCat(" (-1: dynamic; batch declared as ", options_.batch, ", any batch runs)")
            : " (-1: dynamic)"));
    inputs_changed_ = true;
  }
  if (inputs_changed_ && graph().value_info_size() > 0) {
    report_.changes.push_back(StrCat("dropped ", graph().value_info_size(),
                                     " value_info shape hints (stale after fixing input shapes)"));
    graph().clear_value_info();
  }
  return absl::OkStatus();
}

std::unordered_map<std::string, TensorProto> Importer::Constants() const {
  std::unordered_map<std::string, TensorProto> out;
  for (const auto& t : model_.graph().initializer()) out[t.name()] = t;
  for (const auto& n : model_.graph().node()) {
    if (n.op_type() != "Constant" || !IsDefaultDomain(n.domain()) || n.output_size() != 1) continue;
    if (auto t = ConstantNodeTensor(n)) out[n.output(0)] = *std::move(t);
  }
  return out;
}

void Importer::RewriteClips() {
  std::unordered_map<std::string, TensorProto> constants;
  bool loaded = false;
  for (auto& node : *graph().mutable_node()) {
    if (node.op_type() != "Clip" || !IsDefaultDomain(node.domain()) || node.input_size() <= 1)
      continue;
    if (!loaded) {
      constants = Constants();
      loaded = true;
    }
    float bounds[2] = {std::numeric_limits<float>::lowest(), std::numeric_limits<float>::max()};
    bool ok = true;
    for (int i = 1; i < node.input_size() && i <= 2; ++i) {
      if (node.input(i).empty()) continue;
      auto it = constants.find(node.input(i));
      std::optional<std::vector<float>> v;
      if (it != constants.end()) v = FloatValues(it->second);
      if (!v || v->size() != 1) {
        ok = false;
        break;
      }
      bounds[i - 1] = (*v)[0];
    }
    if (!ok) {
      clip_unsupported_.push_back(NodeLabel(node));
      continue;
    }
    const std::string label = NodeLabel(node);
    orphans_.insert(node.input().begin() + 1, node.input().end());
    node.mutable_input()->DeleteSubrange(1, node.input_size() - 1);
    const char* names[2] = {"min", "max"};
    for (int i = 0; i < 2; ++i) {
      AttributeProto* a = node.add_attribute();
      a->set_name(names[i]);
      a->set_type(AttributeProto::FLOAT);
      a->set_f(bounds[i]);
    }
    report_.changes.push_back(StrCat("Clip ", label, ": min/max inputs -> attributes (", bounds[0],
                                     ", ", bounds[1], ")"));
  }
}

std::unordered_map<std::string, std::vector<int64_t>> Importer::InferDims(int64_t batch) {
  ModelProto copy = model_;
  GraphProto& g = *copy.mutable_graph();
  g.clear_value_info();
  for (auto& out : *g.mutable_output()) {  // declared dims may be stale; infer them afresh
    if (!out.type().has_tensor_type() || !out.type().tensor_type().has_shape()) continue;
    for (auto& dim : *out.mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim()) {
      dim.Clear();
    }
  }
  for (auto& in : *g.mutable_input()) {
    if (batch_inputs_.contains(in.name())) {
      in.mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_value(
          batch);
    }
  }
  std::unordered_map<std::string, std::vector<int64_t>> dims;
  try {
    onnx::ShapeInferenceOptions opts(/*check_type=*/false, /*strict_mode=*/0, /*data_prop=*/true);
    onnx::shape_inference::InferShapes(copy, onnx::OpSchemaRegistry::Instance(), opts);
  } catch (const std::exception&) {
    return dims;
  }
  for (const auto* list : {&g.input(), &g.value_info(), &g.output()}) {
    for (const auto& v : *list) {
      if (auto d = DeclaredDims(v)) dims[v.name()] = *std::move(d);
    }
  }
  return dims;
}

std::optional<std::vector<int64_t>> Importer::EvalInts(
    const std::string& name, const std::unordered_map<std::string, std::vector<int64_t>>& dims,
    std::unordered_map<std::string, std::optional<std::vector<int64_t>>>& memo, int depth) {
  if (depth > 64) return {};
  if (auto it = memo.find(name); it != memo.end()) return it->second;
  std::optional<std::vector<int64_t>> result;
  if (auto c = constants_.find(name); c != constants_.end()) {
    result = IntValues(c->second);
  } else if (auto p = producers_.find(name); p != producers_.end()) {
    const NodeProto& n = *p->second;
    auto in = [&](int i) -> std::optional<std::vector<int64_t>> {
      if (i >= n.input_size() || n.input(i).empty()) return {};
      return EvalInts(n.input(i), dims, memo, depth + 1);
    };
    const std::string& op = n.op_type();
    const bool standard = IsDefaultDomain(n.domain());
    if (!standard) {
      result = std::nullopt;  // another domain's op: not evaluated
    } else if (op == "Shape") {
      auto d = dims.find(n.input(0));
      if (d != dims.end() &&
          std::all_of(d->second.begin(), d->second.end(), [](int64_t v) { return v > 0; })) {
        const int64_t rank = static_cast<int64_t>(d->second.size());
        int64_t start = IntAttribute(n, "start", 0), end = IntAttribute(n, "end", rank);
        if (start < 0) start += rank;
        if (end < 0) end += rank;
        start = std::clamp<int64_t>(start, 0, rank);
        end = std::clamp<int64_t>(end, start, rank);
        result = std::vector<int64_t>(d->second.begin() + start, d->second.begin() + end);
      }
    } else if (op == "Cast") {
      const int64_t to = IntAttribute(n, "to", 0);
      if (to == TensorProto::INT64 || to == TensorProto::INT32) result = in(0);
    } else if (op == "Identity" || op == "Squeeze" || op == "Unsqueeze") {
      result = in(0);
    } else if (op == "Concat") {
      std::vector<int64_t> all;
      bool ok = true;
      for (int i = 0; i < n.input_size() && ok; ++i) {
        auto v = in(i);
        ok = v.has_value();
        if (ok) all.insert(all.end(), v->begin(), v->end());
      }
      if (ok) result = std::move(all);
    } else if (op == "Gather") {
      auto data = in(0), idx = in(1);
      if (data && idx && IntAttribute(n, "axis", 0) == 0) {
        std::vector<int64_t> out;
        const int64_t size = static_cast<int64_t>(data->size());
        for (int64_t i : *idx) {
          if (i < 0) i += size;
          if (i < 0 || i >= size) break;
          out.push_back((*data)[i]);
        }
        if (out.size() == idx->size()) result = std::move(out);
      }
    } else if (op == "Slice") {
      auto data = in(0);
      std::optional<std::vector<int64_t>> starts, ends, axes, steps;
      if (n.input_size() == 1) {  // opset < 10: attributes
        auto ints = [&](std::string_view a) -> std::optional<std::vector<int64_t>> {
          const AttributeProto* attr = FindAttribute(n, a);
          if (attr == nullptr) return {};
          return std::vector<int64_t>(attr->ints().begin(), attr->ints().end());
        };
        starts = ints("starts"), ends = ints("ends"), axes = ints("axes");
      } else {
        starts = in(1), ends = in(2);
        if (n.input_size() > 3 && !n.input(3).empty()) axes = in(3);
        if (n.input_size() > 4 && !n.input(4).empty()) steps = in(4);
      }
      const bool axis0 = !axes || (axes->size() == 1 && ((*axes)[0] == 0 || (*axes)[0] == -1));
      if (data && starts && ends && starts->size() == 1 && ends->size() == 1 && axis0 &&
          (!steps || steps->size() == 1)) {
        const int64_t size = static_cast<int64_t>(data->size());
        const int64_t step = steps ? (*steps)[0] : 1;
        int64_t s = (*starts)[0], e = (*ends)[0];
        if (s < 0) s += size;
        if (e < 0) e += size;
        std::vector<int64_t> out;
        if (step > 0) {
          s = std::clamp<int64_t>(s, 0, size);
          e = std::clamp<int64_t>(e, 0, size);
          for (int64_t i = s; i < e; i += step) out.push_back((*data)[i]);
          result = std::move(out);
        } else if (step < 0) {
          s = std::clamp<int64_t>(s, -1, size - 1);
          e = std::clamp<int64_t>(e, -1, size - 1);
          for (int64_t i = s; i > e; i += step) out.push_back((*data)[i]);
          result = std::move(out);
        }
      }
    } else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
      auto a = in(0), b = in(1);
      if (a && b && (a->size() == b->size() || a->size() == 1 || b->size() == 1)) {
        const size_t size = std::max(a->size(), b->size());
        std::vector<int64_t> out(size);
        bool ok = true;
        for (size_t i = 0; i < size && ok; ++i) {
          const int64_t x = (*a)[a->size() == 1 ? 0 : i], y = (*b)[b->size() == 1 ? 0 : i];
          if (op == "Add") out[i] = x + y;
          if (op == "Sub") out[i] = x - y;
          if (op == "Mul") out[i] = x * y;
          if (op == "Div") {
            ok = y != 0;
            if (ok) out[i] = x / y;
          }
        }
        if (ok) result = std::move(out);
      }
    }
  }
  memo[name] = result;
  return result;
}

bool Importer::InferBothBatches() {
  if (inferred_) return *inferred_;
  batch1_ = options_.batch;
  dims1_ = InferDims(batch1_);
  dims2_ = batch_inputs_.empty() ? dims1_ : InferDims(batch1_ + 6);
  inferred_ = !dims1_.empty() && !dims2_.empty();
  return *inferred_;
}

void Importer::FoldReshapeTargets() {
  // Reshapes whose target is computed by nodes (not a constant) are the candidates.
  constants_ = Constants();
  producers_.clear();
  for (const auto& n : model_.graph().node()) {
    for (const auto& o : n.output()) producers_[o] = &n;
  }
  std::vector<int> candidates;
  for (int i = 0; i < graph().node_size(); ++i) {
    const NodeProto& n = graph().node(i);
    if (n.op_type() == "Reshape" && IsDefaultDomain(n.domain()) && n.input_size() == 2 &&
        !constants_.contains(n.input(1))) {
      candidates.push_back(i);
    }
  }
  if (candidates.empty()) return;
  if (!InferBothBatches()) {
    report_.warnings.push_back("ONNX shape inference failed; Reshape targets left as they are");
    return;
  }
  const auto& dims1 = dims1_;
  const auto& dims2 = dims2_;
  const int64_t batch1 = batch1_;
  std::unordered_map<std::string, std::optional<std::vector<int64_t>>> memo1, memo2;
  for (int index : candidates) {
    NodeProto& n = *graph().mutable_node(index);
    const std::string label = NodeLabel(n);
    auto t1 = EvalInts(n.input(1), dims1, memo1, 0);
    if (!t1) continue;  // not a shape computation we can evaluate; OpenCV may still cope
    std::optional<std::vector<int64_t>> t2 = t1;
    if (!batch_inputs_.empty()) t2 = EvalInts(n.input(1), dims2, memo2, 0);
    if (!t2 || t2->size() != t1->size()) {
      report_.warnings.push_back(
          StrCat("Reshape ", label,
                 ": its target could not be evaluated for another batch "
                 "size; left as is (OpenCV bakes the import batch into it)"));
      continue;
    }
    const bool allow_zero = IntAttribute(n, "allowzero", 0) != 0;
    auto d1 = dims1.find(n.input(0));
    auto d2 = dims2.find(n.input(0));
    std::vector<int64_t> target = *t1;
    std::vector<size_t> unresolved;
    bool has_minus_one = false, copies = false;
    for (size_t i = 0; i < target.size(); ++i) {
      if ((*t1)[i] == (*t2)[i]) {
        has_minus_one |= target[i] == -1;
        continue;
      }
      const bool follows_input = !allow_zero && d1 != dims1.end() && d2 != dims2.end() &&
                                 i < d1->second.size() && i < d2->second.size() &&
                                 d1->second[i] == (*t1)[i] && d2->second[i] == (*t2)[i];
      if (follows_input) {
        target[i] = 0;
        copies = true;
      } else {
        unresolved.push_back(i);
      }
    }
    if (unresolved.size() == 1 && !has_minus_one) {
      target[unresolved[0]] = -1;
    } else if (!unresolved.empty()) {
      report_.warnings.push_back(StrCat("Reshape ", label, ": target ", ShapeText(*t1),
                                        " depends on the batch in more than one place; left as "
                                        "is, so the model only runs at batch ",
                                        batch1));
      continue;
    }
    TensorProto* shape = graph().add_initializer();
    shape->set_name(UniqueName(StrCat(n.input(1), "_folded")));
    shape->set_data_type(TensorProto::INT64);
    shape->add_dims(static_cast<int64_t>(target.size()));
    for (int64_t v : target) shape->add_int64_data(v);
    orphans_.insert(n.input(1));
    n.set_input(1, shape->name());
    report_.changes.push_back(
        StrCat("Reshape ", label, ": target computed from Shape -> constant ", ShapeText(target),
               copies ? " (0: copy the input's dim, which follows the batch)" : "",
               !copies && !unresolved.empty() ? " (-1: the dim that follows the batch)" : ""));
  }
  producers_.clear();
  constants_.clear();
}

std::string Importer::UniqueName(const std::string& base) {
  if (used_names_.empty()) {
    const GraphProto& g = model_.graph();
    for (const auto& v : g.input()) used_names_.insert(v.name());
    for (const auto& v : g.output()) used_names_.insert(v.name());
    for (const auto& t : g.initializer()) used_names_.insert(t.name());
    for (const auto& n : g.node()) {
      used_names_.insert(n.output().begin(), n.output().end());
      used_names_.insert(n.input().begin(), n.input().end());
    }
  }
  std::string name = base;
  for (int i = 2; used_names_.contains(name); ++i) name = StrCat(base, "_", i);
  used_names_.insert(name);
  return name;
}

void Importer::RemoveOrphanedNodes() {
  GraphProto& g = graph();
  std::map<std::string, int> removed_ops;
  int removed = 0;
  while (!orphans_.empty()) {
    std::unordered_set<std::string> used;
    for (const auto& v : g.output()) used.insert(v.name());
    for (const auto& n : g.node()) {
      for (const auto& name : NodeReads(n)) used.insert(name);
    }
    std::vector<int> dead;
    for (int i = 0; i < g.node_size(); ++i) {
      const auto& outs = g.node(i).output();
      const bool orphaned = std::any_of(outs.begin(), outs.end(),
                                        [&](const std::string& o) { return orphans_.contains(o); });
      const bool unused = std::none_of(outs.begin(), outs.end(),
                                       [&](const std::string& o) { return used.contains(o); });
      if (orphaned && unused) dead.push_back(i);
    }
    orphans_.clear();
    for (auto it = dead.rbegin(); it != dead.rend(); ++it) {
      const NodeProto& n = g.node(*it);
      for (const auto& name : NodeReads(n)) orphans_.insert(name);
      ++removed_ops[n.op_type()];
      ++removed;
      g.mutable_node()->DeleteSubrange(*it, 1);
    }
  }
  if (removed == 0) return;
  std::vector<std::string> parts;
  parts.reserve(removed_ops.size());
  for (const auto& [op, count] : removed_ops) parts.push_back(StrCat(op, " x", count));
  report_.changes.push_back(
      StrCat("removed ", removed, " nodes that only fed rewritten Clip bounds or Reshape targets (",
             StrJoin(parts, ", "), ")"));
}

void Importer::CollectUnsupported() {
  struct Entry {
    int count = 0;
    std::string first;
  };
  std::map<std::string, Entry> entries;
  for (const auto& node : model_.graph().node()) {
    if (OpenCvSupportsOnnxOp(node.domain(), node.op_type())) continue;
    const std::string key = IsDefaultDomain(node.domain())
                                ? node.op_type()
                                : StrCat(node.domain(), ".", node.op_type());
    Entry& e = entries[key];
    if (e.count++ == 0) e.first = NodeLabel(node);
  }
  for (const auto& [key, e] : entries) {
    report_.unsupported.push_back(
        StrCat(key, " (", e.count, e.count == 1 ? " node, " : " nodes, ", "first ", e.first, ")"));
  }
  if (!clip_unsupported_.empty()) {
    report_.unsupported.push_back(
        StrCat("Clip with min/max that are not constant scalars (", clip_unsupported_.size(),
               clip_unsupported_.size() == 1 ? " node, " : " nodes, ", "first ",
               clip_unsupported_[0], "); OpenCV 4.6 takes Clip bounds as attributes only"));
  }
}

void Importer::FillIo() {
  report_.inputs.clear();
  report_.outputs.clear();
  auto io = [](const ValueInfoProto& v, std::vector<int64_t> dims) {
    OnnxImportReport::Io out;
    out.name = v.name();
    out.dtype =
        v.type().has_tensor_type() ? DtypeName(v.type().tensor_type().elem_type()) : "non-tensor";
    out.shape = std::move(dims);
    return out;
  };
  for (auto* v : RealInputs()) {
    std::vector<int64_t> dims = DeclaredDims(*v).value_or(std::vector<int64_t>{});
    if (batch_inputs_.contains(v->name())) dims[0] = -1;
    report_.inputs.push_back(io(*v, std::move(dims)));
  }
  inferred_.reset();  // the graph may have changed since the last inference
  const bool inferred = InferBothBatches();
  for (const auto& v : model_.graph().output()) {
    std::vector<int64_t> dims = DeclaredDims(v).value_or(std::vector<int64_t>{});
    auto d1 = dims1_.find(v.name()), d2 = dims2_.find(v.name());
    if (inferred && d1 != dims1_.end() && d2 != dims2_.end() &&
        d1->second.size() == d2->second.size()) {
      dims = d1->second;
      for (size_t i = 0; i < dims.size(); ++i) {
        if (d2->second[i] != dims[i]) dims[i] = -1;  // follows the batch
      }
    }
    report_.outputs.push_back(io(v, std::move(dims)));
  }
}

Status Importer::Run(std::string_view bytes) {
  RETURN_IF_ERROR(Parse(bytes));
  RETURN_IF_ERROR(SortNodes());
  RETURN_IF_ERROR(ConvertFp16());
  RETURN_IF_ERROR(FixInputShapes());
  RewriteClips();
  FoldReshapeTargets();
  RemoveOrphanedNodes();
  CollectUnsupported();
  FillIo();
  if (!report_.unsupported.empty()) {
    return absl::FailedPreconditionError(
        StrCat("OpenCV 4.6 cannot import this model: ", StrJoin(report_.unsupported, "; ")));
  }
  return absl::OkStatus();
}

}  // namespace

bool OpenCvSupportsOnnxOp(std::string_view domain, std::string_view op_type) {
  if (IsDefaultDomain(domain)) {
    return std::binary_search(std::begin(kOpenCvOnnxOps), std::end(kOpenCvOnnxOps), op_type);
  }
  if (domain == "com.microsoft") {
    return std::binary_search(std::begin(kOpenCvMicrosoftOps), std::end(kOpenCvMicrosoftOps),
                              op_type);
  }
  return false;
}

StatusOr<std::string> ImportOnnx(std::string_view onnx_bytes, const OnnxImportOptions& options,
                                 OnnxImportReport* report) {
  OnnxImportReport local;
  OnnxImportReport& out = report != nullptr ? *report : local;
  out = OnnxImportReport();
  Importer importer(options, out);
  RETURN_IF_ERROR(importer.Run(onnx_bytes));
  std::string bytes;
  if (!importer.model().SerializeToString(&bytes)) {
    return absl::InternalError("serializing the imported ONNX model failed");
  }
  return bytes;
}

}  // namespace infera
