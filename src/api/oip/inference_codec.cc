#include "api/oip/inference_codec.h"

#include <simdjson.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <unordered_set>
#include <utility>

#include "common/strings.h"

namespace infera {

namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

Status Invalid(std::string message) { return absl::InvalidArgumentError(message); }

std::string InputLabel(std::string_view name) { return StrCat("input '", name, "'"); }

// simdjson's array::size() saturates at 0xFFFFFF; count by walking beyond that.
size_t ArraySize(array a) {
  size_t n = a.size();
  if (n < 0xFFFFFF) return n;
  n = 0;
  for (element e : a) {
    (void)e;
    ++n;
  }
  return n;
}

std::string_view KindName(element_type type) {
  switch (type) {
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
    case element_type::INT64:
    case element_type::UINT64:
      return "an integer";
    case element_type::DOUBLE:
      return "a non-integer number";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "a value";
}

// Converts a (small) simdjson element into nlohmann::json; used for parameters only.
nlohmann::json ToJson(element e) {
  switch (e.type()) {
    case element_type::ARRAY: {
      nlohmann::json out = nlohmann::json::array();
      array a;
      if (e.get_array().get(a) != simdjson::SUCCESS) return nullptr;  // unreachable
      for (element child : a) out.push_back(ToJson(child));
      return out;
    }
    case element_type::OBJECT: {
      nlohmann::json out = nlohmann::json::object();
      object o;
      if (e.get_object().get(o) != simdjson::SUCCESS) return nullptr;  // unreachable
      for (simdjson::dom::key_value_pair kv : o) {
        out[std::string(kv.key)] = ToJson(kv.value);
      }
      return out;
    }
    case element_type::INT64:
      return e.get_int64().value_unsafe();
    case element_type::UINT64:
      return e.get_uint64().value_unsafe();
    case element_type::DOUBLE:
      return e.get_double().value_unsafe();
    case element_type::STRING:
      return std::string(e.get_string().value_unsafe());
    case element_type::BOOL:
      return e.get_bool().value_unsafe();
    case element_type::NULL_VALUE:
      return nullptr;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------
// Element conversion: one JSON scalar into one tensor element.

enum class StoreError { kOk, kType, kRange };

template <DType D>
struct DTypeTraits;
template <>
struct DTypeTraits<DType::kBool> {
  using T = uint8_t;
};
template <>
struct DTypeTraits<DType::kUInt8> {
  using T = uint8_t;
};
template <>
struct DTypeTraits<DType::kUInt16> {
  using T = uint16_t;
};
template <>
struct DTypeTraits<DType::kUInt32> {
  using T = uint32_t;
};
template <>
struct DTypeTraits<DType::kUInt64> {
  using T = uint64_t;
};
template <>
struct DTypeTraits<DType::kInt8> {
  using T = int8_t;
};
template <>
struct DTypeTraits<DType::kInt16> {
  using T = int16_t;
};
template <>
struct DTypeTraits<DType::kInt32> {
  using T = int32_t;
};
template <>
struct DTypeTraits<DType::kInt64> {
  using T = int64_t;
};
template <>
struct DTypeTraits<DType::kFP32> {
  using T = float;
};
template <>
struct DTypeTraits<DType::kFP64> {
  using T = double;
};

template <DType D>
inline StoreError Store(element e, typename DTypeTraits<D>::T* out) {
  using T = typename DTypeTraits<D>::T;
  if constexpr (D == DType::kBool) {
    if (e.type() != element_type::BOOL) return StoreError::kType;
    *out = e.get_bool().value_unsafe() ? 1 : 0;
    return StoreError::kOk;
  } else if constexpr (std::is_floating_point_v<T>) {
    double v;
    if (e.get_double().get(v) != simdjson::SUCCESS) return StoreError::kType;
    if constexpr (std::is_same_v<T, float>) {
      if (std::fabs(v) > static_cast<double>(std::numeric_limits<float>::max())) {
        return StoreError::kRange;
      }
    }
    *out = static_cast<T>(v);
    return StoreError::kOk;
  } else {
    switch (e.type()) {
      case element_type::INT64: {
        const int64_t v = e.get_int64().value_unsafe();
        if constexpr (std::is_signed_v<T>) {
          if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) {
            return StoreError::kRange;
          }
        } else {
          if (v < 0 || static_cast<uint64_t>(v) > std::numeric_limits<T>::max()) {
            return StoreError::kRange;
          }
        }
        *out = static_cast<T>(v);
        return StoreError::kOk;
      }
      case element_type::UINT64: {  // only values above INT64_MAX are stored as UINT64
        const uint64_t v = e.get_uint64().value_unsafe();
        if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) return StoreError::kRange;
        *out = static_cast<T>(v);
        return StoreError::kOk;
      }
      default:
        return StoreError::kType;
    }
  }
}

std::string_view ExpectedKind(DType dtype) {
  switch (dtype) {
    case DType::kBool:
      return "true or false";
    case DType::kFP16:
    case DType::kFP32:
    case DType::kFP64:
      return "a number";
    default:
      return "an integer";
  }
}

Status ElementError(std::string_view name, DType dtype, int64_t index, element e,
                    StoreError error) {
  if (error == StoreError::kRange) {
    return Invalid(StrCat(InputLabel(name), ": data element ", index, " (", simdjson::minify(e),
                          ") is out of range for ", DTypeName(dtype)));
  }
  if (e.type() == element_type::ARRAY) {
    return Invalid(StrCat(InputLabel(name), ": data element ", index,
                          " is an array; data must be flat or nested exactly like the shape"));
  }
  return Invalid(StrCat(InputLabel(name), ": data element ", index, " is ", KindName(e.type()),
                        ", expected ", ExpectedKind(dtype), " for ", DTypeName(dtype)));
}

struct FillContext {
  std::string_view name;
  DType dtype;
  const Shape& shape;
};

Status NestingError(const FillContext& ctx, std::string_view why) {
  return Invalid(StrCat(InputLabel(ctx.name), ": nested data does not match shape ",
                        ShapeToString(ctx.shape), ": ", why));
}

template <DType D>
Status FillFlat(const FillContext& ctx, array data, typename DTypeTraits<D>::T* out) {
  int64_t i = 0;
  for (element e : data) {
    const StoreError error = Store<D>(e, out + i);
    if (error != StoreError::kOk) [[unlikely]] {
      return ElementError(ctx.name, ctx.dtype, i, e, error);
    }
    ++i;
  }
  return absl::OkStatus();
}

// Walks one nested level: `a` must hold shape[level] entries, arrays unless `level` is
// the last dimension. `index` counts the elements written so far.
template <DType D>
Status FillNested(const FillContext& ctx, array a, size_t level, typename DTypeTraits<D>::T* out,
                  int64_t& index) {
  const size_t n = ArraySize(a);
  if (static_cast<uint64_t>(ctx.shape[level]) != n) {
    return NestingError(ctx, StrCat("an array at depth ", level + 1, " has ", n,
                                    " elements, dimension ", level, " is ", ctx.shape[level]));
  }
  if (level + 1 == ctx.shape.size()) {
    for (element e : a) {
      const StoreError error = Store<D>(e, out + index);
      if (error != StoreError::kOk) [[unlikely]] {
        if (e.type() == element_type::ARRAY) {
          return NestingError(
              ctx, StrCat("data nests deeper than the shape's ", ctx.shape.size(), " dimensions"));
        }
        return ElementError(ctx.name, ctx.dtype, index, e, error);
      }
      ++index;
    }
    return absl::OkStatus();
  }
  for (element e : a) {
    array child;
    if (e.get_array().get(child) != simdjson::SUCCESS) {
      return NestingError(
          ctx, StrCat("expected an array at depth ", level + 2, ", found ", KindName(e.type())));
    }
    RETURN_IF_ERROR(FillNested<D>(ctx, child, level + 1, out, index));
  }
  return absl::OkStatus();
}

template <DType D>
Status FillTyped(const FillContext& ctx, array data, bool nested, Tensor& tensor) {
  auto* out = tensor.data_as<typename DTypeTraits<D>::T>();
  if (!nested) return FillFlat<D>(ctx, data, out);
  int64_t index = 0;
  return FillNested<D>(ctx, data, 0, out, index);
}

Status FillFromJson(const FillContext& ctx, array data, bool nested, Tensor& tensor) {
  switch (ctx.dtype) {
    case DType::kBool:
      return FillTyped<DType::kBool>(ctx, data, nested, tensor);
    case DType::kUInt8:
      return FillTyped<DType::kUInt8>(ctx, data, nested, tensor);
    case DType::kUInt16:
      return FillTyped<DType::kUInt16>(ctx, data, nested, tensor);
    case DType::kUInt32:
      return FillTyped<DType::kUInt32>(ctx, data, nested, tensor);
    case DType::kUInt64:
      return FillTyped<DType::kUInt64>(ctx, data, nested, tensor);
    case DType::kInt8:
      return FillTyped<DType::kInt8>(ctx, data, nested, tensor);
    case DType::kInt16:
      return FillTyped<DType::kInt16>(ctx, data, nested, tensor);
    case DType::kInt32:
      return FillTyped<DType::kInt32>(ctx, data, nested, tensor);
    case DType::kInt64:
      return FillTyped<DType::kInt64>(ctx, data, nested, tensor);
    case DType::kFP32:
      return FillTyped<DType::kFP32>(ctx, data, nested, tensor);
    case DType::kFP64:
      return FillTyped<DType::kFP64>(ctx, data, nested, tensor);
    case DType::kFP16:
      break;
  }
  return absl::InternalError(
      StrCat(InputLabel(ctx.name), ": no JSON decoder for ", DTypeName(ctx.dtype)));
}

// ---------------------------------------------------------------------------------------
// Request structure.

// An input whose metadata is validated but whose tensor is not yet allocated.
struct PendingInput {
  std::string name;
  DType dtype = DType::kFP32;
  Shape shape;
  int64_t elements = 0;
  nlohmann::json parameters = nlohmann::json::object();
  bool has_data = false;
  array data;
  bool nested = false;
  std::optional<uint64_t> binary_size;
  bool is_bytes = false;  // a BYTES tensor (dtype unused)
};

// Collects the strings of a BYTES `data` array (flat, or nested to match the shape).
Status CollectStrings(std::string_view name, const Shape& shape, array a, size_t level, bool nested,
                      uint64_t max_bytes, uint64_t& total, std::vector<std::string>& out) {
  const std::string label = InputLabel(name);
  if (nested) {
    const size_t n = ArraySize(a);
    if (static_cast<uint64_t>(shape[level]) != n) {
      return Invalid(StrCat(label, ": nested data does not match shape ", ShapeToString(shape),
                            ": an array at depth ", level + 1, " has ", n, " elements, dimension ",
                            level, " is ", shape[level]));
    }
  }
  const bool leaf = !nested || level + 1 == shape.size();
  for (element e : a) {
    if (!leaf) {
      array child;
      if (e.get_array().get(child) != simdjson::SUCCESS) {
        return Invalid(StrCat(label, ": nested data does not match shape ", ShapeToString(shape),
                              ": expected an array at depth ", level + 2, ", found ",
                              KindName(e.type())));
      }
      RETURN_IF_ERROR(CollectStrings(name, shape, child, level + 1, nested, max_bytes, total, out));
      continue;
    }
    std::string_view s;
    if (e.get_string().get(s) != simdjson::SUCCESS) {
      return Invalid(StrCat(label, ": BYTES element ", out.size(), " must be a string, got ",
                            KindName(e.type())));
    }
    total += s.size();
    if (total > max_bytes) {
      return absl::ResourceExhaustedError(
          StrCat(label, ": BYTES data exceeds the limit of ", max_bytes, " bytes per tensor"));
    }
    out.emplace_back(s);
  }
  return absl::OkStatus();
}

// Splits a binary BYTES segment into exactly `count` length-prefixed elements.
StatusOr<std::vector<std::string>> SplitBytesElements(std::string_view name,
                                                      std::string_view segment, int64_t count) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < segment.size()) {
    if (segment.size() - pos < 4) {
      return Invalid(StrCat(InputLabel(name), ": BYTES element ", out.size(),
                            " is cut short (no room for its 4-byte length)"));
    }
    const auto* p = reinterpret_cast<const unsigned char*>(segment.data() + pos);
    const uint32_t length = static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
                            static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
    pos += 4;
    if (length > segment.size() - pos) {
      return Invalid(StrCat(InputLabel(name), ": BYTES element ", out.size(), " declares ", length,
                            " bytes but only ", segment.size() - pos, " remain"));
    }
    if (static_cast<int64_t>(out.size()) == count) {
      return Invalid(StrCat(InputLabel(name), ": more BYTES elements than the shape's ", count));
    }
    out.emplace_back(segment.substr(pos, length));
    pos += length;
  }
  if (static_cast<int64_t>(out.size()) != count) {
    return Invalid(StrCat(InputLabel(name), ": the binary data holds ", out.size(),
                          " BYTES elements, the shape needs ", count));
  }
  return out;
}

