#include "training/torch_convert.h"

#include <torch/torch.h>

#include <cstring>

#include "backends/torchscript/torch_types.h"
#include "common/strings.h"

namespace infera {

namespace {

StatusOr<c10::ScalarType> TorchType(DType dtype) {
  std::optional<c10::ScalarType> type = TorchScalarType(dtype);
  if (!type) {
    return absl::InvalidArgumentError(
        StrCat("datatype ", DTypeName(dtype), " cannot be trained on"));
  }
  return *type;
}

StatusOr<DType> HostType(c10::ScalarType type) {
  std::optional<DType> dtype = ProtocolDType(type);
  if (!dtype) {
    return absl::InvalidArgumentError(
        StrCat("tensor type ", c10::toString(type), " has no protocol datatype"));
  }
  return *dtype;
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
