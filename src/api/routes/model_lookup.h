// Finding the model a request names, shared by every route family.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "api/api_context.h"
#include "api/router.h"
#include "common/status.h"

namespace infera {

// The loaded model `name`, at `version` when given (a decimal string, as in
// /versions/{v}), else its highest loaded version. InvalidArgument for a malformed
// version; NotFound naming the model (and listing the loaded ones) otherwise.
StatusOr<std::shared_ptr<Model>> ResolveModel(const ApiContext& ctx, const std::string& name,
                                              const std::optional<std::string>& version);

// ResolveModel with the "model" and optional "version" path parameters of a request.
StatusOr<std::shared_ptr<Model>> ResolveModel(const ApiContext& ctx,
                                              const std::map<std::string, std::string>& params);

// Names the model on the request's trace span (infera.model.name / .version); nothing
// when the request is not traced.
void TagModelOnSpan(const HttpRequest& request, const Model& model);

// Adds `handler` for `{prefix}/{model}{suffix}` and
// `{prefix}/{model}/versions/{version}{suffix}` (e.g. "/v2/models", "/infer").
void AddModelRoute(Router& router, const std::string& method, const std::string& prefix,
                   const std::string& suffix, const Handler& handler);

}  // namespace infera
