#include "store/record_json.h"

#include "common/utf8.h"

namespace infera {

nlohmann::json DatasetJson(const DatasetRecord& d) {
  return {{"id", d.id},
          {"name", ToValidUtf8(d.name)},
          {"description", ToValidUtf8(d.description)},
          {"created_at", d.created_at},
          {"file_count", d.file_count},
          {"total_bytes", d.total_bytes}};
}

nlohmann::json FileJson(const FileRecord& f) {
  nlohmann::json j = {{"id", f.id},
                      {"filename", ToValidUtf8(f.filename)},
                      {"role", f.role},
                      {"type", ToValidUtf8(f.content_type)},
                      {"width", f.width},
                      {"height", f.height},
                      {"channels", f.channels},
                      {"bit_depth", f.bit_depth},
                      {"sample_type", ToValidUtf8(f.sample_type)},
                      {"pages", f.pages},
                      {"size", f.size},
                      {"sha256", f.sha256},
                      {"created_at", f.created_at}};
  if (f.dataset_id != 0) j["dataset_id"] = f.dataset_id;
  if (f.job_id != 0) j["inference_id"] = f.job_id;  // the API's name since version 1
  return j;
}

}  // namespace infera
