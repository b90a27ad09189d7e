#include "serving/tensor_inference.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/strings.h"
#include "models/model.h"
#include "serving/bytes_images.h"
#include "serving/classification.h"
#include "tracing/span.h"
#include "tracing/span_log_scope.h"

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

// Reads an optional non-negative integer parameter.
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

// The outputs asked for, checked against the model's.
StatusOr<std::vector<OutputChoice>> ChooseOutputs(const Model& model, const OipRequest& request,
                                                  bool binary_default) {
  std::vector<OutputChoice> choices;
  for (const OipRequestedOutput& out : request.outputs) {
    int64_t classification = 0;
    if (out.parameters.contains("classification")) {
      const nlohmann::json& n = out.parameters["classification"];
      if (!n.is_number_integer() || n.get<int64_t>() < 1) {
        return absl::InvalidArgumentError(StrCat(
            "output '", out.name, "': parameter 'classification' must be a positive integer"));
      }
      classification = n.get<int64_t>();
    }
    bool binary = binary_default;
    if (out.parameters.contains("binary_data")) {
      if (!out.parameters["binary_data"].is_boolean()) {
        return absl::InvalidArgumentError(
            StrCat("output '", out.name, "': parameter 'binary_data' must be a boolean"));
      }
      binary = out.parameters["binary_data"].get<bool>();
    }
    const auto& known = model.OutputInfo();
    if (!known.empty() && std::none_of(known.begin(), known.end(),
                                       [&](const TensorInfo& t) { return t.name == out.name; })) {
      std::vector<std::string> names;
      for (const TensorInfo& t : known) names.push_back(t.name);
      return absl::InvalidArgumentError(StrCat("unknown output '", out.name, "' (model '",
                                               model.config().name, "' has: ", StrJoin(names, ", "),
                                               ")"));
    }
    choices.push_back({out.name, binary, classification});
  }
  return choices;
}

// The response for a batch's outputs (runs on a pipeline worker).
StatusOr<OipResponse> BuildResponse(const Model& model, const std::vector<OutputChoice>& choices,
                                    bool binary_default, std::optional<std::string> id,
                                    std::vector<Tensor> tensors) {
  const ModelConfig& config = model.config();
  OipResponse response;
  response.model_name = config.name;
  response.model_version = std::to_string(config.version);
  response.id = std::move(id);
  auto name_of = [&](size_t i) {
    return i < config.outputs.size() ? config.outputs[i] : StrCat("output", i);
  };
  if (choices.empty()) {
    for (size_t i = 0; i < tensors.size(); ++i) {
      response.outputs.push_back(
          {name_of(i), std::move(tensors[i]), binary_default, {}, std::nullopt});
    }
    return response;
  }
  for (const OutputChoice& c : choices) {
    size_t i = 0;
    while (i < tensors.size() && name_of(i) != c.name) ++i;
    if (i == tensors.size()) {
      return absl::InvalidArgumentError(StrCat("unknown output '", c.name, "'"));
    }
    if (c.classification > 0) {
      ASSIGN_OR_RETURN(BytesTensor top,
                       ClassifyOutput(tensors[i], c.classification, config.labels));
      response.outputs.push_back({c.name, Tensor(), c.binary, {}, std::move(top)});
      continue;
    }
    response.outputs.push_back({c.name, tensors[i], c.binary, {}, std::nullopt});
  }
  return response;
}

}  // namespace

StatusOr<Shape> TensorInference::RawInputRow(const Model& model) {
  const TensorInfo want = model.InputInfo();
  Shape row(want.shape.begin() + 1, want.shape.end());
  for (int64_t d : row) {
    if (d < 0) {
      return absl::InvalidArgumentError(
          StrCat("a raw binary request needs a fixed input shape; model '", model.config().name,
                 "' takes ", ShapeToString(want.shape)));
    }
  }
  return row;
}

void TensorInference::Infer(std::shared_ptr<Model> model, OipRequest request, bool raw,
                            RequestContext ctx, OipCallback done) const {
  auto fail = [&done](const Status& s) { done(s); };
  // BYTES for the model's input: encoded images, decoded and preprocessed here. (A
  // BYTES input of another name is refused below.)
  for (OipInput& in : request.inputs) {
    if (!in.bytes || in.name != model->InputInfo().name) continue;
    DecodeLimits limits;
    limits.max_pixels = options_.max_image_pixels;
    std::shared_ptr<TraceSpan> preprocess = StartChildSpan(ctx.span, "preprocess");
    StatusOr<Tensor> batch = ImagesToInputBatch(*in.bytes, *model, limits);
    EndSpan(preprocess.get(), batch.status());
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
  StatusOr<std::vector<OutputChoice>> choices = ChooseOutputs(*model, request, binary_default);
  if (!choices.ok()) return fail(choices.status());

  StatusOr<std::optional<int64_t>> priority = IntParam(request.parameters, "priority");
  if (!priority.ok()) return fail(priority.status());
  ctx.priority = priority->value_or(0) == 0
                     ? kDefaultPriority
                     : static_cast<int>(std::min<int64_t>(**priority, 1 << 30));
  StatusOr<std::optional<int64_t>> timeout_us = IntParam(request.parameters, "timeout");
  if (!timeout_us.ok()) return fail(timeout_us.status());
  if (*timeout_us && **timeout_us > 0) {
    ctx.deadline = BatchClock::now() + std::chrono::microseconds(**timeout_us);
  }

  InferenceRequest call;
  call.context = std::move(ctx);
  call.inputs.push_back(std::move(request.inputs[0].tensor));
  auto callback = std::make_shared<OipCallback>(std::move(done));
  call.done = [post = pipeline_->Poster(model.get()), model, callback,
               choices = std::move(*choices), binary_default, id = std::move(request.id),
               span = call.context.span](StatusOr<InferenceResult> result) {
    // On the batcher's instance thread: hand the outputs to a pipeline worker.
    auto work = [model, callback, choices, binary_default, id, span,
                 result = std::make_shared<StatusOr<InferenceResult>>(std::move(result))] {
      SpanLogScope log_scope(span);
      if (!result->ok()) return (*callback)(result->status());
      std::shared_ptr<TraceSpan> postprocess = StartChildSpan(span, "postprocess");
      StatusOr<OipResponse> response =
          BuildResponse(*model, choices, binary_default, id, std::move((*result)->outputs));
      EndSpan(postprocess.get(), response.status());
      (*callback)(std::move(response));
    };
    if (!post(std::move(work))) {
      (*callback)(absl::UnavailableError("the server is shutting down"));
    }
  };
  if (Status queued = model->Infer(std::move(call)); !queued.ok()) (*callback)(queued);
}

}  // namespace infera
