// The JSON forms of dataset and file records, as the API returns them (jobs' forms:
// jobs/inference_record.h). Pure functions; thread-safe.
// Stored text (names, notes, errors) is returned as valid UTF-8 (invalid bytes as
// U+FFFD, common/utf8.h ToValidUtf8), so a record can always be dumped: nothing stored
// can make a read fail.
#pragma once

#include <nlohmann/json.hpp>

#include "store/store.h"

namespace infera {

nlohmann::json DatasetJson(const DatasetRecord& d);
nlohmann::json FileJson(const FileRecord& f);

}  // namespace infera
