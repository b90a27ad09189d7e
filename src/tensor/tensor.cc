#include "tensor/tensor.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>

#include "common/strings.h"

namespace infera {

namespace {

struct DTypeInfo {
  DType dtype;
  size_t size;
  std::string_view kserve;
  std::string_view yaml;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::kBool, 1, "BOOL", "bool"},       {DType::kUInt8, 1, "UINT8", "uint8"},
    {DType::kUInt16, 2, "UINT16", "uint16"}, {DType::kUInt32, 4, "UINT32", "uint32"},
    {DType::kUInt64, 8, "UINT64", "uint64"}, {DType::kInt8, 1, "INT8", "int8"},
    {DType::kInt16, 2, "INT16", "int16"},    {DType::kInt32, 4, "INT32", "int32"},
    {DType::kInt64, 8, "INT64", "int64"},    {DType::kFP16, 2, "FP16", "float16"},
    {DType::kFP32, 4, "FP32", "float32"},    {DType::kFP64, 8, "FP64", "float64"},
};

const DTypeInfo& Info(DType dtype) {
  for (const auto& info : kDTypes) {
    if (info.dtype == dtype) return info;
  }
  return kDTypes[0];  // unreachable: every enumerator is listed above
}

}  // namespace

size_t DTypeSize(DType dtype) { return Info(dtype).size; }
std::string_view DTypeName(DType dtype) { return Info(dtype).kserve; }

StatusOr<DType> ParseDType(std::string_view name) {
  for (const auto& info : kDTypes) {
    if (name == info.kserve || name == info.yaml) return info.dtype;
  }
  return absl::InvalidArgumentError(StrCat("unknown datatype '", name, "'"));
}

std::string ShapeToString(const Shape& shape) { return StrCat("[", StrJoin(shape, ","), "]"); }

StatusOr<int64_t> NumElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) {
      return absl::InvalidArgumentError(
          StrCat("shape ", ShapeToString(shape), " has a negative dimension"));
    }
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) {
      return absl::InvalidArgumentError(StrCat("shape ", ShapeToString(shape), " is too large"));
    }
    n *= d;
  }
  return n;
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  num_elements_ = NumElements(shape_).value_or(0);
  bytes_.resize(static_cast<size_t>(num_elements_) * DTypeSize(dtype_));
  if (!bytes_.empty()) std::memset(bytes_.data(), 0, bytes_.size());
}

Tensor Tensor::Uninitialized(DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.num_elements_ = NumElements(t.shape_).value_or(0);
  t.bytes_.resize(static_cast<size_t>(t.num_elements_) * DTypeSize(dtype));
  return t;
}

StatusOr<Tensor> Tensor::Create(DType dtype, Shape shape, size_t max_bytes) {
  ASSIGN_OR_RETURN(int64_t n, NumElements(shape));
  const size_t elem = DTypeSize(dtype);
  if (static_cast<uint64_t>(n) > max_bytes / elem) {
    return absl::ResourceExhaustedError(
        StrCat("tensor of shape ", ShapeToString(shape), " exceeds ", max_bytes, " bytes"));
  }
  return Tensor(dtype, std::move(shape));
}

Status Tensor::Reshape(Shape shape) {
  ASSIGN_OR_RETURN(int64_t n, NumElements(shape));
  if (n != num_elements_) {
    return absl::InvalidArgumentError(
        StrCat("cannot reshape ", ShapeToString(shape_), " to ", ShapeToString(shape)));
  }
  shape_ = std::move(shape);
  return absl::OkStatus();
}

StatusOr<Tensor> ConcatDim0(std::span<const Tensor* const> parts) {
  if (parts.empty()) return absl::InvalidArgumentError("nothing to concatenate");
  const Tensor& first = *parts[0];
  if (first.shape().empty()) return absl::InvalidArgumentError("cannot batch a scalar tensor");
  Shape shape = first.shape();
  int64_t rows = 0;
  for (const Tensor* t : parts) {
    if (t->dtype() != first.dtype() || t->shape().size() != shape.size() ||
        !std::equal(t->shape().begin() + 1, t->shape().end(), shape.begin() + 1)) {
      return absl::InvalidArgumentError(
          StrCat("cannot batch ", ShapeToString(t->shape()), " with ", ShapeToString(shape)));
    }
    rows += t->shape()[0];
  }
  shape[0] = rows;
  Tensor out = Tensor::Uninitialized(first.dtype(), shape);  // every row copied below
  std::byte* dst = out.data();
  for (const Tensor* t : parts) {
    if (t->byte_size() > 0) std::memcpy(dst, t->data(), t->byte_size());
    dst += t->byte_size();
  }
  return out;
}

StatusOr<Tensor> SliceDim0(const Tensor& t, int64_t begin, int64_t count) {
  if (t.shape().empty() || begin < 0 || count < 0 || begin + count > t.shape()[0]) {
    return absl::InvalidArgumentError(StrCat("slice [", begin, ",", begin + count,
                                             ") out of range for ", ShapeToString(t.shape())));
  }
  Shape shape = t.shape();
  shape[0] = count;
  Tensor out = Tensor::Uninitialized(t.dtype(), shape);  // every row copied below
  const size_t row_bytes = shape[0] == 0 ? 0 : out.byte_size() / static_cast<size_t>(count);
  if (out.byte_size() > 0) {
    std::memcpy(out.data(), t.data() + static_cast<size_t>(begin) * row_bytes, out.byte_size());
  }
  return out;
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);  // zero/subnormal
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

}  // namespace infera
