// `--param key=value` options (infer, train) as a JSON object.
// Pure function; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"

namespace infera {

// "k=v" pairs as a JSON object; a value is JSON when it parses (numbers, booleans,
// lists), a string otherwise. InvalidArgument for a pair without '=' or without a key.
StatusOr<nlohmann::json> ParseParamPairs(const std::vector<std::string>& pairs);

}  // namespace infera
