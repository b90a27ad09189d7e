#include "backends/backend_registry.h"

#include "backends/onnx/onnx_backend.h"
#include "backends/torchscript/torchscript_backend.h"
#include "common/strings.h"

namespace infera {

namespace {

using Factory = StatusOr<std::unique_ptr<Backend>> (*)(const BackendOptions&);

struct Entry {
  std::string_view name;
  // Triton's platform name for the engine (what Triton clients and perf_analyzer read).
  std::string_view platform;
  Factory create;
};

// The registry: one line per backend.
constexpr Entry kBackends[] = {
    {"torchscript", "pytorch_libtorch", &CreateTorchScriptBackend},
    {"onnx", "onnxruntime_onnx", &CreateOnnxBackend},
};

}  // namespace

StatusOr<std::unique_ptr<Backend>> CreateBackend(std::string_view kind,
                                                 const BackendOptions& options) {
  for (const Entry& e : kBackends) {
    if (e.name == kind) return e.create(options);
  }
  return absl::NotFoundError(
      StrCat("unknown backend '", kind, "' (available: ", StrJoin(BackendNames(), ", "), ")"));
}

std::string BackendPlatform(std::string_view kind) {
  for (const Entry& e : kBackends) {
    if (e.name == kind) return std::string(e.platform);
  }
  return "";
}

std::vector<std::string> BackendNames() {
  std::vector<std::string> names;
  for (const Entry& e : kBackends) names.emplace_back(e.name);
  return names;
}

}  // namespace infera
