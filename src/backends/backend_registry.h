// The backend registry: the one explicit list of engines infera can run
// (backend_registry.cc). Adding a backend is one new folder plus one line there.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backends/backend.h"
#include "common/status.h"

namespace infera {

// Creates a backend of the named kind ("torchscript", "onnx"). NotFound for an unknown kind,
// listing the known ones; otherwise whatever the backend's loader reports.
StatusOr<std::unique_ptr<Backend>> CreateBackend(std::string_view kind,
                                                 const BackendOptions& options);

// The platform string the Open Inference Protocol's model metadata and Triton's model
// config report for a backend kind, in Triton's names ("pytorch_libtorch",
// "onnxruntime_onnx"); "" for an unknown kind. Thread-safe.
std::string BackendPlatform(std::string_view kind);

// The registered kinds, in registry order.
std::vector<std::string> BackendNames();

}  // namespace infera
