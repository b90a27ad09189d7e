// InferenceRecord: a job of kind "inference" (a model run over a dataset's images) as
// the /api/inferences routes, the job service and `infera infer` see it — the generic
// JobRecord (store/job_queue.h) with its spec read: model, version, runner, params. The
// spec is stored as {"model", "version", "runner", "params"}.
//
// Also the JSON forms the API returns for such a job and its results. Pure functions
// and wrappers over the store; thread-safe as the store is.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/job_queue.h"
#include "store/store.h"

namespace infera {

inline constexpr std::string_view kInferenceJobKind = "inference";

struct InferenceRecord {
  int64_t id = 0;
  int64_t owner_id = 0;
  int64_t dataset_id = 0;
  std::string model_name;
  int64_t model_version = 0;
  std::string runner_name;
  std::string params_json = "{}";  // validated runner params
  JobStatus status = JobStatus::kQueued;
  std::string note;
  int64_t total = 0;          // images to process (the dataset's at creation)
  int64_t done = 0;           // images with a result (success or error)
  int64_t failed_images = 0;  // results with an error
  bool cancel_requested = false;
  int64_t created_at = 0;
  int64_t started_at = 0;
  int64_t finished_at = 0;
  std::string lease_owner;
  int64_t lease_expires_at = 0;
  int attempts = 0;
  std::string timings_json = "{}";  // the job's report: aggregate timings
};

struct InferenceFilter {
  std::optional<int64_t> dataset_id;
  std::optional<JobStatus> status;
  std::optional<int64_t> owner_id;
  int64_t limit = 100;
  int64_t offset = 0;
};

// The job to create for `inference` (kind, owner, dataset, spec; total from the dataset).
// InvalidArgument for an empty model name or params that are not a JSON object.
StatusOr<JobRecord> InferenceJob(const InferenceRecord& inference);
// The inference a job is. InvalidArgument for a job of another kind or a spec that is
// not an inference's.
StatusOr<InferenceRecord> InferenceOf(const JobRecord& job);

// Store wrappers: the job `id` when it is an inference ("inference <id> not found"
// otherwise, as for an unknown id), and the inferences a filter selects.
StatusOr<InferenceRecord> CreateInference(JobQueue& queue, const InferenceRecord& inference);
StatusOr<InferenceRecord> GetInference(JobQueue& queue, int64_t id);
StatusOr<std::vector<InferenceRecord>> ListInferences(JobQueue& queue,
                                                      const InferenceFilter& filter);
StatusOr<InferenceRecord> CancelInference(JobQueue& queue, int64_t id);

// The API's JSON of a job (params and timings embedded as JSON; "dicom_seg": the DICOM
// SEG files its report lists, [{series_uid, file_id, filename, frames, segments}], [] for
// none — jobs/dicom_seg_job.h) and of one result:
// "<kind>_id" for each result file (class_mask_id, instance_mask_id, preview_id and
// probability_id always present, null when the result has none).
nlohmann::json InferenceJson(const InferenceRecord& job);
nlohmann::json ResultJson(const JobResultRecord& r);

}  // namespace infera
