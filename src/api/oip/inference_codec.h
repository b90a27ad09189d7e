// Open Inference Protocol (KServe v2) inference codec: decodes `$inference_request`
// bodies (JSON, JSON + binary tensor data extension, raw binary) into Tensors and
// encodes `$inference_response` bodies.
//
// Thread-safety: every function here is a pure function of its arguments (no shared
// state, no globals); call them from any number of threads concurrently.
//
// Errors (all decoding errors name the tensor and the reason):
//   InvalidArgument   malformed JSON, wrong field types, unknown datatype, bad shape,
//                     element count/type/range mismatch, nesting mismatch, bad binary
//                     sizes, bad Inference-Header-Content-Length.
//   ResourceExhausted a tensor larger than OipLimits::max_tensor_bytes (checked before
//                     anything is allocated).
//   Unimplemented     BF16 tensors.
//
// Decoding rules (protocol text: b.3, b.6, b.8):
//   * `data` may be flat or nested. Nested data must match the shape exactly (one array
//     level per dimension, rectangular); flat data must have product(shape) elements.
//   * INT*/UINT* accept JSON integers only, range-checked (300 in UINT8 is an error);
//     FP32/FP64 accept any JSON number (FP32 values beyond FLT_MAX are an error); BOOL
//     accepts true/false only (stored as one byte, 0 or 1). FP16 in JSON is refused
//     (binary data extension only), as Triton does.
//   * Binary extension: an input with `parameters.binary_data_size` carries no `data`;
//     the segments follow the JSON header in input order, each exactly elements x
//     dtype-size bytes, and together exactly body.size() - header_length bytes.
//     `binary_data_size` is removed from the kept input parameters.
//   * BYTES tensors are kept apart (OipInput::bytes, no Tensor): in JSON each element is
//     a string (flat or nested like numbers); with the binary extension each element is
//     a 4-byte little-endian length followed by that many bytes, and
//     binary_data_size is the size of all of them. The elements' bytes together may not
//     exceed OipLimits::max_tensor_bytes.
//   * Datatypes use the KServe spelling only ("FP32", not "float32").
//   * Unknown keys in the request, inputs and outputs are ignored.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "serving/oip_types.h"
#include "tensor/tensor.h"

namespace infera {

struct OipLimits {
  // Largest single tensor (bytes) a request may carry; larger ones are
  // ResourceExhausted. Default: Triton's --http-max-input-size (64 MiB).
  size_t max_tensor_bytes = 64u << 20;
  // Deepest nesting of a `data` array (1 = flat, 100 = Triton's limit). The same bound
  // applies to the whole document: anything nesting deeper than such data (counting the
  // request object, the inputs array and the input object) is refused.
  int max_json_depth = 100;
};

// Decodes an inference request.
//
// `body` is the whole HTTP body. `header_length` is the parsed
// Inference-Header-Content-Length header (see ParseHeaderLength): nullopt when absent
// (the whole body is JSON); otherwise body[0, header_length) is the JSON header and the
// rest holds the binary tensors of the inputs that carry parameters.binary_data_size, in
// input order. header_length == 0 denotes a raw binary request, which this function
// refuses (InvalidArgument): use DecodeRawInput for it.
//
// `body` is taken by non-const reference only to reserve simdjson's padding after its
// end (body.reserve(size + SIMDJSON_PADDING), which may reallocate it); its contents and
// size are never changed. Reserve the padding when reading the body to avoid a copy.
// The returned request owns all its data (it does not point into `body`).
StatusOr<OipRequest> DecodeInferRequest(std::string& body, std::optional<size_t> header_length,
                                        const OipLimits& limits = {});

// Parses an Inference-Header-Content-Length header value: a decimal integer (ASCII
// digits only, no sign or spaces) in [0, body_size]; InvalidArgument otherwise.
StatusOr<size_t> ParseHeaderLength(std::string_view value, size_t body_size);

// Decodes a raw binary request body (Inference-Header-Content-Length: 0): the body is
// the bytes of the single input for a batch of 1. Returns a tensor of shape
// [1, shape_without_batch...]; the byte size must match exactly (InvalidArgument
// otherwise). At most one dimension of shape_without_batch may be -1 (variable); it is
// then inferred from the byte size, which must divide evenly. BYTES is Unimplemented.
StatusOr<Tensor> DecodeRawInput(std::string_view bytes, DType dtype,
                                const Shape& shape_without_batch);

// The binary-extension form of a BYTES tensor's elements: for each, its length as a
// 4-byte little-endian unsigned integer, then its bytes.
std::string SerializeBytesElements(const std::vector<std::string>& elements);

struct OipEncoded {
  std::string body;
  std::string content_type;
  // The Inference-Header-Content-Length to send (the JSON size) when any output is
  // binary; nullopt otherwise.
  std::optional<size_t> header_length;
};

// Encodes `$inference_response`:
//   {"model_name": ..., "model_version": ... (omitted when empty), "id": ... (when given),
//    "outputs": [{"name", "datatype", "shape", "parameters"?, "data"?}]}
// `data` is always flat. Outputs with binary=true get parameters.binary_data_size and no
// `data`; their bytes are appended after the JSON in output order, content_type is
// "application/octet-stream" and header_length is the JSON size. Without binary
// outputs: content_type "application/json", no header_length.
// Numbers: integers exactly, FP32/FP64 with std::to_chars (shortest round-trip form of
// the value's own type), FP16 converted to float. NaN and +-Inf have no JSON
// representation and are written as null. BOOL is written as true/false (any nonzero
// byte is true). Strings are JSON-escaped; invalid UTF-8 is replaced with U+FFFD.
// BYTES outputs: `data` is an array of strings (JSON-escaped as above), or in binary
// each element as a 4-byte little-endian length and its bytes.
OipEncoded EncodeInferResponse(const std::string& model_name, const std::string& model_version,
                               const std::optional<std::string>& id,
                               const std::vector<OipOutput>& outputs);

}  // namespace infera
