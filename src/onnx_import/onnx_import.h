// ONNX import: rewrites an ONNX model into the subset that OpenCV DNN 4.6 (Debian 12's
// engine; there is no ONNX Runtime in Debian) can load, and says what it changed.
//
// Rewrites, each applied only where needed and reported as one line in `changes` (a
// model that needs none comes back with no changes and the same graph):
//   1. Nodes put in topological order (some exporters write them unsorted); a cycle or an
//      input that nothing defines is InvalidArgument naming the node.
//   2. FP16 -> FP32: initializers, tensor attributes (Constant values), Cast-to-FP16
//      targets and the element type of graph inputs, outputs and value_info.
//   3. Graph input shapes fixed (OnnxImportOptions::input_shapes; a dynamic batch dim is
//      declared as OnnxImportOptions::batch). value_info (optional shape hints, possibly
//      stale now) is dropped then; OpenCV infers every shape itself.
//   4. Clip with min/max inputs (opset >= 11) -> min/max float attributes when the inputs
//      are constants. The attribute form is opset-6 syntax: the declared opset is kept,
//      so the result is meant for OpenCV 4.6, whose Clip parser reads the attributes
//      whatever the opset and rejects the input form ("node_proto.input_size() == 1");
//      a strict ONNX checker would flag these nodes.
//   5. Reshape targets computed from Shape (Shape -> Cast/Gather/Slice/Concat/... ->
//      Reshape) replaced by a constant, with the dim that follows the batch written as 0
//      ("copy this dim from the input") or -1, so batches > 1 still work; the nodes left
//      unused are removed. OpenCV 4.6 folds Shape itself from the import-time shapes,
//      which bakes batch 1 into the target (and fails on dynamic dims: "!isDynamicShape").
// Ops that OpenCV 4.6's ONNX importer does not dispatch (its table is copied in
// onnx_import.cc), ops of other domains, and Clips whose min/max are not constants are
// listed in `unsupported`.
//
// Thread-safety: ImportOnnx is reentrant (no shared state besides ONNX's read-only
// operator schema registry).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace infera {

struct OnnxImportOptions {
  // Shapes to fix for graph inputs, by input name; an empty name means the first graph
  // input. A listed shape must have the input's rank, positive dims (dim 0 may be -1: the
  // batch, left free) and agree with the dims the model fixes. Inputs not listed must be
  // static except for a dynamic dim 0, which is treated like -1.
  std::vector<std::pair<std::string, std::vector<int64_t>>> input_shapes;
  // What a free batch dim (-1 above) is declared as in the result. OpenCV 4.6 derives
  // layer parameters from the declared input shapes when it loads a model; with a declared
  // batch of 1 it takes the leading 1 of an [N,C,1,1] operand of Mul/Div/Add (squeeze-and-
  // excitation blocks) for a broadcast dim (axis 1 Scale layer), and the net then fails at
  // batch > 1 (shape_utils.hpp "total" assertion). Declared as 2, the same net runs at
  // batch 1, 2, 4, ... (checked with PP-OCR det/cls). A fixed batch in input_shapes (e.g.
  // 1) is kept as given.
  int64_t batch = 2;
};

struct OnnxImportReport {
  // One line per rewrite, e.g. "Clip 'clip_3': min/max inputs -> attributes (0, 6)".
  std::vector<std::string> changes;
  // What OpenCV 4.6 cannot import, one line per op type (domain-qualified when not the
  // default domain) with a count and the first node, e.g.
  // "NonMaxSuppression (2 nodes, first 'nms_1')".
  std::vector<std::string> unsupported;
  // Things that import but limit what the model can do (e.g. a Reshape target that
  // depends on the batch in a way that could not be rewritten: batch must stay 1).
  std::vector<std::string> warnings;
  // Graph inputs (initializers excluded) and outputs after import. dtype is a short
  // name ("float32", "int64", ...); -1 marks a dim that follows the free batch (or is
  // unknown). Output shapes come from ONNX shape inference at the fixed input shapes.
  struct Io {
    std::string name;
    std::string dtype;
    std::vector<int64_t> shape;
  };
  std::vector<Io> inputs, outputs;
  int64_t opset = 0;  // of the default (ai.onnx) domain
};

// Parses `onnx_bytes` (a serialized ModelProto), rewrites it as above and returns the
// serialized result. `report` (may be null) is filled as far as the import got, also on
// FailedPrecondition. Errors:
//   InvalidArgument     bytes that are not an ONNX model (or use external tensor data),
//                       bad graphs (cycle, undefined input, a name defined twice), shape
//                       options that do not match the model (unknown input, rank or fixed
//                       dim differs, dim <= 0) and dynamic non-batch dims left unset.
//   FailedPrecondition  unsupported ops remain; the message lists them all.
StatusOr<std::string> ImportOnnx(std::string_view onnx_bytes, const OnnxImportOptions& options,
                                 OnnxImportReport* report);

// Whether OpenCV 4.6's ONNX importer dispatches `op_type` of `domain` ("" and "ai.onnx"
// are the default domain).
bool OpenCvSupportsOnnxOp(std::string_view domain, std::string_view op_type);

}  // namespace infera