StatusOr<DType> ParseWireDType(std::string_view label, std::string_view name) {
  if (name == "BF16")
    return absl::UnimplementedError(StrCat(label, ": BF16 tensors are not supported"));
  StatusOr<DType> dtype = ParseDType(name);
  // ParseDType also accepts the model.yaml spelling ("float32"); the protocol does not.
  if (!dtype.ok() || DTypeName(*dtype) != name) {
    return Invalid(StrCat(label, ": unknown datatype '", name, "'"));
  }
  return *dtype;
}

StatusOr<Shape> ParseShape(std::string_view label, element e) {
  array dims;
  if (e.get_array().get(dims) != simdjson::SUCCESS) {
    return Invalid(
        StrCat(label, ": 'shape' must be an array of integers, got ", KindName(e.type())));
  }
  Shape shape;
  shape.reserve(dims.size());
  for (element d : dims) {
    const size_t i = shape.size();
    switch (d.type()) {
      case element_type::INT64: {
        const int64_t v = d.get_int64().value_unsafe();
        if (v < 0) {
          return Invalid(StrCat(label, ": shape dimension ", i, " is negative (", v, ")"));
        }
        shape.push_back(v);
        break;
      }
      case element_type::UINT64:
        return Invalid(StrCat(label, ": shape dimension ", i, " (", d.get_uint64().value_unsafe(),
                              ") is too large"));
      default:
        return Invalid(StrCat(label, ": shape dimension ", i, " is ", KindName(d.type()),
                              ", expected a non-negative integer"));
    }
  }
  return shape;
}

