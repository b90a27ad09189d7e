// InferItems: runs a runner's model calls (RunnerInput::items) through a model's
// batcher and gathers their outputs, in item order.
//
// Each item is queued as its own request (so the items of one image — tiles — can share
// batches with other images' items), all of them as one group: admitted or refused
// whole, and counted once against the model's max_queue_size. `done` is called exactly
// once, on a batcher instance thread or (when the group was refused) on the calling
// thread, after every item completed: with all outputs, or with the first error (the
// queue refused the request, an item timed out or failed in the engine). It must not
// block.
// Thread-safe; the model is kept alive until `done` returns.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "batching/dynamic_batcher.h"
#include "common/request_context.h"
#include "common/status.h"
#include "tensor/tensor.h"

namespace infera {

class Model;

struct ItemsResult {
  std::vector<std::vector<Tensor>> outputs;   // outputs[i]: the outputs of item i
  std::chrono::microseconds queue_time{0};    // longest queue wait of the items
  std::chrono::microseconds compute_time{0};  // sum of the items' batch execute times
  int64_t batch_size = 0;                     // largest batch an item ran in
};

// Every item's request carries a copy of `ctx` (priority, deadline, cancel flag, id).
void InferItems(std::shared_ptr<Model> model, std::vector<std::vector<Tensor>> items,
                const RequestContext& ctx, std::function<void(StatusOr<ItemsResult>)> done);

}  // namespace infera
