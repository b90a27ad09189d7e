#include "jobs/job_export.h"

#include <algorithm>

#include "common/strings.h"
#include "jobs/dicom_seg_job.h"
#include "jobs/inference_record.h"

namespace infera {

namespace {

// Where a result file of `kind` goes, and in which order within a result: the masks
// (class, instance, probability, then other kinds), then the previews.
int ExportRank(std::string_view kind) {
  if (kind == "class_mask") return 0;
  if (kind == "instance_mask") return 1;
  if (kind == "probability") return 2;
  if (kind == "preview") return 4;
  return 3;
}

}  // namespace

std::string_view ExportFolder(std::string_view kind) {
  return kind == "preview" ? "previews" : "masks";
}

StatusOr<nlohmann::json> JobReport(Store& store, int64_t id,
                                   std::vector<JobResultRecord>* records) {
  ASSIGN_OR_RETURN(InferenceRecord job, GetInference(store, id));
  ASSIGN_OR_RETURN(std::vector<JobResultRecord> results, store.ListJobResults(id));
  nlohmann::json j = InferenceJson(job);
  j["results"] = nlohmann::json::array();
  nlohmann::json errors = nlohmann::json::array();
  for (const JobResultRecord& r : results) {
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

StatusOr<std::vector<ExportEntry>> JobExportEntries(Store& store,
                                                    const std::vector<JobResultRecord>& results,
                                                    bool include_sources) {
  std::vector<ExportEntry> entries;
  for (const JobResultRecord& r : results) {
    if (include_sources) {
      StatusOr<FileRecord> source = store.GetFile(r.source_file_id);
      if (source.ok()) entries.push_back({StrCat("images/", source->filename), *source});
    }
    std::vector<const FileRecord*> files;
    for (const FileRecord& f : r.files) files.push_back(&f);
    std::stable_sort(files.begin(), files.end(), [](const FileRecord* a, const FileRecord* b) {
      return ExportRank(a->role) < ExportRank(b->role);
    });
    for (const FileRecord* f : files) {
      entries.push_back({StrCat(ExportFolder(f->role), "/", f->filename), *f});
    }
  }
  return entries;
}

StatusOr<std::vector<ExportEntry>> JobFileExportEntries(Store& store, int64_t job_id) {
  std::vector<ExportEntry> entries;
  ASSIGN_OR_RETURN(std::vector<FileRecord> segs,
                   store.ListJobFiles(job_id, std::string(kDicomSegRole)));
  for (FileRecord& f : segs) {
    if (f.result_id != 0) continue;
    std::string path = StrCat(kDicomSegRole, "/", f.filename);
    entries.push_back({std::move(path), std::move(f)});
  }
  return entries;
}

}  // namespace infera
