// The JSON forms of dataset and file records, as the API returns them (jobs' forms:
// jobs/inference_record.h). Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include "store/store.h"

namespace infera {

nlohmann::json DatasetJson(const DatasetRecord& d);
nlohmann::json FileJson(const FileRecord& f);

}  // namespace infera
