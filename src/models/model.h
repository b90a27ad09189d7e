// Model: one loaded model version, ready to serve. Owns its config, its backend
// instances (one per `instances.count`), its runner (a registry singleton) and its
// DynamicBatcher, whose instance threads execute batches on those backends.
//
// Lifetime: always held by std::shared_ptr (Model::Load). Requests in flight hold a
// reference, so a model replaced in the registry finishes them before it goes away.
// Destruction runs what is queued, joins the instance threads, then frees the
// backends. If the last reference drops on one of the model's own instance threads
// (inside a completion callback), the destruction moves to a detached thread.
// Thread-safety: every public method is safe from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "batching/dynamic_batcher.h"
#include "common/status.h"
#include "models/batch_size_timing.h"
#include "models/model_config.h"
#include "models/model_metrics.h"
#include "runners/runner.h"

namespace infera {

// TensorInfo: a model input or output as the protocol describes it; -1 marks a
// variable dimension (the batch, or image sides kept at their own size).
struct TensorInfo {
  std::string name;
  DType dtype = DType::kFP32;
  Shape shape;
};

// The options a backend of `config` is created with (artifact, device, threads, the
// instance count, outputs, and the static input row shape when the input size is fixed).
// The model's own instances (each with its `instance` index set) create backends this way.
BackendOptions MakeBackendOptions(const ModelConfig& config, const Runner& runner);

// The options of the "raw engine" the benchmarks compare the server with: what a script
// loading the model would get — one instance, the engine's default threads (every core),
// whatever `instances` says.
BackendOptions RawEngineOptions(const ModelConfig& config, const Runner& runner);

// Shape of one input row (without the batch dimension) per `config`'s input spec, for
// images of size h x w when the spec keeps the image size.
Shape ModelInputRowShape(const ModelConfig& config, const Runner& runner, int h, int w);

struct ModelLoadOptions {
  // Where the model exports its series (see model_metrics.h); null: nowhere. The
  // registry must outlive the model.
  MetricsRegistry* metrics = nullptr;
  // The batch-size timing cache's folder (models/batch_timing_cache.h); empty: timings
  // are neither read nor stored.
  std::filesystem::path batch_timing_cache;
};

class Model {
 public:
  // Creates the backends (CreateBackend), warms each one up with zero inputs of the
  // configured batch sizes, chooses the preferred batch sizes (for `auto`, timing the
  // first instance unless the cache knows them: models/batch_size_timing.h), and starts
  // the batcher. Errors name the model.
  static StatusOr<std::shared_ptr<Model>> Load(ModelConfig config, const ModelLoadOptions& options);
  // Load without a timing cache, exporting series to `metrics` when not null.
  static StatusOr<std::shared_ptr<Model>> Load(ModelConfig config,
                                               MetricsRegistry* metrics = nullptr);
  ~Model();

  const ModelConfig& config() const { return config_; }
  // The model as its runner sees it (name, input spec, labels, param defaults): what
  // the runner's methods take.
  const ModelDescription& description() const { return config_; }
  const Runner& runner() const { return *runner_; }
  const DynamicBatcher& batcher() const { return *batcher_; }
  std::chrono::milliseconds load_time() const { return load_time_; }
  // The preferred batch sizes the batcher cuts, where they came from, and the timings.
  const BatchSizeChoice& batch_sizes() const { return batch_sizes_; }
  // Bytes of weights held by all instances (Backend::weight_bytes summed); 0: unknown.
  int64_t weight_bytes() const;
  // How the engine prepared the graph at load (Backend::graph_optimization of the first
  // instance; every instance is prepared alike).
  std::string graph_optimization() const;

  // Queues a request on the batcher; a request without a deadline gets the model's
  // default_timeout_ms (when non-zero). See DynamicBatcher::Enqueue for errors.
  Status Infer(InferenceRequest request);
  // Queues the items of one caller request as a group (DynamicBatcher::EnqueueGroup:
  // admitted whole, counted once against max_queue_size), each with the default deadline
  // as Infer gives it.
  Status InferGroup(std::vector<InferenceRequest> requests);

  // The model's input as the input spec makes it.
  TensorInfo InputInfo() const;
  // The outputs as seen at warm-up (names from `outputs:` or output0, output1, ...);
  // empty when warm-up is disabled.
  const std::vector<TensorInfo>& OutputInfo() const { return output_info_; }

  // Shape of one input row (without the batch dimension) per the input spec, for
  // images of size h x w when the spec keeps the image size.
  Shape InputRowShape(int h, int w) const;

 private:
  explicit Model(ModelConfig config);
  Status Warmup();
  // One input row of the warm-up's (and the batch-size timing's) zero batches: the
  // input size, or 224 x 224 for models that keep the image size.
  Shape WarmupRowShape() const;
  // Engines that know their graph's names (onnx) name the input and, when model.yaml
  // lists no outputs, the outputs: the protocol's metadata then matches the graph.
  void AdoptGraphNames();

  ModelConfig config_;
  const Runner* runner_ = nullptr;
  std::vector<std::unique_ptr<Backend>> backends_;
  std::chrono::milliseconds load_time_{0};
  BatchSizeChoice batch_sizes_;
  std::vector<TensorInfo> output_info_;
  std::unique_ptr<ModelMetrics> metrics_;  // null without a registry
  // Declared last: destroyed first, so its threads stop before the backends go.
  std::unique_ptr<DynamicBatcher> batcher_;
};

}  // namespace infera
