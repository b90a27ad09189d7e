// Open Inference Protocol: POST /v2/models/{m}[/versions/{v}]/infer.
//
// JSON tensors and the binary tensor data extension (Inference-Header-Content-Length,
// binary_data_size, binary_data / binary_data_output, raw single-input bodies) are
// decoded by api/oip/inference_codec; this route checks the inputs against the model,
// applies the schedule-policy parameters (priority, timeout in µs) and sends the batch
// through the model's batcher like every other request.
// Priority: 0 or absent = the default level (1000); 1 is the highest; larger is lower.
// A BYTES input carries encoded images (api/oip/bytes_images.h); a requested output with
// parameters.classification = N answers the top N classes (api/oip/classification.h).
#include <nlohmann/json.hpp>

#include "api/http_status.h"
#include "api/oip/bytes_images.h"
#include "api/oip/classification.h"
#include "api/oip/inference_codec.h"
#include "api/routes/model_lookup.h"
#include "api/routes/routes.h"
#include "common/strings.h"

namespace infera {

namespace {

constexpr int kDefaultPriority = 1000;

// Checks the decoded input against the model's input; InvalidArgument naming the
// tensor and why.
Status CheckInput(const Model& model, const std::vector<OipInput>& inputs) {
  const TensorInfo want = model.InputInfo();
  for (const OipInput& in : inputs) {
    if (in.name != want.name) {
      return absl::InvalidArgumentError(StrCat("unexpected input '", in.name, "' (model '",
                                               model.config().name, "' takes '", want.name, "')"));
    }
  }
  if (inputs.size() != 1) {
    return absl::InvalidArgumentError(StrCat("missing input '", want.name, "'"));
  }
  const Tensor& t = inputs[0].tensor;
  if (t.dtype() != want.dtype) {
    return absl::InvalidArgumentError(StrCat("input '", want.name, "': datatype ",
                                             DTypeName(t.dtype()), " does not match the model's ",
                                             DTypeName(want.dtype)));
  }
  bool shape_ok = t.shape().size() == want.shape.size();
  for (size_t d = 1; shape_ok && d < want.shape.size(); ++d) {
    shape_ok = want.shape[d] < 0 ? t.shape()[d] > 0 : t.shape()[d] == want.shape[d];
  }
  if (!shape_ok || t.shape().empty() || t.shape()[0] < 1) {
    return absl::InvalidArgumentError(
        StrCat("input '", want.name, "': shape ", ShapeToString(t.shape()),
               " does not match the model's ", ShapeToString(want.shape)));
  }
  return absl::OkStatus();
}

// Reads an optional integer parameter.
StatusOr<std::optional<int64_t>> IntParam(const nlohmann::json& params, const char* key) {
  if (!params.contains(key)) return std::optional<int64_t>();
  const nlohmann::json& v = params[key];
  if (!v.is_number_integer() || v.get<int64_t>() < 0) {
    return absl::InvalidArgumentError(
        StrCat("parameter '", key, "' must be a non-negative integer"));
  }
  return std::optional<int64_t>(v.get<int64_t>());
}

struct OutputChoice {
  std::string name;
  bool binary = false;
  int64_t classification = 0;  // > 0: the top N classes as BYTES instead of the tensor
};

void Infer(const ApiContext& ctx, HttpRequest&& req, Responder respond) {
  auto fail = [&respond](const Status& s) { respond(StatusResponse(s)); };
  StatusOr<std::shared_ptr<Model>> resolved = ResolveModel(ctx, req.params);
  if (!resolved.ok()) return fail(resolved.status());
  std::shared_ptr<Model> model = std::move(*resolved);

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
    const TensorInfo want = model->InputInfo();
    Shape row(want.shape.begin() + 1, want.shape.end());
    for (int64_t d : row) {
      if (d < 0) {
        return fail(absl::InvalidArgumentError(
            StrCat("a raw binary request needs a fixed input shape; model '", model->config().name,
                   "' takes ", ShapeToString(want.shape))));
      }
    }
    StatusOr<Tensor> tensor = DecodeRawInput(req.body, want.dtype, row);
    if (!tensor.ok()) return fail(tensor.status());
    request.inputs.push_back(
        {want.name, std::move(*tensor), nlohmann::json::object(), std::nullopt});
  } else {
    OipLimits limits;
    StatusOr<OipRequest> decoded = DecodeInferRequest(req.body, header_length, limits);
    if (!decoded.ok()) return fail(decoded.status());
    request = std::move(*decoded);
  }
  // BYTES for the model's input: encoded images, decoded and preprocessed here. (A
  // BYTES input of another name is refused by CheckInput.)
  for (OipInput& in : request.inputs) {
    if (!in.bytes || in.name != model->InputInfo().name) continue;
    DecodeLimits limits;
    limits.max_pixels = ctx.max_image_pixels;
    StatusOr<Tensor> batch = ImagesToInputBatch(*in.bytes, *model, limits);
    if (!batch.ok()) return fail(batch.status());
    in.tensor = std::move(*batch);
    in.bytes.reset();
  }
  for (const OipInput& in : request.inputs) {
    if (in.bytes) {
      return fail(absl::InvalidArgumentError(StrCat("unexpected input '", in.name, "' (model '",
                                                    model->config().name, "' takes '",
                                                    model->InputInfo().name, "')")));
    }
  }
  if (Status s = CheckInput(*model, request.inputs); !s.ok()) return fail(s);

