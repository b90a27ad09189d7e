#include "grpc/tensor_codec.h"

#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "common/strings.h"

namespace infera {

namespace {

using inference::InferTensorContents;

Status Bad(const std::string& tensor, const std::string& why) {
  return absl::InvalidArgumentError(StrCat("input '", tensor, "': ", why));
}

// The typed field that holds `dtype` ("" for FP16: none).
const char* ContentsField(DType dtype) {
  switch (dtype) {
    case DType::kBool:
      return "bool_contents";
    case DType::kInt8:
    case DType::kInt16:
    case DType::kInt32:
      return "int_contents";
    case DType::kInt64:
      return "int64_contents";
    case DType::kUInt8:
    case DType::kUInt16:
    case DType::kUInt32:
      return "uint_contents";
    case DType::kUInt64:
      return "uint64_contents";
    case DType::kFP32:
      return "fp32_contents";
    case DType::kFP64:
      return "fp64_contents";
    case DType::kFP16:
      return "";
  }
  return "";
}

// Values in each typed field, by field name.
std::vector<std::pair<const char*, int>> FieldSizes(const InferTensorContents& c) {
  return {
      {"bool_contents", c.bool_contents_size()},     {"int_contents", c.int_contents_size()},
      {"int64_contents", c.int64_contents_size()},   {"uint_contents", c.uint_contents_size()},
      {"uint64_contents", c.uint64_contents_size()}, {"fp32_contents", c.fp32_contents_size()},
      {"fp64_contents", c.fp64_contents_size()},     {"bytes_contents", c.bytes_contents_size()}};
}

// Copies `values` into `out` as T, range-checked.
template <typename T, typename Repeated>
Status CopyValues(const std::string& name, const Repeated& values, Tensor* out) {
  T* dst = out->data_as<T>();
  int64_t i = 0;
  for (const auto v : values) {
    using V = std::decay_t<decltype(v)>;
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, V>) {
      if (!std::in_range<T>(v)) {
        return Bad(
            name, StrCat("value ", v, " at ", i, " is out of range for ", DTypeName(out->dtype())));
      }
    }
    dst[i++] = static_cast<T>(v);
  }
  return absl::OkStatus();
}

Status CopyTyped(const std::string& name, const InferTensorContents& c, Tensor* t) {
  switch (t->dtype()) {
    case DType::kBool: {
      uint8_t* dst = t->data_as<uint8_t>();
      for (int i = 0; i < c.bool_contents_size(); ++i) dst[i] = c.bool_contents(i) ? 1 : 0;
      return absl::OkStatus();
    }
    case DType::kInt8:
      return CopyValues<int8_t>(name, c.int_contents(), t);
    case DType::kInt16:
      return CopyValues<int16_t>(name, c.int_contents(), t);
    case DType::kInt32:
      return CopyValues<int32_t>(name, c.int_contents(), t);
    case DType::kInt64:
      return CopyValues<int64_t>(name, c.int64_contents(), t);
    case DType::kUInt8:
      return CopyValues<uint8_t>(name, c.uint_contents(), t);
    case DType::kUInt16:
      return CopyValues<uint16_t>(name, c.uint_contents(), t);
    case DType::kUInt32:
      return CopyValues<uint32_t>(name, c.uint_contents(), t);
    case DType::kUInt64:
      return CopyValues<uint64_t>(name, c.uint64_contents(), t);
    case DType::kFP32:
      return CopyValues<float>(name, c.fp32_contents(), t);
    case DType::kFP64:
      return CopyValues<double>(name, c.fp64_contents(), t);
    case DType::kFP16:
      break;
  }
  return Bad(name, "FP16 has no typed contents: send it in raw_input_contents");
}

// BYTES elements from their raw form (4-byte little-endian length, then the bytes).
StatusOr<std::vector<std::string>> SplitBytesElements(const std::string& name,
                                                      const std::string& raw) {
  std::vector<std::string> elements;
  size_t at = 0;
  while (at < raw.size()) {
    if (raw.size() - at < 4) return Bad(name, "a BYTES element's 4-byte length is cut short");
    const auto* p = reinterpret_cast<const unsigned char*>(raw.data() + at);
    const uint32_t length = static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
                            static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
    at += 4;
    if (raw.size() - at < length) {
      return Bad(name, StrCat("a BYTES element of ", length, " bytes is cut short"));
    }
    elements.emplace_back(raw.substr(at, length));
    at += length;
  }
  return elements;
}

std::string JoinBytesElements(const std::vector<std::string>& elements) {
  std::string out;
  for (const std::string& e : elements) {
    const auto n = static_cast<uint32_t>(e.size());
    const char length[4] = {static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff),
                            static_cast<char>((n >> 16) & 0xff),
                            static_cast<char>((n >> 24) & 0xff)};
    out.append(length, 4);
    out.append(e);
  }
  return out;
}

