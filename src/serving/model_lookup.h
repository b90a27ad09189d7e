// Finding the model a protocol request names (a name and an optional version string),
// shared by every front end: HTTP's /v1 and /v2 routes and gRPC.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "models/model_registry.h"

namespace infera {

// The loaded model `name`, at `version` when given (a decimal string, as in
// /versions/{v}; gRPC's empty version is "not given"), else its highest loaded version.
// InvalidArgument for a malformed version; NotFound naming the model (and listing the
// loaded ones) otherwise. Thread-safe (the registry is).
StatusOr<std::shared_ptr<Model>> ResolveModel(const ModelRegistry& models, const std::string& name,
                                              const std::optional<std::string>& version);

}  // namespace infera