StatusOr<nlohmann::json> ParseParameters(std::string_view label, element e) {
  if (e.type() != element_type::OBJECT) {
    return Invalid(StrCat(label, ": 'parameters' must be an object, got ", KindName(e.type())));
  }
  return ToJson(e);
}

Status ParseInput(element e, size_t index, const OipLimits& limits, PendingInput& in) {
  object obj;
  if (e.get_object().get(obj) != simdjson::SUCCESS) {
    return Invalid(StrCat("inputs[", index, "] must be an object, got ", KindName(e.type())));
  }
  std::optional<element> name, shape, datatype, data, parameters;
  for (simdjson::dom::key_value_pair kv : obj) {
    if (kv.key == "name") {
      name = kv.value;
    } else if (kv.key == "shape") {
      shape = kv.value;
    } else if (kv.key == "datatype") {
      datatype = kv.value;
    } else if (kv.key == "data") {
      data = kv.value;
    } else if (kv.key == "parameters") {
      parameters = kv.value;
    }
  }
  if (!name) return Invalid(StrCat("inputs[", index, "] has no 'name'"));
  std::string_view name_view;
  if (name->get_string().get(name_view) != simdjson::SUCCESS) {
    return Invalid(
        StrCat("inputs[", index, "]: 'name' must be a string, got ", KindName(name->type())));
  }
  if (name_view.empty()) return Invalid(StrCat("inputs[", index, "]: 'name' is empty"));
  in.name = std::string(name_view);
  const std::string label = InputLabel(in.name);

  if (!datatype) return Invalid(StrCat(label, " has no 'datatype'"));
  std::string_view dtype_name;
  if (datatype->get_string().get(dtype_name) != simdjson::SUCCESS) {
    return Invalid(
        StrCat(label, ": 'datatype' must be a string, got ", KindName(datatype->type())));
  }
  in.is_bytes = dtype_name == "BYTES";
  if (!in.is_bytes) {
    ASSIGN_OR_RETURN(in.dtype, ParseWireDType(label, dtype_name));
  }

  if (!shape) return Invalid(StrCat(label, " has no 'shape'"));
  ASSIGN_OR_RETURN(in.shape, ParseShape(label, *shape));

  if (parameters) {
    ASSIGN_OR_RETURN(in.parameters, ParseParameters(label, *parameters));
    auto it = in.parameters.find("binary_data_size");
    if (it != in.parameters.end()) {
      if (!it->is_number_integer() || (!it->is_number_unsigned() && it->get<int64_t>() < 0)) {
        return Invalid(
            StrCat(label, ": parameters.binary_data_size must be a non-negative integer"));
      }
      in.binary_size = it->get<uint64_t>();
      in.parameters.erase(it);
    }
  }

  if (data && in.binary_size) {
    return Invalid(StrCat(label, " has both 'data' and parameters.binary_data_size"));
  }
  if (!data && !in.binary_size) return Invalid(StrCat(label, " has no data"));

  StatusOr<int64_t> elements = NumElements(in.shape);
  if (!elements.ok()) {
    return absl::Status(elements.status().code(),
                        StrCat(label, ": ", ToStd(elements.status().message())));
  }
  in.elements = *elements;
  if (in.is_bytes) {
    if (in.binary_size) {
      if (*in.binary_size > limits.max_tensor_bytes) {
        return absl::ResourceExhaustedError(StrCat(label, ": parameters.binary_data_size ",
                                                   *in.binary_size, " exceeds the limit of ",
                                                   limits.max_tensor_bytes, " bytes per tensor"));
      }
      return absl::OkStatus();
    }
    if (data->get_array().get(in.data) != simdjson::SUCCESS) {
      return Invalid(StrCat(label, ": 'data' must be an array, got ", KindName(data->type())));
    }
    in.has_data = true;
    const size_t top = ArraySize(in.data);
    in.nested = top > 0 && (*in.data.begin()).type() == element_type::ARRAY;
    if (!in.nested && static_cast<uint64_t>(in.elements) != top) {
      return Invalid(StrCat(label, ": shape ", ShapeToString(in.shape), " needs ", in.elements,
                            " elements, data has ", top));
    }
    if (in.nested && in.shape.empty()) {
      return Invalid(StrCat(label, ": nested data does not match shape []"));
    }
    return absl::OkStatus();
  }
  const size_t elem_size = DTypeSize(in.dtype);
  if (static_cast<uint64_t>(in.elements) > limits.max_tensor_bytes / elem_size) {
    return absl::ResourceExhaustedError(StrCat(label, ": shape ", ShapeToString(in.shape), " of ",
                                               DTypeName(in.dtype), " exceeds the limit of ",
                                               limits.max_tensor_bytes, " bytes per tensor"));
  }
  const uint64_t byte_size = static_cast<uint64_t>(in.elements) * elem_size;

  if (in.binary_size) {
    if (*in.binary_size != byte_size) {
      return Invalid(StrCat(label, ": parameters.binary_data_size is ", *in.binary_size,
                            " but shape ", ShapeToString(in.shape), " of ", DTypeName(in.dtype),
                            " needs ", byte_size, " bytes"));
    }
    return absl::OkStatus();
  }

  if (in.dtype == DType::kFP16) {
    return Invalid(
        StrCat(label, ": FP16 data in JSON is not supported; use the binary data extension"));
  }
  if (data->get_array().get(in.data) != simdjson::SUCCESS) {
    return Invalid(StrCat(label, ": 'data' must be an array, got ", KindName(data->type())));
  }
  in.has_data = true;
  const size_t top = ArraySize(in.data);
  in.nested = top > 0 && (*in.data.begin()).type() == element_type::ARRAY;
  if (!in.nested) {
    if (static_cast<uint64_t>(in.elements) != top) {
      return Invalid(StrCat(label, ": shape ", ShapeToString(in.shape), " needs ", in.elements,
                            " elements, data has ", top));
    }
    return absl::OkStatus();
  }
  // Nested: check the first chain of arrays against the shape before anything is
  // allocated, so that a tiny body cannot make us allocate a large tensor; the walk
  // that fills the tensor checks every array.
  if (in.shape.empty()) {
    return Invalid(StrCat(label,
                          ": nested data does not match shape []: data nests deeper "
                          "than the shape's 0 dimensions"));
  }
  if (in.shape.size() > static_cast<size_t>(limits.max_json_depth)) {
    return Invalid(StrCat(label, ": shape ", ShapeToString(in.shape), " has more than ",
                          limits.max_json_depth, " dimensions, the nesting limit for data"));
  }
  array level = in.data;
  for (size_t d = 0;; ++d) {
    const size_t n = ArraySize(level);
    if (static_cast<uint64_t>(in.shape[d]) != n) {
      return Invalid(StrCat(label, ": nested data does not match shape ", ShapeToString(in.shape),
                            ": an array at depth ", d + 1, " has ", n, " elements, dimension ", d,
                            " is ", in.shape[d]));
    }
    if (n == 0 || d + 1 == in.shape.size()) break;
    if ((*level.begin()).get_array().get(level) != simdjson::SUCCESS) break;  // walk reports
  }
  return absl::OkStatus();
}

