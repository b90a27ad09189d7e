#include "api/routes/model_lookup.h"

#include "serving/model_lookup.h"
#include "tracing/span.h"

namespace infera {

StatusOr<std::shared_ptr<Model>> ResolveModel(const ApiContext& ctx, const std::string& name,
                                              const std::optional<std::string>& version) {
  return ResolveModel(*ctx.models, name, version);
}

StatusOr<std::shared_ptr<Model>> ResolveModel(const ApiContext& ctx,
                                              const std::map<std::string, std::string>& params) {
  auto name = params.find("model");
  auto version = params.find("version");
  return ResolveModel(
      ctx, name == params.end() ? std::string() : name->second,
      version == params.end() ? std::nullopt : std::optional<std::string>(version->second));
}

void AddModelRoute(Router& router, const std::string& method, const std::string& prefix,
                   const std::string& suffix, const Handler& handler) {
  router.Add(method, prefix + "/{model}" + suffix, handler);
  router.Add(method, prefix + "/{model}/versions/{version}" + suffix, handler);
}

void TagModelOnSpan(const HttpRequest& request, const Model& model) {
  if (request.span == nullptr || !request.span->recording()) return;
  request.span->SetAttribute("infera.model.name", model.config().name);
  request.span->SetAttribute("infera.model.version", model.config().version);
}

}  // namespace infera
