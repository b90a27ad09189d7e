#include "api/routes/model_lookup.h"

#include "absl/strings/numbers.h"
#include "common/strings.h"
#include "tracing/span.h"

namespace infera {

StatusOr<std::shared_ptr<Model>> ResolveModel(const ApiContext& ctx, const std::string& name,
                                              const std::optional<std::string>& version) {
  std::optional<int64_t> v;
  if (version) {
    int64_t parsed = 0;
    if (!absl::SimpleAtoi(*version, &parsed) || parsed < 1) {
      return absl::InvalidArgumentError(
          StrCat("version must be a positive integer (got '", *version, "')"));
    }
    v = parsed;
  }
  std::shared_ptr<Model> model = ctx.models->Get(name, v);
  if (model) return model;
  const std::string what = v && ctx.models->Get(name)
                               ? StrCat("model '", name, "' has no loaded version ", *v)
                               : StrCat("unknown model '", name, "'");
  return absl::NotFoundError(
      StrCat(what, " (available: ", StrJoin(ctx.models->Names(), ", "), ")"));
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