StatusOr<OipRequestedOutput> ParseRequestedOutput(element e, size_t index) {
  object obj;
  if (e.get_object().get(obj) != simdjson::SUCCESS) {
    return Invalid(
        StrCat("outputs[", index, "] must be an object with a 'name', got ", KindName(e.type())));
  }
  OipRequestedOutput out;
  bool has_name = false;
  for (simdjson::dom::key_value_pair kv : obj) {
    if (kv.key == "name") {
      std::string_view name;
      if (kv.value.get_string().get(name) != simdjson::SUCCESS || name.empty()) {
        return Invalid(StrCat("outputs[", index, "]: 'name' must be a non-empty string"));
      }
      out.name = std::string(name);
      has_name = true;
    } else if (kv.key == "parameters") {
      ASSIGN_OR_RETURN(out.parameters, ParseParameters(StrCat("outputs[", index, "]"), kv.value));
    }
  }
  if (!has_name) return Invalid(StrCat("outputs[", index, "] has no 'name'"));
  return out;
}

Status ParseError(simdjson::error_code error, const OipLimits& limits) {
  if (error == simdjson::DEPTH_ERROR) {
    return Invalid(StrCat("request JSON nests too deeply (the limit for 'data' is ",
                          limits.max_json_depth, " levels of arrays)"));
  }
  return Invalid(StrCat("malformed JSON in the request body: ", simdjson::error_message(error)));
}

}  // namespace

