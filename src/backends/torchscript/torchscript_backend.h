// TorchScript backend on LibTorch (Debian's libtorch 1.13, CPU; the same code builds
// against a CUDA LibTorch).
//
// Load: torch::jit::load, eval, torch::jit::freeze, torch::jit::optimize_for_inference
// (measured 14x faster for MobileNetV2 here). Execute runs forward under
// c10::InferenceMode on tensors that alias the input bytes (no copy on the way in).
// Outputs: a Tensor; a tuple or list — the elements at BackendOptions::output_positions,
// or the first output_names.size() elements, each of which must be a tensor, or with
// neither its tensor elements in order (the first element must be a tensor; later lists,
// None etc. are skipped: a traced Cellpose CPnet returns (flows, style, [features]));
// a dict (the entries named by output_names, or all in key order). Devices: "cpu", or "cuda:N" when
// LibTorch was built with CUDA and the device exists (FailedPrecondition otherwise, at load). CPU
// instances run on the CpuEngine's lanes (instance i on lane i), GPU instances on their batcher
// thread. This header deliberately includes no LibTorch header (they cost ~20 s per TU).
#pragma once

#include <memory>

#include "backends/backend.h"

namespace infera {

// The intra-op threads each forward of a backend with these options uses:
// BackendOptions::intra_op_threads when set; otherwise, on the CPU, the cores shared
// among the model's instances (cores / instances, at least 1), so that N instances
// running at once do not oversubscribe the cores; on a GPU, every core.
int IntraOpThreads(const BackendOptions& options);

StatusOr<std::unique_ptr<Backend>> CreateTorchScriptBackend(const BackendOptions& options);

}  // namespace infera
