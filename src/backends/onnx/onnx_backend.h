// ONNX backend on OpenCV DNN (Debian's OpenCV 4.6; there is no ONNX Runtime package).
//
// Load: the artifact (model.onnx) goes through onnx/ImportOnnx in memory first, with the
// static input shape from model.yaml (BackendOptions::input_shape), so a graph that only
// needs what the importer rewrites (Clip's min/max inputs, dynamic dims, FP16 weights,
// node order) runs as exported; what it changed is logged. Then
// cv::dnn::readNetFromONNX on the rewritten bytes, the OpenCV backend on the CPU.
// Execute feeds each FP32 input (batch along dimension 0; any batch size) to the graph
// input of the same position and returns the graph's outputs (or those at
// BackendOptions::output_positions, or those named by output_names, by graph output name). Each
// distinct set of input shapes (in practice: each batch size) runs on its own cv::dnn::Net, made
// from the imported bytes when first seen (at most 4 kept, least recently used dropped): OpenCV 4.6
// gives wrong results when a used network is run at another shape. Errors: OpenCV exceptions become
// Status messages naming the failing node and op
// ("node 'p2o.Clip.0' (op Clip): ..."); unsupported ops are listed at load
// (FailedPrecondition); non-FP32 inputs are InvalidArgument.
// weight_bytes: one network's weights (each extra network holds its own copy).
// Thread-safety: as Backend (one thread at a time per object). OpenCV's thread count is
// process-wide: PrepareThread sets it when BackendOptions::intra_op_threads > 0.
// This header includes no OpenCV header; OpenCV stays in onnx_backend.cc.
#pragma once

#include <memory>

#include "backends/backend.h"

namespace infera {

StatusOr<std::unique_ptr<Backend>> CreateOnnxBackend(const BackendOptions& options);

}  // namespace infera
