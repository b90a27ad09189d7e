// TorchScript backend on LibTorch (Debian's libtorch 1.13, CPU; the same code builds
// against a CUDA LibTorch).
//
// Load: torch::jit::load, eval, torch::jit::freeze, torch::jit::optimize_for_inference
// (measured 14x faster for MobileNetV2 here). Execute runs forward under
// c10::InferenceMode on tensors that alias the input bytes (no copy on the way in).
// Outputs: a Tensor; a tuple or list (all elements, or those named positionally by
// BackendOptions::output_names); a dict (the entries named by output_names, or all in
// key order). Devices: "cpu", or "cuda:N" when LibTorch was built with CUDA and the
// device exists (FailedPrecondition otherwise, at load).
// This header deliberately includes no LibTorch header (they cost ~20 s per TU).
#pragma once

#include <memory>

#include "backends/backend.h"

namespace infera {

StatusOr<std::unique_ptr<Backend>> CreateTorchScriptBackend(const BackendOptions& options);

}  // namespace infera
