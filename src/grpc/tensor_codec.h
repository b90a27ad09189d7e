// The gRPC messages of an inference (ModelInferRequest / ModelInferResponse) to and
// from the protocol's in-memory request and response (serving/oip_types.h). Wire
// translation only: what a request may ask is TensorInference's to decide.
//
// Decoding rules:
//   * Each input carries its data either in `contents` (typed, the field its datatype
//     names in proto/grpc_service.proto) or, for every input at once, in
//     raw_input_contents (one entry per input, in input order); never both.
//   * Typed: exactly product(shape) values in the datatype's field and none in any
//     other; values range-checked against narrower types (300 in UINT8 is an error);
//     FP16 has no typed field (raw only).
//   * Raw: exactly product(shape) x size bytes, little-endian; BYTES elements are each
//     a 4-byte little-endian length then its bytes (the binary data extension's form).
//   * Datatypes use the protocol's spelling ("FP32"); parameters map to JSON values
//     (bool, int64, uint64, double, string); a parameter with no value is refused.
//   * A tensor over max_tensor_bytes is ResourceExhausted, checked before allocation.
//   All errors InvalidArgument naming the tensor, unless said otherwise.
//
// Encoding: outputs go in raw_output_contents (all of them, in output order) when any
// output is binary (TensorInference's choice: the default for gRPC, as Triton answers;
// `binary_data_output: false` or an output's `binary_data: false` asks for typed
// `contents`); else each in its typed field. FP16 outputs are raw only.
//
// Thread-safety: pure functions.
#pragma once

#include <proto/grpc_service.pb.h>

#include <cstddef>

#include "common/status.h"
#include "serving/oip_types.h"

namespace infera {

StatusOr<OipRequest> DecodeGrpcInferRequest(const inference::ModelInferRequest& request,
                                            size_t max_tensor_bytes);

Status EncodeGrpcInferResponse(const OipResponse& response, inference::ModelInferResponse* out);

// Parameters (request, tensor) as JSON values and back.
StatusOr<nlohmann::json> ParametersToJson(
    const google::protobuf::Map<std::string, inference::InferParameter>& parameters);
void JsonToParameters(const nlohmann::json& parameters,
                      google::protobuf::Map<std::string, inference::InferParameter>* out);

}  // namespace infera
