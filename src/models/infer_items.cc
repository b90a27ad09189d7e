#include "models/infer_items.h"

#include <algorithm>

#include "common/mutex.h"
#include "models/model.h"

namespace infera {

namespace {

// Shared by the items of one call; the last item to finish calls `done`.
struct Gather {
  Mutex mu;
  size_t remaining GUARDED_BY(mu) = 0;
  Status error GUARDED_BY(mu);  // the first error
  ItemsResult result GUARDED_BY(mu);
  std::shared_ptr<Model> model;  // kept alive until done
  std::function<void(StatusOr<ItemsResult>)> done;

  // Records one item's end; calls done when it was the last.
  void Finish(size_t n, const Status& status) {
    bool last = false;
    {
      MutexLock lock(&mu);
      if (!status.ok() && error.ok()) error = status;
      remaining -= n;
      last = remaining == 0;
    }
    if (!last) return;
    Status first_error;
    ItemsResult out;
    {
      MutexLock lock(&mu);
      first_error = error;
      out = std::move(result);
    }
    auto callback = std::move(done);
    if (first_error.ok()) {
      callback(std::move(out));
    } else {
      callback(first_error);
    }
  }
};

}  // namespace

void InferItems(std::shared_ptr<Model> model, std::vector<std::vector<Tensor>> items,
                const RequestContext& ctx, std::function<void(StatusOr<ItemsResult>)> done) {
  if (items.empty()) {
    done(absl::InvalidArgumentError("the runner produced no model input"));
    return;
  }
  auto gather = std::make_shared<Gather>();
  {
    MutexLock lock(&gather->mu);
    gather->remaining = items.size();
    gather->result.outputs.resize(items.size());
  }
  gather->model = model;
  gather->done = std::move(done);
  std::vector<InferenceRequest> requests;
  requests.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    InferenceRequest request;
    request.inputs = std::move(items[i]);
    request.context = ctx;
    request.done = [gather, i](StatusOr<InferenceResult> r) {
      if (r.ok()) {
        MutexLock lock(&gather->mu);
        ItemsResult& out = gather->result;
        out.outputs[i] = std::move(r->outputs);
        out.queue_time = std::max(out.queue_time, r->queue_time);
        out.compute_time += r->compute_time;
        out.batch_size = std::max(out.batch_size, r->batch_size);
      }
      gather->Finish(1, r.ok() ? Status() : r.status());
    };
    requests.push_back(std::move(request));
  }
  // All items or none: a request is admitted (and counted against the queue bound) once.
  const size_t n = requests.size();
  if (Status queued = model->InferGroup(std::move(requests)); !queued.ok()) {
    gather->Finish(n, queued);
  }
}

}  // namespace infera
