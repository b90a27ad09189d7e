// Open Inference Protocol: POST /v2/models/{m}[/versions/{v}]/infer.
//
// Translation only: JSON tensors and the binary tensor data extension
// (Inference-Header-Content-Length, binary_data_size, binary_data / binary_data_output,
// raw single-input bodies) are decoded by api/oip/inference_codec into an OipRequest;
// the protocol's rules (input checks, BYTES images, output choice, classification,
// priority and timeout) are serving/tensor_inference's; the response is encoded here,
// on the pipeline worker that built it.
#include <nlohmann/json.hpp>

#include "api/http_status.h"
#include "api/oip/inference_codec.h"
#include "api/routes/model_lookup.h"
#include "api/routes/routes.h"
#include "common/strings.h"
#include "serving/tensor_inference.h"

namespace infera {

namespace {

void Infer(const ApiContext& ctx, HttpRequest&& req, Responder respond) {
  auto fail = [&respond](const Status& s) { respond(StatusResponse(s)); };
  StatusOr<std::shared_ptr<Model>> resolved = ResolveModel(ctx, req.params);
  if (!resolved.ok()) return fail(resolved.status());
  std::shared_ptr<Model> model = std::move(*resolved);
  TagModelOnSpan(req, *model);

  OipRequest request;
  bool raw = false;
  std::optional<size_t> header_length;
  if (std::string_view h = req.header("inference-header-content-length"); !h.empty()) {
    StatusOr<size_t> length = ParseHeaderLength(h, req.body.size());
    if (!length.ok()) return fail(length.status());
    header_length = *length;
    raw = *length == 0;
  }
  if (raw) {
    StatusOr<Shape> row = TensorInference::RawInputRow(*model);
    if (!row.ok()) return fail(row.status());
    const TensorInfo want = model->InputInfo();
    StatusOr<Tensor> tensor = DecodeRawInput(req.body, want.dtype, *row);
    if (!tensor.ok()) return fail(tensor.status());
    request.inputs.push_back(
        {want.name, std::move(*tensor), nlohmann::json::object(), std::nullopt});
  } else {
    OipLimits limits;
    StatusOr<OipRequest> decoded = DecodeInferRequest(req.body, header_length, limits);
    if (!decoded.ok()) return fail(decoded.status());
    request = std::move(*decoded);
  }
  RequestContext context;
  context.request_id = req.request_id;
  context.span = req.span;
  ctx.tensors->Infer(model, std::move(request), raw, std::move(context),
                     [respond](StatusOr<OipResponse> r) {
                       if (!r.ok()) return respond(StatusResponse(r.status()));
                       OipEncoded encoded =
                           EncodeInferResponse(r->model_name, r->model_version, r->id, r->outputs);
                       HttpResponse response;
                       response.status = 200;
                       response.content_type = encoded.content_type;
                       response.body = std::move(encoded.body);
                       if (encoded.header_length) {
                         response.headers["inference-header-content-length"] =
                             std::to_string(*encoded.header_length);
                       }
                       respond(std::move(response));
                     });
}

}  // namespace

void AddV2InferRoutes(Router& router, const ApiContext& ctx) {
  AddModelRoute(router, "POST", "/v2/models", "/infer",
                [ctx](HttpRequest&& req, Responder respond) {
                  Infer(ctx, std::move(req), std::move(respond));
                });
}

}  // namespace infera
