// InferenceWorkers: the threads that run dataset inference jobs.
//
// Each worker claims a job from the Store (a lease: a worker that dies loses its jobs
// to the others once the lease expires), then runs the job's runner over every source
// image that has no result yet — so a resumed job never redoes or duplicates images:
//
//   blob -> the image pipeline (serving/image_pipeline: decode, Preprocess on this
//   worker; the model's batcher at job priority, below online requests; Postprocess and
//   encoding on a pipeline worker) -> blobs -> Store::AddInferenceResult (result +
//   output files + progress in one transaction)
//
// Up to `max_in_flight` images of a job are queued on the batcher at once, so the
// worker decodes while the engine runs batches and pipeline workers post-process. One image failing
// (corrupt file, wrong channel count, engine error) records an error for that image; the job goes
// on and ends `completed` with the failures counted in its note. A job whose runner or model is
// missing ends `failed` with a note. Cancel requests (Store::CancelInference) are seen within a
// second (at once when Notify is called): the job's images still queued in the batcher are dropped
// unrun, those already in the model are discarded, and the job ends `canceled`. Stop() lets the
// images in flight finish, then hands the job back to the queue (it resumes on the next start).
//
// Thread-safety: Start/Stop from one controlling thread; Notify from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "imaging/codec.h"
#include "models/model_registry.h"
#include "serving/image_pipeline.h"
#include "store/blob_store.h"
#include "store/store.h"

namespace infera {

struct InferenceWorkerOptions {
  int workers = 1;
  int64_t lease_ms = 30000;
  int priority = 10;      // batcher priority of job images; online requests use 0
  int max_in_flight = 0;  // images queued at once per job; 0: 2 x max_batch_size
  DecodeLimits decode;
  std::chrono::milliseconds idle_poll{500};  // how often an idle worker looks for jobs
  std::string name = "worker";               // worker ids are "<name>-<pid>-<i>"
};

class InferenceWorkers {
 public:
  // The store, blob store, registry and pipeline must outlive the workers. Without a
  // pipeline the workers make their own (one worker per core).
  InferenceWorkers(Store* store, BlobStore* blobs, ModelRegistry* models,
                   InferenceWorkerOptions options, ImagePipeline* pipeline = nullptr);
  ~InferenceWorkers();  // Stop()
  InferenceWorkers(const InferenceWorkers&) = delete;
  InferenceWorkers& operator=(const InferenceWorkers&) = delete;

  void Start();
  // Stops claiming; jobs in progress finish their in-flight images and go back to the
  // queue. Joins the threads. Idempotent.
  void Stop();
  // Wakes idle workers (a job was queued or a cancel requested).
  void Notify();
  // A cancel was stored for job `id`: when a worker here runs it, its images still
  // queued in the model's batcher are dropped now (the run itself ends at its next
  // check); then Notify(). Thread-safe.
  void Cancel(int64_t id);

 private:
  class JobRun;
  void Loop(int index);
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  uint64_t generation() {
    MutexLock lock(&mu_);
    return generation_;
  }

  Store* const store_;
  BlobStore* const blobs_;
  ModelRegistry* const models_;
  const InferenceWorkerOptions options_;
  std::unique_ptr<ImagePipeline> own_pipeline_;  // when none was given
  ImagePipeline* const pipeline_;

  Mutex mu_;
  CondVar cv_;
  uint64_t generation_ GUARDED_BY(mu_) = 0;  // bumped by Notify
  // The drop flag of each job running here (JobRun registers and removes its own).
  std::map<int64_t, std::shared_ptr<std::atomic<bool>>> running_ GUARDED_BY(mu_);
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

// The output file name of an artifact for a source file name: "<stem>_mask.png",
// "<stem>_instances.png", "<stem>_preview.png", "<stem>_probability.tif".
std::string ArtifactFilename(std::string_view source_filename, std::string_view kind,
                             std::string_view extension);

}  // namespace infera
