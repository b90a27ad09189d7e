#include "serving/classification.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "common/strings.h"

namespace infera {

namespace {

// Element i of `t` as a double.
double ValueAt(const Tensor& t, int64_t i) {
  const std::byte* p = t.data() + static_cast<size_t>(i) * DTypeSize(t.dtype());
  auto load = [p]<typename T>(T) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return static_cast<double>(v);
  };
  switch (t.dtype()) {
    case DType::kBool:
    case DType::kUInt8:
      return load(uint8_t{});
    case DType::kUInt16:
      return load(uint16_t{});
    case DType::kUInt32:
      return load(uint32_t{});
    case DType::kUInt64:
      return load(uint64_t{});
    case DType::kInt8:
      return load(int8_t{});
    case DType::kInt16:
      return load(int16_t{});
    case DType::kInt32:
      return load(int32_t{});
    case DType::kInt64:
      return load(int64_t{});
    case DType::kFP32:
      return load(float{});
    case DType::kFP64:
      return load(double{});
    case DType::kFP16: {
      uint16_t bits;
      std::memcpy(&bits, p, sizeof(bits));
      return HalfToFloat(bits);
    }
  }
  return 0;
}

}  // namespace

StatusOr<BytesTensor> ClassifyOutput(const Tensor& output, int64_t top_n,
                                     const std::vector<std::string>& labels) {
  if (top_n < 1) {
    return absl::InvalidArgumentError(
        StrCat("classification must be a positive integer, got ", top_n));
  }
  if (output.shape().empty()) {
    return absl::InvalidArgumentError("classification needs an output with a batch dimension");
  }
  const int64_t batch = output.shape()[0];
  const int64_t per_row = batch > 0 ? output.num_elements() / batch : 0;
  if (per_row < 1) {
    return absl::InvalidArgumentError(StrCat("classification: output of shape ",
                                             ShapeToString(output.shape()), " has no classes"));
  }
  const int64_t n = std::min(top_n, per_row);
  BytesTensor out{{batch, n}, {}};
  out.elements.reserve(static_cast<size_t>(batch * n));
  std::vector<int64_t> order(static_cast<size_t>(per_row));
  std::vector<double> row(static_cast<size_t>(per_row));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t k = 0; k < per_row; ++k)
      row[static_cast<size_t>(k)] = ValueAt(output, b * per_row + k);
    std::iota(order.begin(), order.end(), 0);
    // NaN sorts last; equal values keep index order.
    auto better = [&row](int64_t x, int64_t y) {
      const double a = row[static_cast<size_t>(x)], c = row[static_cast<size_t>(y)];
      const bool a_nan = std::isnan(a), c_nan = std::isnan(c);
      if (a_nan != c_nan) return c_nan;  // a number beats NaN
      if (!a_nan && a != c) return a > c;
      return x < y;
    };
    std::partial_sort(order.begin(), order.begin() + n, order.end(), better);
    for (int64_t k = 0; k < n; ++k) {
      const int64_t index = order[static_cast<size_t>(k)];
      std::string entry = StrCat(std::to_string(row[static_cast<size_t>(index)]), ":", index);
      if (index < static_cast<int64_t>(labels.size())) {
        entry += ":";
        entry += labels[static_cast<size_t>(index)];
      }
      out.elements.push_back(std::move(entry));
    }
  }
  return out;
}

}  // namespace infera
