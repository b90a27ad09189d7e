// The JSON forms of store records, as the API returns them and `infera infer` writes
// them in results.json. Pure functions; thread-safe.
// Stored text (names, notes, errors) is returned as valid UTF-8 (invalid bytes as
// U+FFFD, common/utf8.h ToValidUtf8), so a record can always be dumped: nothing stored
// can make a read fail.
#pragma once

#include <nlohmann/json.hpp>

#include "store/store.h"

namespace infera {

nlohmann::json DatasetJson(const DatasetRecord& d);
nlohmann::json FileJson(const FileRecord& f);
// params and timings are embedded as JSON (an unparsable stored text becomes {}).
nlohmann::json InferenceJson(const InferenceRecord& job);
nlohmann::json ResultJson(const InferenceResultRecord& r);

}  // namespace infera
