#include "models/model.h"

#include <thread>

#include "backends/backend_registry.h"
#include "common/logging.h"
#include "common/strings.h"
#include "runners/runner_registry.h"

namespace infera {

Model::Model(ModelConfig config) : config_(std::move(config)) {}

Model::~Model() {
  if (batcher_) batcher_->Shutdown();
}

StatusOr<std::shared_ptr<Model>> Model::Load(ModelConfig config, MetricsRegistry* metrics) {
  ModelLoadOptions options;
  options.metrics = metrics;
  return Load(std::move(config), options);
}

StatusOr<std::shared_ptr<Model>> Model::Load(ModelConfig config,
                                             const ModelLoadOptions& load_options) {
  MetricsRegistry* metrics = load_options.metrics;
  const auto start = std::chrono::steady_clock::now();
  const Runner* runner = FindRunner(config.runner);
  if (runner == nullptr) {
    return absl::InvalidArgumentError(
        StrCat("model '", config.name, "': unknown runner '", config.runner, "'"));
  }
  std::unique_ptr<Model> model(new Model(std::move(config)));
  model->runner_ = runner;
  const ModelConfig& cfg = model->config_;
  for (int64_t i = 0; i < cfg.instances.count; ++i) {
    BackendOptions options = MakeBackendOptions(cfg, *runner);
    options.instance = static_cast<int>(i);
    ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, CreateBackend(cfg.backend, options));
    model->backends_.push_back(std::move(backend));
  }
  model->AdoptGraphNames();
  if (cfg.warmup.enabled) RETURN_IF_ERROR(model->Warmup());
  model->batch_sizes_ = ChooseBatchSizes(cfg, model->WarmupRowShape(), *model->backends_[0],
                                         load_options.batch_timing_cache);

  DynamicBatcher::Options options;
  options.model_name = cfg.name;
  options.policy.max_batch_size = cfg.batching.max_batch_size;
  options.policy.max_queue_delay =
      std::chrono::microseconds(static_cast<int64_t>(cfg.batching.max_queue_delay_ms * 1000.0));
  options.policy.preferred_batch_sizes = model->batch_sizes_.preferred;
  options.max_queue_size = static_cast<size_t>(cfg.batching.max_queue_size);
  options.instances = model->backends_.size();
  Model* raw = model.get();
  if (metrics != nullptr) {
    model->metrics_ = std::make_unique<ModelMetrics>(*metrics, cfg.name, cfg.version);
    ModelMetrics* m = model->metrics_.get();
    options.on_batch = [m](const BatchEvent& event) { m->OnBatch(event); };
    options.on_expired = [m](size_t n) { m->OnExpired(n); };
  }
  options.on_thread_start = [raw](size_t i) { raw->backends_[i]->PrepareThread(); };
  model->batcher_ = std::make_unique<DynamicBatcher>(
      std::move(options),
      [raw](size_t i, std::vector<Tensor>& inputs) { return raw->backends_[i]->Execute(inputs); });
  model->load_time_ = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  Log(LogLevel::kInfo, "model_loaded",
      {{"model", cfg.name},
       {"version", std::to_string(cfg.version)},
       {"backend", cfg.backend},
       {"runner", cfg.runner},
       {"instances", std::to_string(cfg.instances.count)},
       {"load_ms", std::to_string(model->load_time_.count())}});

  // The last reference may drop inside a completion callback on one of this model's
  // own instance threads, which cannot join itself: destroy elsewhere then.
  return std::shared_ptr<Model>(model.release(), [](Model* m) {
    if (m->batcher_ && m->batcher_->IsInstanceThread()) {
      std::thread([m] { delete m; }).detach();
    } else {
      delete m;
    }
  });
}

int64_t Model::weight_bytes() const {
  int64_t total = 0;
  for (const auto& backend : backends_) total += backend->weight_bytes();
  return total;
}

Shape ModelInputRowShape(const ModelConfig& config, const Runner& runner, int h, int w) {
  const InputSpec& spec = config.input;
  if (spec.size) {
    h = spec.size->first;
    w = spec.size->second;
  }
  const int64_t c = runner.ModelInputChannels(config);
  if (spec.layout == Layout::kNHWC) return {h, w, c};
  return {c, h, w};
}

