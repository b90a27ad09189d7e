// Tensor: a dense, row-major, host-memory array with a datatype and a shape.
//
// This is the currency between the HTTP layer, the runners, the batcher and the
// backends; it carries no engine types (LibTorch stays inside backends/torchscript).
// A Tensor owns its bytes (a std::vector<std::byte>); copying a Tensor copies them,
// moving is cheap. Not thread-safe for concurrent mutation; const access from many
// threads is fine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace infera {

// DType: element types, named as the Open Inference Protocol names them.
enum class DType {
  kBool,
  kUInt8,
  kUInt16,
  kUInt32,
  kUInt64,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kFP16,
  kFP32,
  kFP64,
};

// Size of one element in bytes.
size_t DTypeSize(DType dtype);
// "FP32", "UINT8", ... (the KServe v2 spelling).
std::string_view DTypeName(DType dtype);
// Parses the KServe v2 spelling ("FP32") or the model.yaml spelling ("float32").
// InvalidArgument for anything else.
StatusOr<DType> ParseDType(std::string_view name);

using Shape = std::vector<int64_t>;

// "[1,3,224,224]".
std::string ShapeToString(const Shape& shape);

// An IEEE 754 half-precision value (FP16's bit pattern) as a float: exact, including
// subnormals, infinities and NaN.
float HalfToFloat(uint16_t bits);
// Number of elements; InvalidArgument on a negative dimension or on overflow.
StatusOr<int64_t> NumElements(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;
  // A zero-filled tensor. The caller guarantees that the shape is valid (see
  // NumElements); use Tensor::Create for untrusted shapes.
  Tensor(DType dtype, Shape shape);
  // Validates the shape (non-negative, no overflow, at most max_bytes) first.
  static StatusOr<Tensor> Create(DType dtype, Shape shape, size_t max_bytes = SIZE_MAX);
  // As the constructor, but the bytes are left unwritten (no zero fill): for a producer
  // that writes every element before anyone reads one (preprocessing, concatenation,
  // slicing) — a 224×224×3 FP32 input's fill is 600 KB of memset per request.
  static Tensor Uninitialized(DType dtype, Shape shape);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t num_elements() const { return num_elements_; }
  size_t byte_size() const { return bytes_.size(); }

  std::byte* data() { return bytes_.data(); }
  const std::byte* data() const { return bytes_.data(); }
  template <typename T>
  T* data_as() {
    return reinterpret_cast<T*>(bytes_.data());
  }
  template <typename T>
  const T* data_as() const {
    return reinterpret_cast<const T*>(bytes_.data());
  }

  // Reinterprets the same bytes with another shape of the same element count.
  Status Reshape(Shape shape);

 private:
  DType dtype_ = DType::kFP32;
  Shape shape_;
  int64_t num_elements_ = 0;
  // Value-initialising construct() is replaced by default-initialisation: resize leaves
  // bytes unwritten, and the constructor zero-fills them explicitly.
  template <typename T>
  struct DefaultInitAllocator : std::allocator<T> {
    template <typename U>
    struct rebind {
      using other = DefaultInitAllocator<U>;
    };
    using std::allocator<T>::allocator;
    template <typename U>
    void construct(U* p) noexcept {
      ::new (static_cast<void*>(p)) U;
    }
    template <typename U, typename... Args>
    void construct(U* p, Args&&... args) {
      ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
  };
  std::vector<std::byte, DefaultInitAllocator<std::byte>> bytes_;
};

// Concatenates tensors along dimension 0. All parts must share dtype and the
// dimensions after the first (InvalidArgument otherwise).
StatusOr<Tensor> ConcatDim0(std::span<const Tensor* const> parts);
// Copies rows [begin, begin + count) of dimension 0 into a new tensor.
StatusOr<Tensor> SliceDim0(const Tensor& t, int64_t begin, int64_t count);

}  // namespace infera
