#include "jobs/retraining_record.h"

#include "common/strings.h"

namespace infera {

StatusOr<JobRecord> RetrainingJob(const RetrainingSpec& spec, int64_t owner_id, int64_t epochs) {
  if (spec.model.empty()) return absl::InvalidArgumentError("a retraining needs a model");
  if (spec.runner.empty()) return absl::InvalidArgumentError("a retraining needs a runner");
  if (spec.annotation_set_ids.empty()) {
    return absl::InvalidArgumentError("a retraining needs at least one annotation set");
  }
  if (!spec.params.is_object()) {
    return absl::InvalidArgumentError("a retraining's params must be a JSON object");
  }
  JobRecord job;
  job.kind = std::string(kRetrainingJobKind);
  job.owner_id = owner_id;
  job.dataset_id = 0;
  job.total = std::max<int64_t>(0, epochs);
  job.spec_json = nlohmann::json{
      {"model", spec.model},
      {"version", spec.version},
      {"runner", spec.runner},
      {"annotation_set_ids", spec.annotation_set_ids},
      {"params",
       spec.params}}.dump();
  return job;
}

StatusOr<RetrainingSpec> RetrainingSpecOf(const JobRecord& job) {
  if (job.kind != kRetrainingJobKind) {
    return absl::InvalidArgumentError(
        StrCat("job ", job.id, " is a '", job.kind, "' job, not a retraining"));
  }
  const nlohmann::json spec = nlohmann::json::parse(job.spec_json, nullptr, false);
  auto bad = [&job] {
    return absl::InvalidArgumentError(StrCat("retraining ", job.id, " has a malformed spec"));
  };
  if (!spec.is_object() || !spec.contains("model") || !spec["model"].is_string() ||
      !spec.contains("runner") || !spec["runner"].is_string() || !spec.contains("version") ||
      !spec["version"].is_number_integer() || !spec.contains("annotation_set_ids") ||
      !spec["annotation_set_ids"].is_array()) {
    return bad();
  }
  RetrainingSpec out;
  out.model = spec["model"].get<std::string>();
  out.runner = spec["runner"].get<std::string>();
  out.version = spec["version"].get<int64_t>();
  for (const nlohmann::json& id : spec["annotation_set_ids"]) {
    if (!id.is_number_integer()) return bad();
    out.annotation_set_ids.push_back(id.get<int64_t>());
  }
  out.params = spec.value("params", nlohmann::json::object());
  if (!out.params.is_object()) return bad();
  return out;
}

StatusOr<JobRecord> GetRetraining(JobQueue& queue, int64_t id) {
  StatusOr<JobRecord> job = queue.GetJob(id);
  if (absl::IsNotFound(job.status()) || (job.ok() && job->kind != kRetrainingJobKind)) {
    return absl::NotFoundError(StrCat("retraining ", id, " not found"));
  }
  return job;
}

nlohmann::json RetrainingJson(const JobRecord& job, bool with_logs) {
  nlohmann::json out;
  out["retraining_id"] = job.id;
  out["status"] = JobStatusName(job.status);
  out["note"] = job.note;
  StatusOr<RetrainingSpec> spec = RetrainingSpecOf(job);
  if (spec.ok()) {
    out["model"] = spec->model;
    out["parent_version"] = spec->version;
    out["runner"] = spec->runner;
    out["annotation_set_ids"] = spec->annotation_set_ids;
    out["params"] = spec->params;
  }
  out["progress"] = {{"epochs_done", job.done}, {"epochs", job.total}};
  nlohmann::json report = nlohmann::json::parse(job.report_json, nullptr, false);
  if (!report.is_object()) report = nlohmann::json::object();
  out["epochs"] = report.value("epochs", nlohmann::json::array());
  if (with_logs) out["logs"] = report.value("logs", nlohmann::json::array());
  for (const char* key :
       {"best_epoch", "parent_score", "best_score", "new_version", "held_back", "seconds",
        "images_per_second", "train_images", "val_images", "checkpoint_epoch"}) {
    out[key] = report.value(key, nlohmann::json());
  }
  out["resumed_from_epoch"] = report.value("resumed_from_epoch", nlohmann::json::array());
  out["owner_id"] = job.owner_id;
  out["attempts"] = job.attempts;
  out["cancel_requested"] = job.cancel_requested;
  out["created_at"] = job.created_at;
  out["started_at"] = job.started_at;
  out["finished_at"] = job.finished_at;
  return out;
}

}  // namespace infera
