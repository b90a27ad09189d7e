#include "dicomweb/import_record.h"

#include "common/strings.h"

namespace infera {

StatusOr<JobRecord> DicomwebImportJob(const DicomwebImportSpec& spec, int64_t owner_id,
                                      int64_t dataset_id) {
  if (spec.url.empty()) return absl::InvalidArgumentError("an import needs a url");
  if (spec.study_uid.empty() && spec.series_uid.empty()) {
    return absl::InvalidArgumentError("an import needs a study or a series UID");
  }
  if (dataset_id <= 0) return absl::InvalidArgumentError("an import needs a dataset");
  JobRecord job;
  job.kind = std::string(kDicomwebImportJobKind);
  job.owner_id = owner_id;
  job.dataset_id = dataset_id;
  job.total = 0;  // the store counts the dataset's files; the run sets the instances
  job.spec_json = nlohmann::json{{"url", spec.url},
                                 {"study_uid", spec.study_uid},
                                 {"series_uid", spec.series_uid},
                                 {"anonymize", spec.anonymize},
                                 {"auth_type", spec.auth_type},
                                 {"auth_sealed", spec.auth_sealed}}
                      .dump();
  return job;
}

StatusOr<DicomwebImportSpec> DicomwebImportSpecOf(const JobRecord& job) {
  if (job.kind != kDicomwebImportJobKind) {
    return absl::InvalidArgumentError(
        StrCat("job ", job.id, " is a '", job.kind, "' job, not a DICOMweb import"));
  }
  const nlohmann::json spec = nlohmann::json::parse(job.spec_json, nullptr, false);
  auto str = [&spec](const char* key) -> const nlohmann::json* {
    if (!spec.is_object()) return nullptr;
    auto it = spec.find(key);
    return it != spec.end() && it->is_string() ? &*it : nullptr;
  };
  DicomwebImportSpec out;
  const nlohmann::json* url = str("url");
  const nlohmann::json* study = str("study_uid");
  const nlohmann::json* series = str("series_uid");
  const nlohmann::json* type = str("auth_type");
  const nlohmann::json* sealed = str("auth_sealed");
  if (url == nullptr || study == nullptr || series == nullptr || type == nullptr ||
      sealed == nullptr || !spec.contains("anonymize") || !spec["anonymize"].is_boolean()) {
    return absl::InvalidArgumentError(StrCat("import ", job.id, " has a malformed spec"));
  }
  out.url = url->get<std::string>();
  out.study_uid = study->get<std::string>();
  out.series_uid = series->get<std::string>();
  out.anonymize = spec["anonymize"].get<bool>();
  out.auth_type = type->get<std::string>();
  out.auth_sealed = sealed->get<std::string>();
  return out;
}

StatusOr<JobRecord> GetDicomwebImport(JobQueue& queue, int64_t id) {
  StatusOr<JobRecord> job = queue.GetJob(id);
  if (absl::IsNotFound(job.status()) || (job.ok() && job->kind != kDicomwebImportJobKind)) {
    return absl::NotFoundError(StrCat("import ", id, " not found"));
  }
  return job;
}

nlohmann::json DicomwebImportJson(const JobRecord& job) {
  nlohmann::json out;
  out["import_id"] = job.id;
  out["dataset_id"] = job.dataset_id;
  out["status"] = JobStatusName(job.status);
  out["note"] = job.note;
  StatusOr<DicomwebImportSpec> spec = DicomwebImportSpecOf(job);
  if (spec.ok()) {
    out["url"] = spec->url;
    out["study_uid"] = spec->study_uid.empty() ? nlohmann::json() : nlohmann::json(spec->study_uid);
    out["series_uid"] =
        spec->series_uid.empty() ? nlohmann::json() : nlohmann::json(spec->series_uid);
    out["anonymize"] = spec->anonymize;
    out["auth"] = spec->auth_type == "none"
                      ? nlohmann::json()
                      : nlohmann::json{{"type", spec->auth_type}, {"redacted", true}};
  }
  nlohmann::json report = nlohmann::json::parse(job.report_json, nullptr, false);
  if (!report.is_object()) report = nlohmann::json::object();
  const bool listed = report.value("listed", false);
  out["progress"] = {{"instances_done", listed ? job.done : 0},
                     {"instances", listed ? nlohmann::json(job.total) : nlohmann::json()}};
  int64_t imported = 0;
  int64_t already = 0;
  nlohmann::json file_ids = nlohmann::json::array();
  if (auto it = report.find("imported"); it != report.end() && it->is_array()) {
    for (const nlohmann::json& item : *it) {
      if (!item.is_object()) continue;
      ++imported;
      if (item.value("already_stored", false)) ++already;
      if (item.contains("file_id")) file_ids.push_back(item["file_id"]);
    }
  }
  out["imported"] = imported;
  out["already_stored"] = already;
  out["file_ids"] = std::move(file_ids);
  out["refused"] = report.value("refused", nlohmann::json::array());
  out["owner_id"] = job.owner_id;
  out["attempts"] = job.attempts;
  out["cancel_requested"] = job.cancel_requested;
  out["created_at"] = job.created_at;
  out["started_at"] = job.started_at;
  out["finished_at"] = job.finished_at;
  return out;
}

}  // namespace infera
