#include "backends/torchscript/torch_types.h"

namespace infera {

std::optional<c10::ScalarType> TorchScalarType(DType dtype) {
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
      return std::nullopt;
  }
}

std::optional<DType> ProtocolDType(c10::ScalarType type) {
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
      return std::nullopt;
  }
}

}  // namespace infera