StatusOr<OipInput> DecodeInput(const inference::ModelInferRequest::InferInputTensor& in,
                               const std::string* raw, size_t max_tensor_bytes) {
  OipInput out;
  out.name = in.name();
  const Shape shape(in.shape().begin(), in.shape().end());
  StatusOr<int64_t> count = NumElements(shape);
  if (!count.ok()) return Bad(in.name(), std::string(count.status().message()));
  ASSIGN_OR_RETURN(out.parameters, ParametersToJson(in.parameters()));
  const std::vector<std::pair<const char*, int>> sizes = FieldSizes(in.contents());

  if (in.datatype() == "BYTES") {
    BytesTensor bytes;
    bytes.shape = shape;
    if (raw != nullptr) {
      ASSIGN_OR_RETURN(bytes.elements, SplitBytesElements(in.name(), *raw));
    } else {
      for (const auto& [field, n] : sizes) {
        if (n > 0 && std::strcmp(field, "bytes_contents") != 0) {
          return Bad(in.name(), StrCat("BYTES data goes in bytes_contents, not ", field));
        }
      }
      size_t total = 0;
      for (const std::string& e : in.contents().bytes_contents()) total += e.size();
      if (total > max_tensor_bytes) {
        return absl::ResourceExhaustedError(StrCat(
            "input '", in.name(), "': ", total, " bytes exceed the limit of ", max_tensor_bytes));
      }
      bytes.elements.assign(in.contents().bytes_contents().begin(),
                            in.contents().bytes_contents().end());
    }
    if (static_cast<int64_t>(bytes.elements.size()) != *count) {
      return Bad(in.name(), StrCat("shape ", ShapeToString(shape), " needs ", *count,
                                   " elements, got ", bytes.elements.size()));
    }
    out.bytes = std::move(bytes);
    return out;
  }

  StatusOr<DType> dtype = ParseDType(in.datatype());
  if (!dtype.ok() || DTypeName(*dtype) != in.datatype()) {
    return Bad(in.name(), StrCat("unknown datatype '", in.datatype(), "'"));
  }
  StatusOr<Tensor> tensor = Tensor::Create(*dtype, shape, max_tensor_bytes);
  if (!tensor.ok()) {
    return absl::Status(tensor.status().code(),
                        StrCat("input '", in.name(), "': ", tensor.status().message()));
  }
  if (raw != nullptr) {
    if (raw->size() != tensor->byte_size()) {
      return Bad(in.name(), StrCat("shape ", ShapeToString(shape), " of ", in.datatype(), " needs ",
                                   tensor->byte_size(), " bytes, got ", raw->size()));
    }
    if (!raw->empty()) std::memcpy(tensor->data(), raw->data(), raw->size());
    out.tensor = std::move(*tensor);
    return out;
  }
  const std::string want = ContentsField(*dtype);
  if (want.empty()) return CopyTyped(in.name(), in.contents(), &*tensor);  // FP16: refused
  for (const auto& [field, n] : sizes) {
    if (field == want) {
      if (n != *count) {
        return Bad(in.name(), StrCat("shape ", ShapeToString(shape), " needs ", *count,
                                     " values in ", want, ", got ", n));
      }
    } else if (n > 0) {
      return Bad(in.name(), StrCat(in.datatype(), " data goes in ", want, ", not ", field));
    }
  }
  RETURN_IF_ERROR(CopyTyped(in.name(), in.contents(), &*tensor));
  out.tensor = std::move(*tensor);
  return out;
}

// Appends `t`'s values to the typed field of its datatype.
template <typename T, typename Repeated>
void AppendValues(const Tensor& t, Repeated* field) {
  const T* src = t.data_as<T>();
  field->Reserve(static_cast<int>(t.num_elements()));
  for (int64_t i = 0; i < t.num_elements(); ++i) field->Add(src[i]);
}

Status EncodeTyped(const OipOutput& o, InferTensorContents* c) {
  const Tensor& t = o.tensor;
  switch (t.dtype()) {
    case DType::kBool: {
      const uint8_t* src = t.data_as<uint8_t>();
      for (int64_t i = 0; i < t.num_elements(); ++i) c->add_bool_contents(src[i] != 0);
      return absl::OkStatus();
    }
    case DType::kInt8:
      AppendValues<int8_t>(t, c->mutable_int_contents());
      return absl::OkStatus();
    case DType::kInt16:
      AppendValues<int16_t>(t, c->mutable_int_contents());
      return absl::OkStatus();
    case DType::kInt32:
      AppendValues<int32_t>(t, c->mutable_int_contents());
      return absl::OkStatus();
    case DType::kInt64:
      AppendValues<int64_t>(t, c->mutable_int64_contents());
      return absl::OkStatus();
    case DType::kUInt8:
      AppendValues<uint8_t>(t, c->mutable_uint_contents());
      return absl::OkStatus();
    case DType::kUInt16:
      AppendValues<uint16_t>(t, c->mutable_uint_contents());
      return absl::OkStatus();
    case DType::kUInt32:
      AppendValues<uint32_t>(t, c->mutable_uint_contents());
      return absl::OkStatus();
    case DType::kUInt64:
      AppendValues<uint64_t>(t, c->mutable_uint64_contents());
      return absl::OkStatus();
    case DType::kFP32:
      AppendValues<float>(t, c->mutable_fp32_contents());
      return absl::OkStatus();
    case DType::kFP64:
      AppendValues<double>(t, c->mutable_fp64_contents());
      return absl::OkStatus();
    case DType::kFP16:
      break;
  }
  return absl::InvalidArgumentError(
      StrCat("output '", o.name, "' is FP16, which has no typed contents: ask for it in binary"));
}

}  // namespace