StatusOr<size_t> ParseHeaderLength(std::string_view value, size_t body_size) {
  size_t length = 0;
  const char* begin = value.data();
  const char* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(begin, end, length);
  if (value.empty() || ec != std::errc() || ptr != end || value.front() == '+' ||
      value.front() == '-') {
    return Invalid(StrCat("Inference-Header-Content-Length '", value,
                          "' is not a non-negative decimal integer"));
  }
  if (length > body_size) {
    return Invalid(StrCat("Inference-Header-Content-Length ", length,
                          " is larger than the request body (", body_size, " bytes)"));
  }
  return length;
}

StatusOr<OipRequest> DecodeInferRequest(std::string& body, std::optional<size_t> header_length,
                                        const OipLimits& limits) {
  if (header_length) {
    if (*header_length == 0) {
      return Invalid(
          "Inference-Header-Content-Length 0 denotes a raw binary request, which has no JSON "
          "header");
    }
    if (*header_length > body.size()) {
      return Invalid(StrCat("Inference-Header-Content-Length ", *header_length,
                            " is larger than the request body (", body.size(), " bytes)"));
    }
  }
  const size_t json_size = header_length ? *header_length : body.size();
  const size_t max_depth = static_cast<size_t>(std::max(limits.max_json_depth, 1)) + 4;

  simdjson::dom::parser parser;
  if (auto error = parser.allocate(std::max<size_t>(json_size, 64), max_depth)) {
    return absl::ResourceExhaustedError(
        StrCat("cannot parse the request JSON: ", simdjson::error_message(error)));
  }
  element root;
  simdjson::padded_string prefix;  // only with a binary section: holds the JSON header
  simdjson::error_code error;
  if (header_length) {
    prefix = simdjson::padded_string(body.data(), json_size);
    error = parser.parse(prefix.data(), prefix.size(), false).get(root);
  } else {
    body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
    error = parser.parse(body.data(), body.size(), false).get(root);
  }
  if (error) return ParseError(error, limits);

  object request;
  if (root.get_object().get(request) != simdjson::SUCCESS) {
    return Invalid(StrCat("the request body must be a JSON object, got ", KindName(root.type())));
  }

  OipRequest result;
  std::optional<element> inputs, outputs;
  for (simdjson::dom::key_value_pair kv : request) {
    if (kv.key == "id") {
      std::string_view id;
      if (kv.value.get_string().get(id) != simdjson::SUCCESS) {
        return Invalid(StrCat("'id' must be a string, got ", KindName(kv.value.type())));
      }
      result.id = std::string(id);
    } else if (kv.key == "parameters") {
      ASSIGN_OR_RETURN(result.parameters, ParseParameters("request", kv.value));
    } else if (kv.key == "inputs") {
      inputs = kv.value;
    } else if (kv.key == "outputs") {
      outputs = kv.value;
    }
  }

  if (!inputs) return Invalid("the request has no 'inputs'");
  array input_array;
  if (inputs->get_array().get(input_array) != simdjson::SUCCESS || ArraySize(input_array) == 0) {
    return Invalid("'inputs' must be a non-empty array");
  }
  std::vector<PendingInput> pending(ArraySize(input_array));
  // Names are checked with hash sets: a body may hold very many tiny inputs.
  std::unordered_set<std::string_view> input_names;
  {
    size_t i = 0;
    for (element e : input_array) {
      RETURN_IF_ERROR(ParseInput(e, i, limits, pending[i]));
      if (!input_names.insert(pending[i].name).second) {
        return Invalid(StrCat("duplicate input name '", pending[i].name, "'"));
      }
      ++i;
    }
  }

  if (outputs) {
    array output_array;
    if (outputs->get_array().get(output_array) != simdjson::SUCCESS) {
      return Invalid(StrCat("'outputs' must be an array, got ", KindName(outputs->type())));
    }
    result.outputs.reserve(ArraySize(output_array));  // keeps the names' views valid
    std::unordered_set<std::string_view> output_names;
    size_t i = 0;
    for (element e : output_array) {
      ASSIGN_OR_RETURN(OipRequestedOutput out, ParseRequestedOutput(e, i));
      result.outputs.push_back(std::move(out));
      if (!output_names.insert(result.outputs.back().name).second) {
        return Invalid(StrCat("duplicate requested output '", result.outputs.back().name, "'"));
      }
      ++i;
    }
  }

  // Binary tensor data: the declared sizes must cover the bytes after the JSON exactly.
  uint64_t binary_total = 0;
  for (const PendingInput& in : pending) {
    if (!in.binary_size) continue;
    if (!header_length) {
      return Invalid(StrCat(InputLabel(in.name),
                            ": parameters.binary_data_size needs the "
                            "Inference-Header-Content-Length header"));
    }
    binary_total += *in.binary_size;  // each is <= max_tensor_bytes: no overflow
  }
  const uint64_t available = header_length ? body.size() - *header_length : 0;
  if (binary_total > available) {
    return Invalid(StrCat("binary tensor data is short: the inputs declare ", binary_total,
                          " bytes (parameters.binary_data_size) but only ", available,
                          " bytes follow the JSON header"));
  }
  if (binary_total < available) {
    return Invalid(StrCat("binary tensor data has ", available - binary_total,
                          " unexpected trailing bytes: the inputs declare ", binary_total,
                          " bytes (parameters.binary_data_size) but ", available,
                          " bytes follow the JSON header"));
  }

  // Allocate and fill.
  result.inputs.reserve(pending.size());
  size_t offset = header_length ? *header_length : 0;
  for (PendingInput& in : pending) {
    if (in.is_bytes) {
      BytesTensor bytes{in.shape, {}};
      if (in.binary_size) {
        ASSIGN_OR_RETURN(
            bytes.elements,
            SplitBytesElements(in.name, std::string_view(body).substr(offset, *in.binary_size),
                               in.elements));
        offset += *in.binary_size;
      } else {
        uint64_t total = 0;
        bytes.elements.reserve(static_cast<size_t>(in.elements));
        RETURN_IF_ERROR(CollectStrings(in.name, in.shape, in.data, 0, in.nested,
                                       limits.max_tensor_bytes, total, bytes.elements));
      }
      result.inputs.push_back(
          OipInput{std::move(in.name), Tensor(), std::move(in.parameters), std::move(bytes)});
      continue;
    }
    StatusOr<Tensor> tensor = Tensor::Create(in.dtype, in.shape, limits.max_tensor_bytes);
    if (!tensor.ok()) {
      return absl::Status(tensor.status().code(),
                          StrCat(InputLabel(in.name), ": ", ToStd(tensor.status().message())));
    }
    if (in.binary_size) {
      if (*in.binary_size > 0) std::memcpy(tensor->data(), body.data() + offset, *in.binary_size);
      offset += *in.binary_size;
    } else {
      const FillContext ctx{in.name, in.dtype, in.shape};
      RETURN_IF_ERROR(FillFromJson(ctx, in.data, in.nested, *tensor));
    }
    result.inputs.push_back(
        OipInput{std::move(in.name), *std::move(tensor), std::move(in.parameters), std::nullopt});
  }
  return result;
}

