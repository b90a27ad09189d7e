// TensorInference: the Open Inference Protocol's rules for one inference request, shared
// by every front end that speaks the protocol (HTTP /v2/.../infer today; gRPC next).
// A front end decodes its wire format into an OipRequest, calls Infer, and encodes the
// OipResponse it gets back; everything in between is decided here, once:
//
//   * BYTES for the model's input: encoded images, decoded and preprocessed with the
//     model's input spec (bytes_images.h); a BYTES input of another name is refused.
//   * Exactly the model's one input, with its datatype and shape (-1 dims free, batch
//     >= 1); InvalidArgument naming the tensor otherwise.
//   * Outputs: all (in the model's order) when none are asked for, else the requested
//     ones by name (unknown names refused, listing the model's); `binary_data` per
//     output, `binary_data_output` for the request, and raw requests answered in binary
//     by default; `classification: N` answers the top N classes (classification.h).
//   * Schedule policy: parameter `priority` (0 or absent = the default level 1000; 1 is
//     the highest; larger is lower) and `timeout` (µs; 0 = none) set the batcher
//     request's priority and deadline.
//
// Thread-safety: Infer may be called from any thread. Its callback runs exactly once:
// on a pipeline worker (never on a batcher thread) with the response or an error; on
// the calling thread for errors found before the request was queued.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "common/request_context.h"
#include "common/status.h"
#include "serving/image_pipeline.h"
#include "serving/oip_types.h"

namespace infera {

class Model;

using OipCallback = std::function<void(StatusOr<OipResponse>)>;

class TensorInference {
 public:
  struct Options {
    int64_t max_image_pixels = 100'000'000;  // for BYTES image inputs
  };

  // `pipeline` (its workers build the responses) must outlive this object; callbacks
  // of requests still in a model after it is gone complete with Unavailable.
  TensorInference(ImagePipeline* pipeline, Options options)
      : pipeline_(pipeline), options_(options) {}

  // Runs `request` on `model`. `raw`: the request was a raw binary body (outputs in
  // binary unless asked otherwise). `ctx` gives the request id and cancel flag; the
  // request's priority and timeout parameters set its priority and deadline.
  void Infer(std::shared_ptr<Model> model, OipRequest request, bool raw, RequestContext ctx,
             OipCallback done) const;

  // The shape of one input row (without the batch) of a raw binary request to `model`:
  // InvalidArgument when the model's input has a variable dimension.
  static StatusOr<Shape> RawInputRow(const Model& model);

 private:
  ImagePipeline* const pipeline_;
  const Options options_;
};

}  // namespace infera
