// Copies between infera's host Tensor and LibTorch's at::Tensor, for training/*.cc.
// The header forward-declares at::Tensor, so it includes no torch header; only the .cc
// files that include LibTorch can call these. Pure functions; thread-safe.
#pragma once

#include "common/status.h"
#include "tensor/tensor.h"

namespace at {
class Tensor;
}

namespace infera {

// A CPU at::Tensor owning a copy of `tensor`'s data (same shape and type).
// InvalidArgument for a type LibTorch lacks.
StatusOr<at::Tensor> ToTorchTensor(const Tensor& tensor);

// A host Tensor with a copy of `tensor` (moved to the CPU, made contiguous).
// InvalidArgument for a type the protocol lacks.
StatusOr<Tensor> FromTorchTensor(const at::Tensor& tensor);

}  // namespace infera
