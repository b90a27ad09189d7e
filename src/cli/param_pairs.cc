#include "cli/param_pairs.h"

#include "common/strings.h"

namespace infera {

StatusOr<nlohmann::json> ParseParamPairs(const std::vector<std::string>& pairs) {
  nlohmann::json params = nlohmann::json::object();
  for (const std::string& pair : pairs) {
    const size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(StrCat("--param '", pair, "': expected key=value"));
    }
    const std::string key = pair.substr(0, eq);
    const std::string text = pair.substr(eq + 1);
    nlohmann::json value = nlohmann::json::parse(text, nullptr, false);
    params[key] = value.is_discarded() ? nlohmann::json(text) : value;
  }
  return params;
}

}  // namespace infera