StatusOr<Tensor> DecodeRawInput(std::string_view bytes, DType dtype,
                                const Shape& shape_without_batch) {
  Shape shape;
  shape.reserve(shape_without_batch.size() + 1);
  shape.push_back(1);
  int variable = -1;
  for (size_t i = 0; i < shape_without_batch.size(); ++i) {
    const int64_t d = shape_without_batch[i];
    if (d == -1) {
      if (variable >= 0) {
        return Invalid(StrCat("raw binary input: shape ", ShapeToString(shape_without_batch),
                              " has more than one variable dimension"));
      }
      variable = static_cast<int>(i) + 1;
      shape.push_back(1);
    } else {
      shape.push_back(d);
    }
  }
  ASSIGN_OR_RETURN(int64_t fixed, NumElements(shape));
  const size_t elem_size = DTypeSize(dtype);
  if (variable >= 0) {
    // fixed > bytes.size() cannot divide it (and fixed * elem_size could overflow).
    const uint64_t row =
        static_cast<uint64_t>(fixed) > bytes.size() ? 0 : static_cast<uint64_t>(fixed) * elem_size;
    if (row == 0 || bytes.size() % row != 0) {
      return Invalid(StrCat("raw binary input: ", bytes.size(), " bytes is not a whole number of ",
                            DTypeName(dtype), " elements of shape ",
                            ShapeToString(shape_without_batch)));
    }
    shape[variable] = static_cast<int64_t>(bytes.size() / row);
  }
  ASSIGN_OR_RETURN(int64_t elements, NumElements(shape));
  if (static_cast<uint64_t>(elements) > bytes.size() / elem_size ||
      static_cast<uint64_t>(elements) * elem_size != bytes.size()) {
    return Invalid(StrCat("raw binary input: shape ", ShapeToString(shape), " of ",
                          DTypeName(dtype), " needs ", elements, " elements (x", elem_size,
                          " bytes), the body has ", bytes.size(), " bytes"));
  }
  Tensor tensor(dtype, std::move(shape));
  if (!bytes.empty()) std::memcpy(tensor.data(), bytes.data(), bytes.size());
  return tensor;
}

