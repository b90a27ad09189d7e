#include "training/torch_convert.h"

#include <torch/torch.h>

#include <cstring>

#include "common/strings.h"

namespace infera {

namespace {

StatusOr<c10::ScalarType> TorchType(DType dtype) {
  switch (dtype) {
    case DType::kBool:
      return c10::kBool;
    case DType::kUInt8:
      return c10::kByte;
    case DType::kInt8:
      return c10::kChar;
    case DType::kInt16:
      return c10::kShort;
    case DType::kInt32:
      return c10::kInt;
    case DType::kInt64:
      return c10::kLong;
    case DType::kFP16:
      return c10::kHalf;
    case DType::kFP32:
      return c10::kFloat;
    case DType::kFP64:
      return c10::kDouble;
    default:
      return absl::InvalidArgumentError(
          StrCat("datatype ", DTypeName(dtype), " cannot be trained on"));
  }
}

StatusOr<DType> HostType(c10::ScalarType type) {
  switch (type) {
    case c10::kBool:
      return DType::kBool;
    case c10::kByte:
      return DType::kUInt8;
    case c10::kChar:
      return DType::kInt8;
    case c10::kShort:
      return DType::kInt16;
    case c10::kInt:
      return DType::kInt32;
    case c10::kLong:
      return DType::kInt64;
    case c10::kHalf:
      return DType::kFP16;
    case c10::kFloat:
      return DType::kFP32;
    case c10::kDouble:
      return DType::kFP64;
    default:
      return absl::InvalidArgumentError(
          StrCat("tensor type ", c10::toString(type), " has no protocol datatype"));
  }
}

}  // namespace

StatusOr<at::Tensor> ToTorchTensor(const Tensor& tensor) {
  ASSIGN_OR_RETURN(c10::ScalarType type, TorchType(tensor.dtype()));
  at::Tensor out = torch::empty(tensor.shape(), torch::TensorOptions(type));
  if (tensor.byte_size() > 0) std::memcpy(out.data_ptr(), tensor.data(), tensor.byte_size());
  return out;
}

StatusOr<Tensor> FromTorchTensor(const at::Tensor& tensor) {
  const at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
  ASSIGN_OR_RETURN(DType dtype, HostType(t.scalar_type()));
  Tensor out(dtype, Shape(t.sizes().begin(), t.sizes().end()));
  if (out.byte_size() > 0) std::memcpy(out.data(), t.data_ptr(), out.byte_size());
  return out;
}

}  // namespace infera
