// InferenceJobHandler: runs jobs of kind "inference" (jobs/inference_record.h) — a
// model over every source image of a dataset that has no result yet, so a resumed job
// never redoes or duplicates images:
//
//   blob -> the image pipeline (serving/image_pipeline: decode, Preprocess on this
//   worker; the model's batcher at job priority, below online requests; Postprocess and
//   encoding on a pipeline worker) -> blobs -> Store::AddJobResult (result + output
//   files + progress in one transaction)
//
// Up to `max_in_flight` images of a job are queued on the batcher at once, so the
// worker decodes while the engine runs batches and pipeline workers post-process. One
// image failing (corrupt file, wrong channel count, engine error) records an error for
// that image; the job goes on and ends `completed` with the failures counted in its
// note. A job whose runner or model is missing ends `failed` with a note. On a cancel
// (JobContext::Check) the job's images still queued in the batcher are dropped unrun
// (the context's halt flag is their cancel flag), those already in the model are
// discarded, and the job ends `canceled`. When the workers stop, the images in flight
// finish and the job goes back to the queue.
//
// Thread-safety: Run is called from several worker threads at once; each run keeps its
// own state. The store, blob store, registry and pipeline must outlive the handler.
#pragma once

#include <string>
#include <string_view>

#include "imaging/codec.h"
#include "jobs/inference_record.h"
#include "jobs/job_handler.h"
#include "models/model_registry.h"
#include "serving/image_pipeline.h"
#include "store/blob_store.h"
#include "store/store.h"

namespace infera {

struct InferenceJobOptions {
  int priority = 10;      // batcher priority of job images; online requests use 0
  int max_in_flight = 0;  // images queued at once per job; 0: 2 x max_batch_size
  DecodeLimits decode;
};

class InferenceJobHandler final : public JobHandler {
 public:
  InferenceJobHandler(Store* store, BlobStore* blobs, ModelRegistry* models,
                      ImagePipeline* pipeline, InferenceJobOptions options);
  std::string_view kind() const override { return kInferenceJobKind; }
  JobOutcome Run(JobContext& ctx) override;

 private:
  class JobRun;  // one job on one worker
  Store* const store_;
  BlobStore* const blobs_;
  ModelRegistry* const models_;
  ImagePipeline* const pipeline_;
  const InferenceJobOptions options_;
};

// The output file name of an artifact for a source file name: "<stem>_mask.png",
// "<stem>_instances.png", "<stem>_preview.png", "<stem>_probability.tif".
std::string ArtifactFilename(std::string_view source_filename, std::string_view kind,
                             std::string_view extension);

}  // namespace infera
