// The Open Inference Protocol's server and model metadata (b.1 of the reference), as
// every front end answers them: HTTP GET /v2 and /v2/models/{m}, gRPC ServerMetadata
// and ModelMetadata. Plain values; each front end encodes them.
#pragma once

#include <string>
#include <vector>

#include "models/model.h"
#include "models/model_registry.h"

namespace infera {

// The server's name ("infera") and the protocol extensions it implements.
inline constexpr const char kOipServerName[] = "infera";
const std::vector<std::string>& OipExtensions();

// `$metadata_model_response`: the name, every loaded version of that name (ascending
// decimal strings), the platform string, the input and the outputs (-1: variable).
struct OipModelMetadata {
  std::string name;
  std::vector<std::string> versions;
  std::string platform;
  std::vector<TensorInfo> inputs;
  std::vector<TensorInfo> outputs;
};

// The platform `model` reports, in Triton's names: its backend's (BackendPlatform,
// backends/backend_registry.h: "pytorch_libtorch", "onnxruntime_onnx"). The protocol's
// model metadata, Triton's model config (gRPC) and DescribeModel all say this.
std::string OipPlatform(const Model& model);

// The metadata of `model`, with the versions `models` holds. Thread-safe.
OipModelMetadata DescribeOipModel(const ModelRegistry& models, const Model& model);

}  // namespace infera