// ---------------------------------------------------------------------------------------
// Encoding.

namespace {

void AppendJsonString(std::string& out, std::string_view s) {
  out +=
      nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

template <typename T>
void AppendNumber(std::string& out, T v) {
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(v)) {
      out += "null";
      return;
    }
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, end);
}

template <typename T, typename F>
void AppendElements(std::string& out, const Tensor& t, F&& write) {
  const int64_t n = t.num_elements();
  const std::byte* p = t.data();
  for (int64_t i = 0; i < n; ++i) {
    if (i) out.push_back(',');
    T v;
    std::memcpy(&v, p + i * sizeof(T), sizeof(T));
    write(v);
  }
}

void AppendData(std::string& out, const Tensor& t) {
  out.push_back('[');
  auto number = [&out](auto v) { AppendNumber(out, v); };
  switch (t.dtype()) {
    case DType::kBool:
      AppendElements<uint8_t>(out, t, [&out](uint8_t v) { out += v ? "true" : "false"; });
      break;
    case DType::kUInt8:
      AppendElements<uint8_t>(out, t, [&out](uint8_t v) { AppendNumber<unsigned>(out, v); });
      break;
    case DType::kUInt16:
      AppendElements<uint16_t>(out, t, number);
      break;
    case DType::kUInt32:
      AppendElements<uint32_t>(out, t, number);
      break;
    case DType::kUInt64:
      AppendElements<uint64_t>(out, t, number);
      break;
    case DType::kInt8:
      AppendElements<int8_t>(out, t, [&out](int8_t v) { AppendNumber<int>(out, v); });
      break;
    case DType::kInt16:
      AppendElements<int16_t>(out, t, number);
      break;
    case DType::kInt32:
      AppendElements<int32_t>(out, t, number);
      break;
    case DType::kInt64:
      AppendElements<int64_t>(out, t, number);
      break;
    case DType::kFP16:
      AppendElements<uint16_t>(out, t, [&out](uint16_t v) { AppendNumber(out, HalfToFloat(v)); });
      break;
    case DType::kFP32:
      AppendElements<float>(out, t, number);
      break;
    case DType::kFP64:
      AppendElements<double>(out, t, number);
      break;
  }
  out.push_back(']');
}

}  // namespace