StatusOr<nlohmann::json> ParametersToJson(
    const google::protobuf::Map<std::string, inference::InferParameter>& parameters) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, p] : parameters) {
    switch (p.parameter_choice_case()) {
      case inference::InferParameter::kBoolParam:
        out[key] = p.bool_param();
        break;
      case inference::InferParameter::kInt64Param:
        out[key] = p.int64_param();
        break;
      case inference::InferParameter::kUint64Param:
        out[key] = p.uint64_param();
        break;
      case inference::InferParameter::kDoubleParam:
        out[key] = p.double_param();
        break;
      case inference::InferParameter::kStringParam:
        out[key] = p.string_param();
        break;
      case inference::InferParameter::PARAMETER_CHOICE_NOT_SET:
        return absl::InvalidArgumentError(StrCat("parameter '", key, "' has no value"));
    }
  }
  return out;
}

void JsonToParameters(const nlohmann::json& parameters,
                      google::protobuf::Map<std::string, inference::InferParameter>* out) {
  for (const auto& [key, v] : parameters.items()) {
    inference::InferParameter& p = (*out)[key];
    if (v.is_boolean()) {
      p.set_bool_param(v.get<bool>());
    } else if (v.is_number_unsigned()) {
      p.set_uint64_param(v.get<uint64_t>());
    } else if (v.is_number_integer()) {
      p.set_int64_param(v.get<int64_t>());
    } else if (v.is_number_float()) {
      p.set_double_param(v.get<double>());
    } else if (v.is_string()) {
      p.set_string_param(v.get<std::string>());
    } else {
      p.set_string_param(v.dump());
    }
  }
}

StatusOr<OipRequest> DecodeGrpcInferRequest(const inference::ModelInferRequest& request,
                                            size_t max_tensor_bytes) {
  OipRequest out;
  if (!request.id().empty()) out.id = request.id();
  ASSIGN_OR_RETURN(out.parameters, ParametersToJson(request.parameters()));
  const bool raw = request.raw_input_contents_size() > 0;
  if (raw && request.raw_input_contents_size() != request.inputs_size()) {
    return absl::InvalidArgumentError(StrCat("raw_input_contents has ",
                                             request.raw_input_contents_size(), " entries for ",
                                             request.inputs_size(), " inputs"));
  }
  for (int i = 0; i < request.inputs_size(); ++i) {
    const auto& in = request.inputs(i);
    if (raw && in.has_contents()) {
      return Bad(in.name(), "contents and raw_input_contents are exclusive");
    }
    ASSIGN_OR_RETURN(
        OipInput decoded,
        DecodeInput(in, raw ? &request.raw_input_contents(i) : nullptr, max_tensor_bytes));
    out.inputs.push_back(std::move(decoded));
  }
  for (const auto& o : request.outputs()) {
    OipRequestedOutput requested;
    requested.name = o.name();
    ASSIGN_OR_RETURN(requested.parameters, ParametersToJson(o.parameters()));
    out.outputs.push_back(std::move(requested));
  }
  return out;
}

Status EncodeGrpcInferResponse(const OipResponse& response, inference::ModelInferResponse* out) {
  out->set_model_name(response.model_name);
  out->set_model_version(response.model_version);
  if (response.id) out->set_id(*response.id);
  bool raw = false;
  for (const OipOutput& o : response.outputs) raw = raw || o.binary;
  for (const OipOutput& o : response.outputs) {
    auto* t = out->add_outputs();
    t->set_name(o.name);
    JsonToParameters(o.parameters, t->mutable_parameters());
    if (o.bytes) {
      t->set_datatype("BYTES");
      for (int64_t d : o.bytes->shape) t->add_shape(d);
      if (raw) {
        out->add_raw_output_contents(JoinBytesElements(o.bytes->elements));
      } else {
        for (const std::string& e : o.bytes->elements) t->mutable_contents()->add_bytes_contents(e);
      }
      continue;
    }
    t->set_datatype(std::string(DTypeName(o.tensor.dtype())));
    for (int64_t d : o.tensor.shape()) t->add_shape(d);
    if (raw) {
      out->add_raw_output_contents(
          std::string(reinterpret_cast<const char*>(o.tensor.data()), o.tensor.byte_size()));
    } else {
      RETURN_IF_ERROR(EncodeTyped(o, t->mutable_contents()));
    }
  }
  return absl::OkStatus();
}

}  // namespace infera
