// The one map between infera's tensor datatypes (tensor/dtype) and LibTorch's scalar
// types, for the TorchScript engine and for training/ (the two folders that own
// LibTorch's headers). Each caller words its own error for a type the other side lacks.
// Pure functions; thread-safe.
#pragma once

#include <c10/core/ScalarType.h>

#include <optional>

#include "tensor/tensor.h"

namespace infera {

// LibTorch's scalar type for `dtype`; nullopt for a type LibTorch lacks (BYTES, ...).
std::optional<c10::ScalarType> TorchScalarType(DType dtype);
// The protocol's datatype for `type`; nullopt for a type the protocol lacks (bfloat16,
// complex, ...).
std::optional<DType> ProtocolDType(c10::ScalarType type);

}  // namespace infera