BackendOptions MakeBackendOptions(const ModelConfig& config, const Runner& runner) {
  BackendOptions options;
  options.model_name = config.name;
  options.artifact = config.artifact;
  options.device = config.instances.device;
  options.intra_op_threads = static_cast<int>(config.instances.threads);
  options.instances = static_cast<int>(config.instances.count);
  options.output_names = config.outputs;
  options.output_positions.assign(config.output_positions.begin(), config.output_positions.end());
  options.input_dtype = config.input.dtype;
  options.optimize = config.optimize;
  if (config.input.size) options.input_shape = ModelInputRowShape(config, runner, -1, -1);
  return options;
}

std::string Model::graph_optimization() const {
  return backends_.empty() ? std::string() : backends_[0]->graph_optimization();
}

BackendOptions RawEngineOptions(const ModelConfig& config, const Runner& runner) {
  BackendOptions options = MakeBackendOptions(config, runner);
  options.intra_op_threads = 0;
  options.instance = 0;
  options.instances = 1;
  return options;
}

void Model::AdoptGraphNames() {
  if (backends_.empty()) return;
  const std::vector<std::string> inputs = backends_[0]->input_names();
  if (!inputs.empty() && inputs[0] != config_.input_name) {
    if (config_.input_name != ModelConfig().input_name) {  // model.yaml named it
      Log(LogLevel::kWarning, "input_renamed",
          {{"model", config_.name}, {"config", config_.input_name}, {"graph", inputs[0]}});
    }
    config_.input_name = inputs[0];
  }
  if (config_.outputs.empty()) config_.outputs = backends_[0]->output_names();
}

Shape Model::InputRowShape(int h, int w) const {
  return ModelInputRowShape(config_, *runner_, h, w);
}

TensorInfo Model::InputInfo() const {
  TensorInfo info;
  info.name = config_.input_name;
  info.dtype = config_.input.dtype;
  info.shape = InputRowShape(-1, -1);
  info.shape.insert(info.shape.begin(), -1);
  return info;
}

Shape Model::WarmupRowShape() const { return InputRowShape(224, 224); }

Status Model::Warmup() {
  std::vector<int64_t> sizes = config_.warmup.batch_sizes;
  if (sizes.empty()) {
    sizes = {1};
    if (config_.batching.max_batch_size > 1) sizes.push_back(config_.batching.max_batch_size);
  }
  for (auto& backend : backends_) {
    backend->PrepareThread();
    for (int64_t b : sizes) {
      Shape shape = WarmupRowShape();
      shape.insert(shape.begin(), b);
      std::vector<Tensor> inputs;
      inputs.emplace_back(config_.input.dtype, shape);
      StatusOr<std::vector<Tensor>> out = backend->Execute(inputs);
      if (!out.ok()) {
        return absl::Status(out.status().code(), StrCat("warm-up with a batch of ", b,
                                                        " failed: ", out.status().message()));
      }
      if (output_info_.empty()) {
        for (size_t i = 0; i < out->size(); ++i) {
          TensorInfo info;
          info.name = i < config_.outputs.size() ? config_.outputs[i] : StrCat("output", i);
          info.dtype = (*out)[i].dtype();
          info.shape = (*out)[i].shape();
          if (!info.shape.empty()) info.shape[0] = -1;
          output_info_.push_back(std::move(info));
        }
      }
    }
  }
  return absl::OkStatus();
}

Status Model::Infer(InferenceRequest request) {
  std::vector<InferenceRequest> one;
  one.push_back(std::move(request));
  return InferGroup(std::move(one));
}

Status Model::InferGroup(std::vector<InferenceRequest> requests) {
  if (config_.batching.default_timeout_ms > 0) {
    const auto deadline =
        BatchClock::now() + std::chrono::milliseconds(config_.batching.default_timeout_ms);
    for (InferenceRequest& request : requests) {
      if (!request.context.deadline) request.context.deadline = deadline;
    }
  }
  Status queued = batcher_->EnqueueGroup(std::move(requests));
  if (!queued.ok() && queued.code() == absl::StatusCode::kUnavailable && metrics_) {
    metrics_->OnRejected();
  }
  return queued;
}

}  // namespace infera