  // Which outputs, and how: binary for raw requests, or as asked.
  bool binary_default = raw;
  if (request.parameters.contains("binary_data_output")) {
    if (!request.parameters["binary_data_output"].is_boolean()) {
      return fail(absl::InvalidArgumentError("parameter 'binary_data_output' must be a boolean"));
    }
    binary_default = request.parameters["binary_data_output"].get<bool>();
  }
  std::vector<OutputChoice> choices;
  for (const OipRequestedOutput& out : request.outputs) {
    int64_t classification = 0;
    if (out.parameters.contains("classification")) {
      const nlohmann::json& n = out.parameters["classification"];
      if (!n.is_number_integer() || n.get<int64_t>() < 1) {
        return fail(absl::InvalidArgumentError(StrCat(
            "output '", out.name, "': parameter 'classification' must be a positive integer")));
      }
      classification = n.get<int64_t>();
    }
    bool binary = binary_default;
    if (out.parameters.contains("binary_data")) {
      if (!out.parameters["binary_data"].is_boolean()) {
        return fail(absl::InvalidArgumentError(
            StrCat("output '", out.name, "': parameter 'binary_data' must be a boolean")));
      }
      binary = out.parameters["binary_data"].get<bool>();
    }
    const auto& known = model->OutputInfo();
    if (!known.empty() && std::none_of(known.begin(), known.end(),
                                       [&](const TensorInfo& t) { return t.name == out.name; })) {
      std::vector<std::string> names;
      for (const TensorInfo& t : known) names.push_back(t.name);
      return fail(absl::InvalidArgumentError(StrCat("unknown output '", out.name, "' (model '",
                                                    model->config().name,
                                                    "' has: ", StrJoin(names, ", "), ")")));
    }
    choices.push_back({out.name, binary, classification});
  }

  InferenceRequest job;
  StatusOr<std::optional<int64_t>> priority = IntParam(request.parameters, "priority");
  if (!priority.ok()) return fail(priority.status());
  job.priority = priority->value_or(0) == 0
                     ? kDefaultPriority
                     : static_cast<int>(std::min<int64_t>(**priority, 1 << 30));
  StatusOr<std::optional<int64_t>> timeout_us = IntParam(request.parameters, "timeout");
  if (!timeout_us.ok()) return fail(timeout_us.status());
  if (*timeout_us && **timeout_us > 0) {
    job.deadline = BatchClock::now() + std::chrono::microseconds(**timeout_us);
  }
  job.inputs.push_back(std::move(request.inputs[0].tensor));
  job.done = [model, respond, choices = std::move(choices), binary_default,
              id = std::move(request.id)](StatusOr<InferenceResult> result) {
    if (!result.ok()) return respond(StatusResponse(result.status()));
    const ModelConfig& config = model->config();
    std::vector<OipOutput> outputs;
    auto name_of = [&](size_t i) {
      return i < config.outputs.size() ? config.outputs[i] : StrCat("output", i);
    };
    if (choices.empty()) {
      for (size_t i = 0; i < result->outputs.size(); ++i) {
        outputs.push_back(
            {name_of(i), std::move(result->outputs[i]), binary_default, {}, std::nullopt});
      }
    } else {
      for (const OutputChoice& c : choices) {
        size_t i = 0;
        while (i < result->outputs.size() && name_of(i) != c.name) ++i;
        if (i == result->outputs.size()) {
          return respond(
              StatusResponse(absl::InvalidArgumentError(StrCat("unknown output '", c.name, "'"))));
        }
        if (c.classification > 0) {
          StatusOr<BytesTensor> top =
              ClassifyOutput(result->outputs[i], c.classification, config.labels);
          if (!top.ok()) return respond(StatusResponse(top.status()));
          outputs.push_back({c.name, Tensor(), c.binary, {}, std::move(*top)});
          continue;
        }
        outputs.push_back({c.name, result->outputs[i], c.binary, {}, std::nullopt});
      }
    }
    OipEncoded encoded =
        EncodeInferResponse(config.name, std::to_string(config.version), id, outputs);
    HttpResponse response;
    response.status = 200;
    response.content_type = encoded.content_type;
    response.body = std::move(encoded.body);
    if (encoded.header_length) {
      response.headers["inference-header-content-length"] = std::to_string(*encoded.header_length);
    }
    respond(std::move(response));
  };
  if (Status queued = model->Infer(std::move(job)); !queued.ok()) fail(queued);
}

}  // namespace

void AddV2InferRoutes(Router& router, const ApiContext& ctx) {
  AddModelRoute(router, "POST", "/v2/models", "/infer",
                [ctx](HttpRequest&& req, Responder respond) {
                  Infer(ctx, std::move(req), std::move(respond));
                });
}

}  // namespace infera
