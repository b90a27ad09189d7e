#include "models/infer_items.h"

#include <algorithm>
#include <mutex>

#include "models/model.h"

namespace infera {

namespace {

// Shared by the items of one call; the last item to finish calls `done`.
struct Gather {
  std::mutex mu;
  size_t remaining = 0;          // GUARDED_BY(mu)
  Status error;                  // GUARDED_BY(mu): the first error
  ItemsResult result;            // GUARDED_BY(mu)
  std::shared_ptr<Model> model;  // kept alive until done
  std::function<void(StatusOr<ItemsResult>)> done;

  // Records one item's end; calls done when it was the last.
  void Finish(size_t n, const Status& status) {
    bool last = false;
    {
      std::lock_guard lock(mu);
      if (!status.ok() && error.ok()) error = status;
      remaining -= n;
      last = remaining == 0;
    }
    if (!last) return;
    auto callback = std::move(done);
    if (error.ok()) {
      callback(std::move(result));
    } else {
      callback(error);
    }
  }
};

}  // namespace

void InferItems(std::shared_ptr<Model> model, std::vector<std::vector<Tensor>> items,
                const ItemsOptions& options, std::function<void(StatusOr<ItemsResult>)> done) {
  if (items.empty()) {
    done(absl::InvalidArgumentError("the runner produced no model input"));
    return;
  }
  auto gather = std::make_shared<Gather>();
  gather->remaining = items.size();
  gather->result.outputs.resize(items.size());
  gather->model = model;
  gather->done = std::move(done);
  for (size_t i = 0; i < items.size(); ++i) {
    InferenceRequest request;
    request.inputs = std::move(items[i]);
    request.priority = options.priority;
    request.deadline = options.deadline;
    request.canceled = options.canceled;
    request.done = [gather, i](StatusOr<InferenceResult> r) {
      if (r.ok()) {
        std::lock_guard lock(gather->mu);
        ItemsResult& out = gather->result;
        out.outputs[i] = std::move(r->outputs);
        out.queue_time = std::max(out.queue_time, r->queue_time);
        out.compute_time += r->compute_time;
        out.batch_size = std::max(out.batch_size, r->batch_size);
      }
      gather->Finish(1, r.ok() ? Status() : r.status());
    };
    Status queued = model->Infer(std::move(request));
    if (!queued.ok()) {
      // This item and the ones never queued end here.
      gather->Finish(items.size() - i, queued);
      return;
    }
  }
}

}  // namespace infera
