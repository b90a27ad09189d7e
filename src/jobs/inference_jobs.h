// InferenceJobs: the dataset inference job service every front end calls — starting a
// job (the dataset must be the caller's to see, the model loaded, the params valid for
// its runner: checked here so a job never fails on them later), listing, reporting and
// cancelling jobs, with the ownership rules of serving/ownership.h.
//
// Errors: InvalidArgument for params the runner refuses, NotFound for a dataset or job
// the caller cannot see or a model that is not loaded, the store's otherwise.
// Thread-safety: every method is safe from any thread (the store, registry and workers
// are). The store, registry and workers (null: none run here) must outlive the object.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "jobs/inference_record.h"
#include "jobs/job_workers.h"
#include "models/model_registry.h"
#include "serving/ownership.h"
#include "store/store.h"

namespace infera {

struct StartInferenceRequest {
  int64_t dataset_id = 0;
  std::string model_name;
  std::optional<int64_t> model_version;  // none: the newest version serving
  nlohmann::json params = nlohmann::json::object();
};

class InferenceJobs {
 public:
  InferenceJobs(Store* store, ModelRegistry* models, JobWorkers* workers)
      : store_(store), models_(models), workers_(workers) {}

  // Queues a job for `caller` (its owner) and wakes the workers.
  StatusOr<InferenceRecord> Start(const Caller& caller, const StartInferenceRequest& request) const;
  // The jobs `filter` selects among those `caller` may see (filter.owner_id is set here).
  StatusOr<std::vector<InferenceRecord>> List(const Caller& caller, InferenceFilter filter) const;
  // The job with its results and errors (JobReport); *records: the result records.
  StatusOr<nlohmann::json> Report(const Caller& caller, int64_t id,
                                  std::vector<JobResultRecord>* records = nullptr) const;
  // Stores a cancel request and drops the job's images still queued in a model here.
  StatusOr<InferenceRecord> Cancel(const Caller& caller, int64_t id) const;
  // Runs a failed job again (JobQueue::RetryJob): it keeps its results and runs the
  // images without one — after the disk was full, say. FailedPrecondition unless failed.
  StatusOr<InferenceRecord> Retry(const Caller& caller, int64_t id) const;
  // The job's DICOM SEG files (jobs/dicom_seg_job.h), by id. When it has none:
  // InvalidArgument for a job whose dataset holds no DICOM file (not on DICOM input),
  // FailedPrecondition while the job has not completed (they are written when it does),
  // NotFound once it completed without one (a model that makes no class mask, every
  // image failed); the message says which.
  StatusOr<std::vector<FileRecord>> DicomSegFiles(const Caller& caller, int64_t id) const;

 private:
  StatusOr<InferenceRecord> Visible(const Caller& caller, int64_t id) const;

  Store* const store_;
  ModelRegistry* const models_;
  JobWorkers* const workers_;
};

}  // namespace infera
