// JsonText: the one way a JSON value becomes text for a reply or a file.
//
// nlohmann::json::dump() throws on a string that is not valid UTF-8; a name stored by an
// older version, or one a check missed, would then fail every read that shows it.
// JsonText writes such strings with U+FFFD in place of the bad bytes instead: it never
// throws. Thread-safe (pure).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace infera {

// `value` serialized compactly (indent < 0) or pretty-printed with `indent` spaces.
std::string JsonText(const nlohmann::json& value, int indent = -1);

}  // namespace infera
