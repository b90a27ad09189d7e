#include "serving/image_pipeline.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "models/infer_items.h"
#include "models/model.h"
#include "tracing/span.h"
#include "tracing/span_log_scope.h"

namespace infera {

namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}
double Ms(std::chrono::microseconds us) { return static_cast<double>(us.count()) / 1000.0; }

int WorkerCount(int threads) {
  if (threads > 0) return threads;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace

ImagePipeline::ImagePipeline(Options options)
    : pool_(std::make_shared<WorkerPool>(WorkerCount(options.threads), std::move(options.name))) {}

ImagePipeline::~ImagePipeline() { Shutdown(); }

void ImagePipeline::Shutdown() { pool_->Shutdown(); }

std::function<bool(std::function<void()>)> ImagePipeline::Poster(const void* key) const {
  return [weak = std::weak_ptr<WorkerPool>(pool_), key](std::function<void()> work) {
    std::shared_ptr<WorkerPool> pool = weak.lock();
    return pool != nullptr && pool->Post(key, std::move(work));
  };
}

StatusOr<PreparedImage> ImagePipeline::Prepare(const Runner& runner, const ModelDescription& model,
                                               std::span<const std::byte> encoded,
                                               nlohmann::json params, const DecodeLimits& limits) {
  const Clock::time_point start = Clock::now();
  ASSIGN_OR_RETURN(Image image, DecodeImage(encoded, limits));
  const double decode_ms = MsSince(start);
  ASSIGN_OR_RETURN(PreparedImage prepared,
                   Prepare(runner, model, std::move(image), std::move(params)));
  prepared.timings.decode_ms = decode_ms;
  return prepared;
}

StatusOr<PreparedImage> ImagePipeline::Prepare(const Runner& runner, const ModelDescription& model,
                                               Image image, nlohmann::json params) {
  const Clock::time_point start = Clock::now();
  ASSIGN_OR_RETURN(RunnerInput input, runner.Preprocess(image, model, params));
  PreparedImage prepared;
  prepared.timings.preprocess_ms = MsSince(start);
  prepared.source = std::move(image);
  prepared.input = std::move(input);
  prepared.params = std::move(params);
  return prepared;
}

StatusOr<ImageResult> ImagePipeline::Finish(const Runner& runner, const ModelDescription& model,
                                            const PreparedImage& image,
                                            const std::vector<std::vector<Tensor>>& outputs) {
  const Clock::time_point start = Clock::now();
  ASSIGN_OR_RETURN(RunnerOutput out,
                   runner.Postprocess(image.source, image.input, outputs, model, image.params));
  ImageResult result;
  result.summary = std::move(out.summary);
  result.artifacts.reserve(out.artifacts.size());
  for (RunnerArtifact& artifact : out.artifacts) {
    ASSIGN_OR_RETURN(std::vector<std::byte> bytes, EncodeArtifact(artifact));
    result.artifacts.push_back(EncodedArtifact{std::move(artifact), std::move(bytes)});
  }
  result.timings = image.timings;
  result.timings.postprocess_ms = MsSince(start);
  return result;
}

void ImagePipeline::Submit(std::shared_ptr<Model> model, PreparedImage image,
                           const RequestContext& ctx, ImageCallback done) {
  SubmitForOutputs(model, std::move(image), ctx,
                   [model, span = ctx.span, done = std::move(done)](StatusOr<ImageOutputs> out) {
                     if (!out.ok()) return done(out.status());
                     std::shared_ptr<TraceSpan> postprocess = StartChildSpan(span, "postprocess");
                     StatusOr<ImageResult> result =
                         Finish(model->runner(), model->description(), out->image, out->outputs);
                     EndSpan(postprocess.get(), result.status());
                     done(std::move(result));
                   });
}

void ImagePipeline::SubmitForOutputs(std::shared_ptr<Model> model, PreparedImage image,
                                     const RequestContext& ctx, OutputsCallback done) {
  std::vector<std::vector<Tensor>> items = std::move(image.input.items);
  image.input.items.clear();
  // The prepared image (source, runner context) waits beside the model calls.
  auto state = std::make_shared<PreparedImage>(std::move(image));
  auto callback = std::make_shared<OutputsCallback>(std::move(done));
  std::shared_ptr<std::atomic<bool>> canceled = ctx.canceled;
  InferItems(model, std::move(items), ctx,
             [post = Poster(model.get()), model, state, callback, canceled,
              span = ctx.span](StatusOr<ItemsResult> items) {
               // On a batcher instance thread (or the caller's, when nothing was queued):
               // hand over and return at once.
               auto outputs = std::make_shared<StatusOr<ItemsResult>>(std::move(items));
               // The work holds the model until its outputs are handed over.
               auto work = [model, state, callback, canceled, outputs, span] {
                 SpanLogScope log_scope(span);
                 if (!outputs->ok()) return (*callback)(outputs->status());
                 if (canceled != nullptr && canceled->load(std::memory_order_acquire)) {
                   return (*callback)(absl::CancelledError("the request was canceled"));
                 }
                 ItemsResult& r = **outputs;
                 state->timings.queue_ms = Ms(r.queue_time);
                 state->timings.compute_ms = Ms(r.compute_time);
                 state->timings.batch_size = r.batch_size;
                 (*callback)(ImageOutputs{std::move(*state), std::move(r.outputs)});
               };
               if (!post(std::move(work))) {
                 (*callback)(absl::UnavailableError("the server is shutting down"));
               }
             });
}

}  // namespace infera
