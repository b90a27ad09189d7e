#include "jobs/inference_jobs.h"

#include <algorithm>

#include "common/strings.h"
#include "datasets/ingest.h"
#include "dicom/windowing.h"
#include "jobs/dicom_seg_job.h"
#include "jobs/job_export.h"
#include "models/model.h"

namespace infera {

StatusOr<InferenceRecord> InferenceJobs::Start(const Caller& caller,
                                               const StartInferenceRequest& request) const {
  ASSIGN_OR_RETURN(DatasetRecord dataset, VisibleDataset(*store_, caller, request.dataset_id));
  const std::string& name = request.model_name;
  std::shared_ptr<Model> model = models_->Get(name, request.model_version);
  if (model == nullptr) {
    return absl::NotFoundError(
        request.model_version
            ? StrCat("model '", name, "' version ", *request.model_version, " is not loaded")
            : StrCat("unknown model '", name, "'"));
  }
  // `window` (DICOM inputs, dicom/windowing.h) is the job's, not the runner's.
  nlohmann::json params = request.params;
  std::optional<nlohmann::json> window;
  if (params.is_object() && params.contains("window")) {
    StatusOr<WindowSpec> spec = ParseWindowSpec(params["window"]);
    if (!spec.ok()) {
      return absl::InvalidArgumentError(StrCat("params.", spec.status().message()));
    }
    window = WindowSpecJson(*spec);
    params.erase("window");
  }
  ASSIGN_OR_RETURN(nlohmann::json validated,
                   model->runner().ResolveParams(params, model->description()));
  if (window) validated["window"] = *window;
  InferenceRecord job;
  job.dataset_id = dataset.id;
  job.owner_id = CallerId(caller);
  job.model_name = name;
  job.model_version = model->config().version;
  job.runner_name = model->config().runner;
  job.params_json = validated.dump();
  ASSIGN_OR_RETURN(InferenceRecord created, CreateInference(*store_, job));
  if (workers_ != nullptr) workers_->Notify();
  return created;
}

StatusOr<std::vector<InferenceRecord>> InferenceJobs::List(const Caller& caller,
                                                           InferenceFilter filter) const {
  filter.owner_id = OwnerFilter(caller);
  return ListInferences(*store_, filter);
}

// The inference `id` when `caller` may see it; "inference <id> not found" otherwise.
StatusOr<InferenceRecord> InferenceJobs::Visible(const Caller& caller, int64_t id) const {
  ASSIGN_OR_RETURN(InferenceRecord job, GetInference(*store_, id));
  RETURN_IF_ERROR(CheckVisible(caller, job.owner_id, "inference", id));
  return job;
}

StatusOr<nlohmann::json> InferenceJobs::Report(const Caller& caller, int64_t id,
                                               std::vector<JobResultRecord>* records) const {
  RETURN_IF_ERROR(Visible(caller, id).status());
  return JobReport(*store_, id, records);
}

StatusOr<InferenceRecord> InferenceJobs::Cancel(const Caller& caller, int64_t id) const {
  RETURN_IF_ERROR(Visible(caller, id).status());
  ASSIGN_OR_RETURN(InferenceRecord job, CancelInference(*store_, id));
  if (workers_ != nullptr) workers_->Cancel(id);
  return job;
}

StatusOr<InferenceRecord> InferenceJobs::Retry(const Caller& caller, int64_t id) const {
  RETURN_IF_ERROR(Visible(caller, id).status());
  StatusOr<JobRecord> retried = store_->RetryJob(id);
  if (!retried.ok()) {
    std::string message(ToStd(retried.status().message()));
    if (message.starts_with("job ")) message = "inference " + message.substr(4);
    return absl::Status(retried.status().code(), message);
  }
  if (workers_ != nullptr) workers_->Notify();
  return InferenceOf(*retried);
}

StatusOr<std::vector<FileRecord>> InferenceJobs::DicomSegFiles(const Caller& caller,
                                                               int64_t id) const {
  ASSIGN_OR_RETURN(InferenceRecord job, Visible(caller, id));
  ASSIGN_OR_RETURN(std::vector<FileRecord> files,
                   store_->ListJobFiles(id, std::string(kDicomSegRole)));
  std::erase_if(files, [](const FileRecord& f) { return f.result_id != 0; });
  if (!files.empty()) return files;
  ASSIGN_OR_RETURN(std::vector<FileRecord> sources, store_->ListDatasetFiles(job.dataset_id));
  const bool dicom = std::any_of(sources.begin(), sources.end(), [](const FileRecord& f) {
    return f.content_type == kDicomContentType;
  });
  if (!dicom) {
    return absl::InvalidArgumentError(
        StrCat("inference ", id, " did not run on DICOM input (dataset ", job.dataset_id,
               " has no DICOM file): DICOM SEG is written for DICOM images only"));
  }
  if (job.status != JobStatus::kCompleted) {
    return absl::FailedPreconditionError(
        StrCat("inference ", id, " is ", JobStatusName(job.status),
               ": its DICOM SEG files are written when it completes"));
  }
  return absl::NotFoundError(StrCat("inference ", id, " has no DICOM SEG: model '", job.model_name,
                                    "' (runner ", job.runner_name,
                                    ") made no class mask for its DICOM images",
                                    job.note.empty() ? "" : StrCat(" (", job.note, ")")));
}

}  // namespace infera
