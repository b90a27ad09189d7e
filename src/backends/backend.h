// Backend: an engine that executes one loaded model artifact (one model instance).
//
// Implementations (torchscript/, onnx/) hide their engine types behind this
// interface; LibTorch headers never leave backends/torchscript/.
// Thread-safety: Execute is called by one thread at a time per Backend object (the
// batcher gives each instance its own Backend); implementations need no locking.
// Errors: engine exceptions become Status values naming the model (Internal for engine
// failures, InvalidArgument for inputs the model rejects).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "tensor/tensor.h"

namespace infera {

struct BackendOptions {
  std::string model_name;          // for messages
  std::filesystem::path artifact;  // the model file (model.pt, model.onnx)
  std::string device = "cpu";      // "cpu" or "cuda:N"
  int intra_op_threads = 0;        // 0: the engine's default for this machine
  int instance = 0;                // which of the model's instances this is (0-based)
  int instances = 1;               // how many instances the model has
  // Names of the outputs to return, in order: dict keys for models returning a dict,
  // graph output names (onnx), labels for the positions 0, 1, ... of a tuple/list. Empty:
  // every output, positionally (a tuple's or list's tensor elements: see the engines).
  std::vector<std::string> output_names;
  // Where each named output is, when model.yaml maps names to positions (`outputs:
  // {flows: 0}`): the same size as output_names, output i being the tuple/list element
  // (torchscript) or graph output (onnx) at output_positions[i]. Empty: as above.
  std::vector<int> output_positions;
  // The model's first input for one sample, without the batch dimension ({3, 640, 640}
  // for NCHW images), from model.yaml; empty when the size is not fixed. Engines that
  // need static shapes (onnx) fix the graph's dynamic dims with it.
  std::vector<int64_t> input_shape;
  DType input_dtype = DType::kFP32;  // of the first input, from model.yaml
  // Whether the engine may optimise the graph at load (ModelConfig::optimize).
  bool optimize = true;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Runs the model on a batch: one tensor per model input, batch along dimension 0.
  // Returns the selected outputs (see BackendOptions::output_names). `inputs` may be
  // consumed (moved from).
  virtual StatusOr<std::vector<Tensor>> Execute(std::vector<Tensor>& inputs) = 0;

  // Called on the thread that will call Execute, before its first call (engines keep
  // per-thread settings such as the intra-op thread count).
  virtual void PrepareThread() {}

  // The graph's own input names (in Execute's order) and the names of the outputs
  // Execute returns, when the engine's format names them (ONNX); empty otherwise.
  // Thread-safe (fixed at load).
  virtual std::vector<std::string> input_names() const { return {}; }
  virtual std::vector<std::string> output_names() const { return {}; }

  // How the engine prepared the graph at load, for the model's description: e.g.
  // "optimize_for_inference", "frozen (...why not optimized...)", "none (...)"; "" when
  // the engine has no such step. Thread-safe (fixed at load).
  virtual std::string graph_optimization() const { return ""; }

  // Bytes of the model's weights this instance holds (parameters and buffers as loaded,
  // engine workspaces not included); 0 when the engine cannot tell. Thread-safe (fixed
  // at load).
  virtual int64_t weight_bytes() const { return 0; }
};

}  // namespace infera
