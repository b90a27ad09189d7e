// The Open Inference Protocol's request and response in memory, as every front end
// builds them (the HTTP codec from JSON and binary bodies, a gRPC front end from its
// messages) and the tensor-inference service (serving/tensor_inference.h) takes them.
// Plain values; no protocol encoding here.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace infera {

// A BYTES tensor: product(shape) byte strings in row-major order.
struct BytesTensor {
  Shape shape;
  std::vector<std::string> elements;
};

// One `$request_input`.
struct OipInput {
  std::string name;
  Tensor tensor;  // dtype + shape + bytes (row-major, little-endian host order)
  nlohmann::json parameters = nlohmann::json::object();  // minus binary_data_size
  std::optional<BytesTensor> bytes = std::nullopt;       // set (and `tensor` empty) for BYTES
};

// One `$request_output`.
struct OipRequestedOutput {
  std::string name;
  nlohmann::json parameters = nlohmann::json::object();
};

struct OipRequest {
  std::optional<std::string> id;
  nlohmann::json parameters = nlohmann::json::object();  // request-level parameters
  std::vector<OipInput> inputs;
  std::vector<OipRequestedOutput> outputs;  // empty = all outputs
};

// One output tensor of an inference response.
struct OipOutput {
  std::string name;
  Tensor tensor;
  bool binary = false;                                   // send with the binary data extension
  nlohmann::json parameters = nlohmann::json::object();  // written when non-empty
  std::optional<BytesTensor> bytes = std::nullopt;       // set: a BYTES output (`tensor` unused)
};

// An inference response: the model, the request's id, the outputs in answer order.
struct OipResponse {
  std::string model_name;
  std::string model_version;
  std::optional<std::string> id;
  std::vector<OipOutput> outputs;
};

}  // namespace infera
