// Test helpers that build small ONNX models (ModelProto) with ONNX's protobuf classes,
// for the import step's and the onnx backend's tests. Sources including this header need
// ONNX's compile definitions (tests/CMakeLists.txt sets them per file).
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "common/strings.h"

namespace infera::testing {

using onnx::ModelProto;
using onnx::NodeProto;
using onnx::TensorProto;

// Builds small ModelProtos. Dims of -1 in Input/Output are written as dim_param "N<i>".
class ModelBuilder {
 public:
  explicit ModelBuilder(int64_t opset = 13) {
    model_.set_ir_version(8);
    model_.set_producer_name("onnx_import_test");
    model_.add_opset_import()->set_version(opset);
    model_.mutable_graph()->set_name("g");
  }
  ModelBuilder& Input(const std::string& name, const std::vector<int64_t>& dims,
                      int elem = TensorProto::FLOAT) {
    Value(model_.mutable_graph()->add_input(), name, dims, elem);
    return *this;
  }
  ModelBuilder& Output(const std::string& name, const std::vector<int64_t>& dims,
                       int elem = TensorProto::FLOAT) {
    Value(model_.mutable_graph()->add_output(), name, dims, elem);
    return *this;
  }
  NodeProto& Node(const std::string& op, const std::vector<std::string>& inputs,
                  const std::vector<std::string>& outputs, const std::string& name = "") {
    NodeProto* n = model_.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return *n;
  }
  TensorProto& FloatInit(const std::string& name, const std::vector<int64_t>& dims,
                         const std::vector<float>& values) {
    TensorProto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
    return *t;
  }
  TensorProto& IntInit(const std::string& name, const std::vector<int64_t>& dims,
                       const std::vector<int64_t>& values) {
    TensorProto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(TensorProto::INT64);
    for (int64_t d : dims) t->add_dims(d);
    for (int64_t v : values) t->add_int64_data(v);
    return *t;
  }
  ModelProto& model() { return model_; }
  std::string Bytes() const { return model_.SerializeAsString(); }

 private:
  static void Value(onnx::ValueInfoProto* v, const std::string& name,
                    const std::vector<int64_t>& dims, int elem) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(elem);
    auto* shape = t->mutable_shape();
    for (size_t i = 0; i < dims.size(); ++i) {
      if (dims[i] < 0) {
        shape->add_dim()->set_dim_param(StrCat("N", i));
      } else {
        shape->add_dim()->set_dim_value(dims[i]);
      }
    }
  }
  ModelProto model_;
};

inline void AddIntsAttr(NodeProto& n, const std::string& name, const std::vector<int64_t>& values) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

inline void AddIntAttr(NodeProto& n, const std::string& name, int64_t value) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

}  // namespace infera::testing
