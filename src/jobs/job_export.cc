#include "jobs/job_export.h"

#include "common/strings.h"
#include "store/record_json.h"

namespace infera {

StatusOr<nlohmann::json> JobReport(Store& store, int64_t id,
                                   std::vector<InferenceResultRecord>* records) {
  ASSIGN_OR_RETURN(InferenceRecord job, store.GetInference(id));
  ASSIGN_OR_RETURN(std::vector<InferenceResultRecord> results, store.ListInferenceResults(id));
  nlohmann::json j = InferenceJson(job);
  j["results"] = nlohmann::json::array();
  nlohmann::json errors = nlohmann::json::array();
  for (const InferenceResultRecord& r : results) {
    nlohmann::json result = ResultJson(r);  // its text made valid UTF-8
    if (!r.error.empty()) {
      errors.push_back(
          {{"source_filename", result["source_filename"]}, {"error", result["error"]}});
    }
    j["results"].push_back(std::move(result));
  }
  j["errors"] = std::move(errors);
  if (records != nullptr) *records = std::move(results);
  return j;
}

StatusOr<std::vector<ExportEntry>> JobExportEntries(
    Store& store, const std::vector<InferenceResultRecord>& results, bool include_sources) {
  std::vector<ExportEntry> entries;
  for (const InferenceResultRecord& r : results) {
    if (include_sources) {
      StatusOr<FileRecord> source = store.GetFile(r.source_file_id);
      if (source.ok()) entries.push_back({StrCat("images/", source->filename), *source});
    }
    for (int64_t id : {r.class_mask_id, r.instance_mask_id, r.probability_id}) {
      if (id == 0) continue;
      ASSIGN_OR_RETURN(FileRecord f, store.GetFile(id));
      entries.push_back({StrCat("masks/", f.filename), f});
    }
    if (r.preview_id != 0) {
      ASSIGN_OR_RETURN(FileRecord f, store.GetFile(r.preview_id));
      entries.push_back({StrCat("previews/", f.filename), f});
    }
  }
  return entries;
}

}  // namespace infera