std::string SerializeBytesElements(const std::vector<std::string>& elements) {
  std::string out;
  size_t total = 0;
  for (const std::string& e : elements) total += 4 + e.size();
  out.reserve(total);
  for (const std::string& e : elements) {
    const auto n = static_cast<uint32_t>(e.size());
    const char length[4] = {static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff),
                            static_cast<char>((n >> 16) & 0xff), static_cast<char>(n >> 24)};
    out.append(length, 4);
    out += e;
  }
  return out;
}

OipEncoded EncodeInferResponse(const std::string& model_name, const std::string& model_version,
                               const std::optional<std::string>& id,
                               const std::vector<OipOutput>& outputs) {
  OipEncoded encoded;
  std::string& out = encoded.body;
  size_t binary_bytes = 0;
  size_t estimate = 128;
  // The binary form of each BYTES output marked binary (empty for the others).
  std::vector<std::string> serialized(outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    const OipOutput& o = outputs[i];
    if (o.bytes) {
      if (o.binary) {
        serialized[i] = SerializeBytesElements(o.bytes->elements);
        binary_bytes += serialized[i].size();
      } else {
        for (const std::string& e : o.bytes->elements) estimate += e.size() + 4;
      }
    } else if (o.binary) {
      binary_bytes += o.tensor.byte_size();
    } else {
      estimate += static_cast<size_t>(o.tensor.num_elements()) * 12;
    }
    estimate += 128 + o.name.size();
  }
  out.reserve(estimate + binary_bytes);

  out += "{\"model_name\":";
  AppendJsonString(out, model_name);
  if (!model_version.empty()) {
    out += ",\"model_version\":";
    AppendJsonString(out, model_version);
  }
  if (id) {
    out += ",\"id\":";
    AppendJsonString(out, *id);
  }
  out += ",\"outputs\":[";
  bool any_binary = false;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const OipOutput& o = outputs[i];
    if (i) out.push_back(',');
    out += "{\"name\":";
    AppendJsonString(out, o.name);
    out += ",\"datatype\":\"";
    out += o.bytes ? "BYTES" : DTypeName(o.tensor.dtype());
    out += "\",\"shape\":[";
    out += StrJoin(o.bytes ? o.bytes->shape : o.tensor.shape(), ",");
    out += "]";
    nlohmann::json parameters = o.parameters.is_object() ? o.parameters : nlohmann::json::object();
    if (o.binary) {
      any_binary = true;
      parameters["binary_data_size"] = o.bytes ? serialized[i].size() : o.tensor.byte_size();
    }
    if (!parameters.empty()) {
      out += ",\"parameters\":";
      out += parameters.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    if (!o.binary && o.bytes) {
      out += ",\"data\":[";
      for (size_t k = 0; k < o.bytes->elements.size(); ++k) {
        if (k) out.push_back(',');
        AppendJsonString(out, o.bytes->elements[k]);
      }
      out += "]";
    } else if (!o.binary) {
      out += ",\"data\":";
      AppendData(out, o.tensor);
    }
    out += "}";
  }
  out += "]}";

  if (any_binary) {
    encoded.header_length = out.size();
    encoded.content_type = "application/octet-stream";
    for (size_t i = 0; i < outputs.size(); ++i) {
      const OipOutput& o = outputs[i];
      if (!o.binary) continue;
      if (o.bytes) {
        out += serialized[i];
      } else if (o.tensor.byte_size() > 0) {
        out.append(reinterpret_cast<const char*>(o.tensor.data()), o.tensor.byte_size());
      }
    }
  } else {
    encoded.content_type = "application/json";
  }
  return encoded;
}

}  // namespace infera
