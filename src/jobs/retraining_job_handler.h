// RetrainingJobHandler: runs jobs of kind "retraining" (jobs/retraining_record.h) — a
// repository model fine-tuned on the current masks of annotation sets, the result added
// to the repository as its next version (issue 18):
//
//   annotation sets -> jobs/retraining_samples (masks + images from the stores)
//   -> training/Trainer (epoch checkpoints in <work_root>/<job id>/, so a job that comes
//      back after a crash or a shutdown resumes after its last checkpointed epoch)
//   -> ModelManager::AddVersion(model, artifact, training record, activate)
//
// While it trains, every epoch's metrics, the trainer's log lines and the progress
// (epochs done of epochs) are written to the job (JobQueue::UpdateJobProgress). The
// trainer's should_stop is the JobContext's Check(): a cancel stops within one batch
// (the job ends canceled, its checkpoints removed); the workers stopping hand the job
// back (Release: it resumes from its checkpoint on the next claim); a lost job writes
// nothing more. At the end the new version is activated when its best validation score
// is at least the parent's on the same split, else written held back, with a note saying
// so (POST /api/models/{id}/versions/{v}/activate promotes it). A version is added once
// per job: its training record names the job, and a job that comes back after adding it
// (a crash between AddVersion and FinishJob) finds it instead of training again.
//
// The server runs this handler on its own JobWorkers (training.concurrent_jobs threads,
// one by default), apart from the inference workers, and the trainer on
// training.threads intra-op threads — the serving lanes are left alone.
//
// Thread-safety: Run is called from several worker threads at once; each run keeps its
// own state. The stores and the manager must outlive the handler.
#pragma once

#include <filesystem>
#include <string_view>

#include "imaging/codec.h"
#include "jobs/job_handler.h"
#include "jobs/retraining_record.h"
#include "models/model_manager.h"
#include "store/annotation_store.h"
#include "store/blob_store.h"
#include "store/store.h"

namespace infera {

// The server's `training:` section.
struct RetrainingJobOptions {
  int concurrent_jobs = 1;  // training jobs this node runs at once (its own job workers)
  int threads = 1;          // intra-op threads of one training job (a job's params.threads is
                            // capped to it)
  std::filesystem::path work_root;  // checkpoints: <work_root>/<job id>/ (<storage>/training)
  DecodeLimits decode;              // images and masks read for training
};

class RetrainingJobHandler final : public JobHandler {
 public:
  RetrainingJobHandler(Store* store, AnnotationStore* annotations, BlobStore* blobs,
                       ModelManager* manager, RetrainingJobOptions options);
  std::string_view kind() const override { return kRetrainingJobKind; }
  JobOutcome Run(JobContext& ctx) override;

 private:
  class JobRun;  // one job on one worker
  Store* const store_;
  AnnotationStore* const annotations_;
  BlobStore* const blobs_;
  ModelManager* const manager_;
  const RetrainingJobOptions options_;
};

}  // namespace infera
