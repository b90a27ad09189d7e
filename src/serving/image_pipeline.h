// ImagePipeline: the one path an image takes through a model, shared by every front end
// — `POST /predict`, dataset inference jobs (and so `infera infer`), and `infera bench
// job`'s plain loop uses its stages too:
//
//   Prepare   (caller's thread)  decode (pixel limits) -> runner.Preprocess -> items
//   Submit    the items go to the model's batcher with the RequestContext's priority,
//             deadline and cancel flag (InferItems); the batcher's instance thread only
//             hands the outputs over
//   Finish    (a pipeline worker) runner.Postprocess -> every artifact encoded
//   done      (the same worker) the caller's callback with the result
//
// Post-processing runs on the pipeline's own bounded pool of worker threads, never on a
// batcher instance thread or an engine lane: a cellpose model's mask reconstruction
// (hundreds of ms) overlaps the next batch's forward instead of holding it up. The
// workers are shared fairly among models (WorkerPool: turns by model, and no model
// holds every worker), so a small model's responses never queue behind it.
// The pool's queue is bounded by its callers: each model's batcher queue is bounded
// (max_queue_size) and a job keeps at most max_in_flight images in the model.
//
// Thread-safety: Prepare and Finish are pure functions of their arguments; Submit is
// safe from any thread. Shutdown (also run by the destructor) finishes the work already
// handed over; a Submit whose outputs arrive after it (or after the pipeline is destroyed)
// completes with Unavailable on the thread that delivers them.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "common/request_context.h"
#include "common/status.h"
#include "imaging/codec.h"
#include "imaging/image.h"
#include "runners/runner.h"
#include "serving/worker_pool.h"
#include "tensor/tensor.h"

namespace infera {

class Model;

// Where an image's time went, in milliseconds (batch_size: the largest batch one of its
// model calls ran in).
struct PipelineTimings {
  double decode_ms = 0;
  double preprocess_ms = 0;
  double queue_ms = 0;        // longest wait of a model call in the batcher's queue
  double compute_ms = 0;      // sum of the batches' execute times its model calls ran in
  double postprocess_ms = 0;  // Postprocess and encoding of every artifact
  int64_t batch_size = 0;
};

// PreparedImage: one decoded, preprocessed image waiting for its model calls.
struct PreparedImage {
  Image source;
  RunnerInput input;      // Submit moves the items out; the runner's context stays
  nlohmann::json params;  // resolved (Runner::ResolveParams)
  PipelineTimings timings;
};

// EncodedArtifact: a runner's artifact with its encoded bytes (PNG or TIFF).
struct EncodedArtifact {
  RunnerArtifact artifact;
  std::vector<std::byte> bytes;
};

// ImageResult: what the pipeline makes of one image.
struct ImageResult {
  nlohmann::json summary = nlohmann::json::object();
  std::vector<EncodedArtifact> artifacts;
  PipelineTimings timings;
};

using ImageCallback = std::function<void(StatusOr<ImageResult>)>;

// ImageOutputs: the model's outputs for one prepared image, before Postprocess.
struct ImageOutputs {
  // Its items moved out; the timings up to compute filled in.
  PreparedImage image;
  // outputs[i]: item i's outputs.
  std::vector<std::vector<Tensor>> outputs;
};

using OutputsCallback = std::function<void(StatusOr<ImageOutputs>)>;

class ImagePipeline {
 public:
  struct Options {
    int threads = 0;  // post-processing workers; 0: one per core
    std::string name = "postprocess";
  };

  explicit ImagePipeline(Options options);
  ImagePipeline() : ImagePipeline(Options{}) {}
  ~ImagePipeline();
  ImagePipeline(const ImagePipeline&) = delete;
  ImagePipeline& operator=(const ImagePipeline&) = delete;

  // Decodes `encoded` (InvalidArgument for bad bytes or too many pixels) and runs the
  // runner's Preprocess with `params` (already resolved: Runner::ResolveParams).
  static StatusOr<PreparedImage> Prepare(const Runner& runner, const ModelDescription& model,
                                         std::span<const std::byte> encoded, nlohmann::json params,
                                         const DecodeLimits& limits);
  // Preprocess only, for an image already decoded.
  static StatusOr<PreparedImage> Prepare(const Runner& runner, const ModelDescription& model,
                                         Image image, nlohmann::json params);

  // Runs Postprocess on the model's outputs for `image` (outputs[i]: item i's outputs)
  // and encodes every artifact. Fills the result's timings.postprocess_ms; the other
  // timings are copied from `image`.
  static StatusOr<ImageResult> Finish(const Runner& runner, const ModelDescription& model,
                                      const PreparedImage& image,
                                      const std::vector<std::vector<Tensor>>& outputs);

  // Queues `image`'s model calls on `model` and, when they are all back, runs Finish on
  // a pipeline worker and calls `done` there, exactly once. Errors reach `done`: the
  // batcher's (Unavailable for a full queue or an expired deadline, InvalidArgument for
  // inputs the model refuses, the engine's), Cancelled when ctx.canceled was set before
  // the outputs were post-processed, Finish's. When nothing could be queued `done` runs
  // on the calling thread. `done` should not block for long (it holds a worker).
  void Submit(std::shared_ptr<Model> model, PreparedImage image, const RequestContext& ctx,
              ImageCallback done);

  // As Submit, but `done` gets the model's outputs instead of Finish's result (on a
  // pipeline worker, in the model's turn): for the core's other readers of a model's
  // outputs — active learning's probabilities (Runner::Probabilities). Queueing,
  // priority, deadline, cancel and errors as Submit; Submit is this plus Finish.
  void SubmitForOutputs(std::shared_ptr<Model> model, PreparedImage image,
                        const RequestContext& ctx, OutputsCallback done);

  // Runs `work` on a pipeline worker, in `key`'s turn (the model's: workers are shared
  // fairly among models, see serving/worker_pool.h) — for the core's other work that
  // must stay off the batcher threads (the tensor service's outputs). False when the
  // pipeline is shut down or gone (`work` is then dropped). The returned poster may
  // outlive the pipeline.
  std::function<bool(std::function<void()>)> Poster(const void* key) const;

  // Stops accepting, finishes what was handed over, joins the workers. Idempotent.
  void Shutdown();

 private:
  // Shared with the model calls in flight (weakly), so that outputs arriving after the
  // pipeline is gone complete with Unavailable instead of touching a freed pool.
  std::shared_ptr<WorkerPool> pool_;
};

}  // namespace infera
