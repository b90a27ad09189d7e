// RetrainingRecord: a job of kind "retraining" (a model fine-tuned on the current masks
// of annotation sets, issue 18) as the /api/retraining routes and the handler see it —
// the generic JobRecord (store/job_queue.h) with its spec read. The spec is stored as
// {"model", "version", "runner", "annotation_set_ids", "params"}: the model and the
// version training starts from, its runner, the sets, and the training params as
// training/ParseTrainingParams read them (every field written out).
//
// While it runs, the handler keeps the job's report (JobQueue::UpdateJobProgress) as
// {"epochs": [EpochMetrics as JSON, epoch 0 first], "logs": [line, ...],
//  "checkpoint_epoch": N, "resumed_from_epoch": [N, ...], ...} and its progress as epochs
// done of epochs; when it ends the report adds "new_version", "held_back", "best_epoch",
// "parent_score", "best_score", "seconds", "images_per_second".
//
// Pure functions and wrappers over the queue; thread-safe as the queue is.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/job_queue.h"

namespace infera {

inline constexpr std::string_view kRetrainingJobKind = "retraining";

struct RetrainingSpec {
  std::string model;    // the repository model trained
  int64_t version = 0;  // the version training starts from (the new one's parent)
  std::string runner;   // its runner (one of TrainableRunners)
  std::vector<int64_t> annotation_set_ids;           // at least one
  nlohmann::json params = nlohmann::json::object();  // TrainingParamsToJson
};

// The queued job for `spec` owned by `owner_id` (no dataset: its sets may be of several);
// total = `epochs`. InvalidArgument for an empty model or runner, no sets, or params that
// are not a JSON object.
StatusOr<JobRecord> RetrainingJob(const RetrainingSpec& spec, int64_t owner_id, int64_t epochs);
// The spec of a retraining job. InvalidArgument for a job of another kind or a spec that
// is not a retraining's.
StatusOr<RetrainingSpec> RetrainingSpecOf(const JobRecord& job);

// The job `id` when it is a retraining; "retraining <id> not found" (NotFound) for an
// unknown id or a job of another kind.
StatusOr<JobRecord> GetRetraining(JobQueue& queue, int64_t id);

// The API's JSON of a retraining job: {retraining_id, status, note, model,
// parent_version, runner, annotation_set_ids, params, progress: {epochs_done, epochs},
// epochs, logs, checkpoint_epoch, best_epoch, parent_score, best_score, new_version,
// held_back, resumed_from_epoch, owner_id, attempts, cancel_requested, created_at, started_at,
// finished_at}. new_version and held_back are null until the job completed; logs and
// epochs [] before it ran. `with_logs` false leaves logs out (lists).
nlohmann::json RetrainingJson(const JobRecord& job, bool with_logs = true);

}  // namespace infera
