#include "jobs/inference_record.h"

#include "common/strings.h"
#include "common/utf8.h"

namespace infera {

namespace {

Status NotAnInference(int64_t id) {
  return absl::NotFoundError(StrCat("inference ", id, " not found"));
}

// The store's NotFound for a job names it "job <id>"; the inference routes say
// "inference <id>".
Status AsInferenceError(const Status& s, int64_t id) {
  return s.code() == absl::StatusCode::kNotFound ? NotAnInference(id) : s;
}

}  // namespace

StatusOr<JobRecord> InferenceJob(const InferenceRecord& inference) {
  if (inference.model_name.empty()) {
    return absl::InvalidArgumentError("inference has no model_name");
  }
  nlohmann::json params = nlohmann::json::parse(
      inference.params_json.empty() ? "{}" : inference.params_json, nullptr, false);
  if (!params.is_object()) {
    return absl::InvalidArgumentError("inference params are not a JSON object");
  }
  JobRecord job;
  job.kind = std::string(kInferenceJobKind);
  job.owner_id = inference.owner_id;
  job.dataset_id = inference.dataset_id;
  job.note = inference.note;
  job.spec_json = nlohmann::json{{"model", inference.model_name},
                                 {"version", inference.model_version},
                                 {"runner", inference.runner_name},
                                 {"params", std::move(params)}}
                      .dump();
  return job;
}

StatusOr<InferenceRecord> InferenceOf(const JobRecord& job) {
  if (job.kind != kInferenceJobKind) {
    return absl::InvalidArgumentError(
        StrCat("job ", job.id, " is a '", job.kind, "' job, not an inference"));
  }
  const nlohmann::json spec = nlohmann::json::parse(job.spec_json, nullptr, false);
  if (!spec.is_object() || !spec.contains("model") || !spec["model"].is_string()) {
    return absl::InvalidArgumentError(StrCat("job ", job.id, " has no inference spec"));
  }
  InferenceRecord r;
  r.id = job.id;
  r.owner_id = job.owner_id;
  r.dataset_id = job.dataset_id;
  r.model_name = spec["model"].get<std::string>();
  r.model_version = spec.value("version", int64_t{0});
  r.runner_name = spec.value("runner", std::string());
  const auto params = spec.find("params");
  r.params_json = params != spec.end() && params->is_object() ? params->dump() : "{}";
  r.status = job.status;
  r.note = job.note;
  r.total = job.total;
  r.done = job.done;
  r.failed_images = job.failed_items;
  r.cancel_requested = job.cancel_requested;
  r.created_at = job.created_at;
  r.started_at = job.started_at;
  r.finished_at = job.finished_at;
  r.lease_owner = job.lease_owner;
  r.lease_expires_at = job.lease_expires_at;
  r.attempts = job.attempts;
  r.timings_json = job.report_json;
  return r;
}

StatusOr<InferenceRecord> CreateInference(JobQueue& queue, const InferenceRecord& inference) {
  ASSIGN_OR_RETURN(JobRecord job, InferenceJob(inference));
  ASSIGN_OR_RETURN(JobRecord created, queue.CreateJob(job));
  return InferenceOf(created);
}

StatusOr<InferenceRecord> GetInference(JobQueue& queue, int64_t id) {
  StatusOr<JobRecord> job = queue.GetJob(id);
  if (!job.ok()) return AsInferenceError(job.status(), id);
  if (job->kind != kInferenceJobKind) return NotAnInference(id);
  return InferenceOf(*job);
}

StatusOr<std::vector<InferenceRecord>> ListInferences(JobQueue& queue,
                                                      const InferenceFilter& filter) {
  JobFilter jobs;
  jobs.kind = std::string(kInferenceJobKind);
  jobs.dataset_id = filter.dataset_id;
  jobs.status = filter.status;
  jobs.owner_id = filter.owner_id;
  jobs.limit = filter.limit;
  jobs.offset = filter.offset;
  ASSIGN_OR_RETURN(std::vector<JobRecord> listed, queue.ListJobs(jobs));
  std::vector<InferenceRecord> out;
  out.reserve(listed.size());
  for (const JobRecord& job : listed) {
    ASSIGN_OR_RETURN(InferenceRecord r, InferenceOf(job));
    out.push_back(std::move(r));
  }
  return out;
}

StatusOr<InferenceRecord> CancelInference(JobQueue& queue, int64_t id) {
  RETURN_IF_ERROR(GetInference(queue, id).status());
  StatusOr<JobRecord> canceled = queue.CancelJob(id);
  if (!canceled.ok()) {
    const Status& s = canceled.status();
    if (s.code() == absl::StatusCode::kFailedPrecondition) {
      // "job 3 is already completed" -> "inference 3 is already completed"
      std::string message(ToStd(s.message()));
      if (message.starts_with("job ")) message = "inference " + message.substr(4);
      return absl::FailedPreconditionError(message);
    }
    return AsInferenceError(s, id);
  }
  return InferenceOf(*canceled);
}

nlohmann::json InferenceJson(const InferenceRecord& job) {
  nlohmann::json params = nlohmann::json::parse(job.params_json, nullptr, false);
  nlohmann::json timings = nlohmann::json::parse(job.timings_json, nullptr, false);
  if (timings.is_discarded() || !timings.is_object()) timings = nlohmann::json::object();
  // The DICOM SEG files the job wrote (jobs/dicom_seg_job.h), kept in its report.
  nlohmann::json dicom_seg = nlohmann::json::array();
  if (auto it = timings.find("dicom_seg"); it != timings.end()) {
    if (it->is_array()) dicom_seg = std::move(*it);
    timings.erase(it);
  }
  return {
      {"id", job.id},
      {"inference_id", job.id},
      {"dataset_id", job.dataset_id},
      {"model_id", ToValidUtf8(job.model_name)},
      {"model_version", job.model_version},
      {"runner_name", ToValidUtf8(job.runner_name)},
      {"params", params.is_discarded() ? nlohmann::json::object() : params},
      {"status", JobStatusName(job.status)},
      {"note", ToValidUtf8(job.note)},
      {"progress",
       {{"done", job.done},
        {"total", job.total},
        {"failed", job.failed_images},
        {"fraction", job.total > 0 ? static_cast<double>(job.done) / static_cast<double>(job.total)
                                   : (IsTerminal(job.status) ? 1.0 : 0.0)}}},
      {"cancel_requested", job.cancel_requested},
      {"attempts", job.attempts},
      {"created_at", job.created_at},
      {"started_at", job.started_at},
      {"finished_at", job.finished_at},
      {"timings", std::move(timings)},
      {"dicom_seg", std::move(dicom_seg)}};
}

nlohmann::json ResultJson(const JobResultRecord& r) {
  nlohmann::json summary = nlohmann::json::parse(r.summary_json, nullptr, false);
  nlohmann::json j = {
      {"source_filename", ToValidUtf8(r.source_filename)},
      {"source_file_id", r.source_file_id},
      {"class_mask_id", nullptr},
      {"instance_mask_id", nullptr},
      {"preview_id", nullptr},
      {"probability_id", nullptr},
      {"summary", summary.is_discarded() ? nlohmann::json::object() : summary},
      {"error", r.error.empty() ? nlohmann::json() : nlohmann::json(ToValidUtf8(r.error))},
      {"elapsed_ms", r.elapsed_ms}};
  for (const FileRecord& f : r.files) j[StrCat(f.role, "_id")] = f.id;
  return j;
}

}  // namespace infera
