// RetrainingJobs: the retraining job service the /api/retraining routes call (issue 18) —
// starting a job (checked here so that a job never fails later on what a caller could be
// told at once), listing, reading and cancelling jobs, with the ownership rules of
// serving/ownership.h.
//
// Start checks: the model serves a version (NotFound otherwise) and is a repository model
// (its versions readable: the new version goes there); its backend is torchscript and its
// runner one of TrainableRunners (CheckRunnerTrains: InvalidArgument naming the runners
// that can);
// ParseTrainingParams accepts the params (InvalidArgument with its reason); every set
// exists and the caller may see it (NotFound "annotation set <id> not found" otherwise, as
// for datasets), has masks and suits the runner (jobs/retraining_samples); for a runner
// whose targets are class indices (multiclass_argmax, classify, custom_tiff with K > 1
// output channels), with K as warm-up saw it, no label id of a set is K or above
// (InvalidArgument naming it; 255 and 65535 aside: unannotated; for an image_labels set,
// the model's class its label maps to by name; without warm-up the job's trainer checks
// the targets). Sets of different datasets may be combined. The job starts from the
// version serving now.
//
// Errors otherwise: NotFound for a job the caller cannot see (or not a retraining),
// FailedPrecondition for cancelling a finished job, Unimplemented when the storage
// driver has no annotation sets, the stores' errors.
// Thread-safety: every method is safe from any thread. The stores, manager, registry and
// workers (null: none run here) must outlive the object.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "jobs/job_workers.h"
#include "jobs/retraining_record.h"
#include "models/model_manager.h"
#include "models/model_registry.h"
#include "serving/ownership.h"
#include "store/annotation_store.h"
#include "store/store.h"

namespace infera {

struct StartRetrainingRequest {
  std::string model_name;
  std::vector<int64_t> annotation_set_ids;
  nlohmann::json params = nlohmann::json::object();
};

class RetrainingJobs {
 public:
  RetrainingJobs(Store* store, AnnotationStore* annotations, ModelManager* manager,
                 ModelRegistry* models, JobWorkers* workers)
      : store_(store),
        annotations_(annotations),
        manager_(manager),
        models_(models),
        workers_(workers) {}

  // Queues a job for `caller` (its owner) and wakes the training workers.
  StatusOr<JobRecord> Start(const Caller& caller, const StartRetrainingRequest& request) const;
  // The retraining jobs `caller` may see, newest first (status filter optional).
  StatusOr<std::vector<JobRecord>> List(const Caller& caller, std::optional<JobStatus> status,
                                        int64_t limit, int64_t offset) const;
  StatusOr<JobRecord> Get(const Caller& caller, int64_t id) const;
  // Stores a cancel request; a running job stops within one batch.
  StatusOr<JobRecord> Cancel(const Caller& caller, int64_t id) const;

 private:
  Store* const store_;
  AnnotationStore* const annotations_;
  ModelManager* const manager_;
  ModelRegistry* const models_;
  JobWorkers* const workers_;
};

}  // namespace infera
