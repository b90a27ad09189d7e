#include "serving/model_lookup.h"

#include "absl/strings/numbers.h"
#include "common/strings.h"

namespace infera {

StatusOr<std::shared_ptr<Model>> ResolveModel(const ModelRegistry& models, const std::string& name,
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
  std::shared_ptr<Model> model = models.Get(name, v);
  if (model) return model;
  const std::string what = v && models.Get(name)
                               ? StrCat("model '", name, "' has no loaded version ", *v)
                               : StrCat("unknown model '", name, "'");
  return absl::NotFoundError(StrCat(what, " (available: ", StrJoin(models.Names(), ", "), ")"));
}

}  // namespace infera
