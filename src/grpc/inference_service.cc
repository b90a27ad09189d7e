#include "grpc/inference_service.h"

#include <atomic>
#include <chrono>
#include <memory>

#include "auth/auth_service.h"
#include "common/request_id.h"
#include "common/strings.h"
#include "common/task_pool.h"
#include "grpc/tensor_codec.h"
#include "models/model_manager.h"
#include "serving/model_json.h"
#include "serving/model_lookup.h"
#include "serving/oip_metadata.h"
#include "serving/tensor_inference.h"
#include "tracing/span.h"
#include "tracing/tracer.h"

namespace infera {

namespace {
// The service's full name, as the proto's package and service name it (rpc.service).
constexpr char kServiceName[] = "inference.GRPCInferenceService";
}  // namespace

grpc::Status ToGrpcStatus(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode numbers are gRPC's (both follow google.rpc.Code).
  return grpc::Status(static_cast<grpc::StatusCode>(static_cast<int>(status.code())),
                      std::string(ToStd(status.message())));
}

namespace {

// Answers a call at once.
grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* call, const Status& status) {
  grpc::ServerUnaryReactor* reactor = call->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

// ModelInfer's reactor: a client that cancels (or whose deadline passes) sets the
// request's cancel flag, so a request still queued is dropped (RequestContext).
class InferReactor : public grpc::ServerUnaryReactor {
 public:
  explicit InferReactor(std::shared_ptr<std::atomic<bool>> canceled)
      : canceled_(std::move(canceled)) {}
  void OnCancel() override { canceled_->store(true, std::memory_order_release); }
  void OnDone() override { delete this; }

 private:
  std::shared_ptr<std::atomic<bool>> canceled_;
};

std::optional<std::string> OptionalVersion(const std::string& version) {
  return version.empty() ? std::nullopt : std::optional<std::string>(version);
}

inference::DataType ConfigDataType(DType dtype) {
  switch (dtype) {
    case DType::kBool:
      return inference::TYPE_BOOL;
    case DType::kUInt8:
      return inference::TYPE_UINT8;
    case DType::kUInt16:
      return inference::TYPE_UINT16;
    case DType::kUInt32:
      return inference::TYPE_UINT32;
    case DType::kUInt64:
      return inference::TYPE_UINT64;
    case DType::kInt8:
      return inference::TYPE_INT8;
    case DType::kInt16:
      return inference::TYPE_INT16;
    case DType::kInt32:
      return inference::TYPE_INT32;
    case DType::kInt64:
      return inference::TYPE_INT64;
    case DType::kFP16:
      return inference::TYPE_FP16;
    case DType::kFP32:
      return inference::TYPE_FP32;
    case DType::kFP64:
      return inference::TYPE_FP64;
  }
  return inference::TYPE_INVALID;
}

// Triton's dims: without the batch dimension when the model batches.
template <typename Message>
void SetDims(const TensorInfo& t, bool batched, Message* out) {
  out->set_name(t.name);
  out->set_data_type(ConfigDataType(t.dtype));
  for (size_t i = batched && !t.shape.empty() ? 1 : 0; i < t.shape.size(); ++i) {
    out->add_dims(t.shape[i]);
  }
}

void FillConfig(const Model& model, inference::ModelConfig* out) {
  const ModelConfig& c = model.config();
  out->set_name(c.name);
  out->set_platform(OipPlatform(model));
  out->set_backend(c.backend);
  out->set_max_batch_size(static_cast<int32_t>(c.batching.max_batch_size));
  const bool batched = c.batching.max_batch_size > 0;
  SetDims(model.InputInfo(), batched, out->add_input());
  for (const TensorInfo& t : model.OutputInfo()) SetDims(t, batched, out->add_output());
  inference::ModelDynamicBatching* batching = out->mutable_dynamic_batching();
  for (int64_t size : model.batch_sizes().preferred) {
    batching->add_preferred_batch_size(static_cast<int32_t>(size));
  }
  batching->set_max_queue_delay_microseconds(
      static_cast<uint64_t>(c.batching.max_queue_delay_ms * 1000.0));
  batching->mutable_default_queue_policy()->set_default_timeout_microseconds(
      static_cast<uint64_t>(c.batching.default_timeout_ms) * 1000);
  batching->mutable_default_queue_policy()->set_allow_timeout_override(true);
  batching->mutable_default_queue_policy()->set_max_queue_size(
      static_cast<uint32_t>(c.batching.max_queue_size));
  inference::ModelInstanceGroup* group = out->add_instance_group();
  group->set_name(c.name);
  group->set_count(static_cast<int32_t>(c.instances.count));
  group->set_kind(c.instances.device.starts_with("cuda") ? inference::ModelInstanceGroup::KIND_GPU
                                                         : inference::ModelInstanceGroup::KIND_CPU);
  (*out->mutable_parameters())["infera_config"].set_string_value(DescribeModel(model).dump());
}

void FillDuration(const nlohmann::json& j, inference::StatisticDuration* out) {
  out->set_count(j.value("count", uint64_t{0}));
  out->set_ns(j.value("ns", uint64_t{0}));
}

// From serving/model_json.h's StatsJson: one mapping of the batcher's counters.
void FillStatistics(const Model& model, inference::ModelStatistics* out) {
  const nlohmann::json s = StatsJson(model);
  out->set_name(s["name"].get<std::string>());
  out->set_version(s["version"].get<std::string>());
  out->set_last_inference(s["last_inference"].get<uint64_t>());
  out->set_inference_count(s["inference_count"].get<uint64_t>());
  out->set_execution_count(s["execution_count"].get<uint64_t>());
  const nlohmann::json& is = s["inference_stats"];
  inference::InferStatistics* stats = out->mutable_inference_stats();
  FillDuration(is["success"], stats->mutable_success());
  FillDuration(is["fail"], stats->mutable_fail());
  FillDuration(is["queue"], stats->mutable_queue());
  FillDuration(is["compute_infer"], stats->mutable_compute_infer());
}

// Load and unload take no parameters (Triton's config / file overrides are not
// supported): refused rather than ignored.
Status NoRepositoryParameters(
    const google::protobuf::Map<std::string, inference::ModelRepositoryParameter>& parameters) {
  if (parameters.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      StrCat("parameter '", parameters.begin()->first, "' is not supported"));
}

}  // namespace

RequestContext InferenceService::StartCall(grpc::CallbackServerContext* call, std::string_view rpc,
                                           std::string_view model) const {
  RequestContext ctx;
  const auto& metadata = call->client_metadata();
  auto text = [&](const char* key) -> std::optional<std::string_view> {
    auto it = metadata.find(key);
    if (it == metadata.end()) return std::nullopt;
    return std::string_view(it->second.data(), it->second.size());
  };
  ctx.request_id = MakeRequestId(text("x-request-id").value_or(std::string_view()));
  call->AddInitialMetadata("x-request-id", ctx.request_id);
  const auto deadline = call->deadline();
  if (deadline < std::chrono::system_clock::time_point::max() - std::chrono::hours(24 * 365)) {
    ctx.deadline = std::chrono::steady_clock::now() +
                   std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                       deadline - std::chrono::system_clock::now());
  }
  if (services_.tracer == nullptr) return ctx;
  ctx.span = services_.tracer->StartRequestSpan(text("traceparent"), StrCat(kServiceName, "/", rpc),
                                                text("tracestate").value_or(std::string_view()));
  call->AddInitialMetadata("traceparent", ctx.span->traceparent());
  if (ctx.span->recording()) {
    // OpenTelemetry's rpc.* conventions.
    ctx.span->SetAttribute("rpc.system", std::string("grpc"));
    ctx.span->SetAttribute("rpc.service", std::string(kServiceName));
    ctx.span->SetAttribute("rpc.method", std::string(rpc));
    ctx.span->SetAttribute("infera.request.id", ctx.request_id);
    if (!model.empty()) ctx.span->SetAttribute("infera.model.name", std::string(model));
  }
  return ctx;
}

Status InferenceService::EndCallSpan(TraceSpan* span, Status status) {
  if (span != nullptr && span->recording()) {
    span->SetAttribute("rpc.grpc.status_code", int64_t{ToGrpcStatus(status).error_code()});
  }
  EndSpan(span, status);
  return status;
}

grpc::ServerUnaryReactor* InferenceService::Answer(grpc::CallbackServerContext* call,
                                                   const RequestContext& ctx,
                                                   const Status& status) {
  return Reply(call, EndCallSpan(ctx.span.get(), status));
}

Status InferenceService::Authorize(grpc::CallbackServerContext* call, Access access) const {
  if (services_.auth == nullptr || access == Access::kPublic) return absl::OkStatus();
  if (access == Access::kInference && !services_.protect_inference) return absl::OkStatus();
  std::string_view header;
  const auto& metadata = call->client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    header = std::string_view(it->second.data(), it->second.size());
  }
  ASSIGN_OR_RETURN(Principal caller, services_.auth->Authenticate(header));
  if (access == Access::kAdmin && !caller.admin()) {
    return absl::PermissionDeniedError("this needs an admin");
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* InferenceService::ServerLive(grpc::CallbackServerContext* call,
                                                       const inference::ServerLiveRequest*,
                                                       inference::ServerLiveResponse* response) {
  const RequestContext ctx = StartCall(call, "ServerLive");
  response->set_live(true);
  return Answer(call, ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceService::ServerReady(grpc::CallbackServerContext* call,
                                                        const inference::ServerReadyRequest*,
                                                        inference::ServerReadyResponse* response) {
  const RequestContext ctx = StartCall(call, "ServerReady");
  std::string why;
  response->set_ready(services_.manager == nullptr || services_.manager->Ready(&why));
  return Answer(call, ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceService::ModelReady(grpc::CallbackServerContext* call,
                                                       const inference::ModelReadyRequest* request,
                                                       inference::ModelReadyResponse* response) {
  const RequestContext ctx = StartCall(call, "ModelReady", request->name());
  if (Status s = Authorize(call, Access::kInference); !s.ok()) return Answer(call, ctx, s);
  StatusOr<std::shared_ptr<Model>> model =
      ResolveModel(*services_.models, request->name(), OptionalVersion(request->version()));
  if (model.ok()) {
    response->set_ready(true);
    return Answer(call, ctx, absl::OkStatus());
  }
  // A model the repository knows that does not serve (failed, loading, unloaded) is
  // not ready; an unknown one is NOT_FOUND (as GET /v2/models/{m}/ready).
  if (absl::IsNotFound(model.status()) && services_.manager != nullptr) {
    for (const ModelState& row : services_.manager->Index(false)) {
      if (row.name != request->name()) continue;
      response->set_ready(false);
      return Answer(call, ctx, absl::OkStatus());
    }
  }
  return Answer(call, ctx, model.status());
}

grpc::ServerUnaryReactor* InferenceService::ServerMetadata(
    grpc::CallbackServerContext* call, const inference::ServerMetadataRequest*,
    inference::ServerMetadataResponse* response) {
  const RequestContext ctx = StartCall(call, "ServerMetadata");
  response->set_name(kOipServerName);
  response->set_version(INFERA_VERSION);
  for (const std::string& e : OipExtensions()) response->add_extensions(e);
  return Answer(call, ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceService::ModelMetadata(
    grpc::CallbackServerContext* call, const inference::ModelMetadataRequest* request,
    inference::ModelMetadataResponse* response) {
  const RequestContext ctx = StartCall(call, "ModelMetadata", request->name());
  if (Status s = Authorize(call, Access::kInference); !s.ok()) return Answer(call, ctx, s);
  StatusOr<std::shared_ptr<Model>> model =
      ResolveModel(*services_.models, request->name(), OptionalVersion(request->version()));
  if (!model.ok()) return Answer(call, ctx, model.status());
  const OipModelMetadata m = DescribeOipModel(*services_.models, **model);
  response->set_name(m.name);
  for (const std::string& v : m.versions) response->add_versions(v);
  response->set_platform(m.platform);
  auto add = [](const TensorInfo& t, inference::ModelMetadataResponse::TensorMetadata* out) {
    out->set_name(t.name);
    out->set_datatype(std::string(DTypeName(t.dtype)));
    for (int64_t d : t.shape) out->add_shape(d);
  };
  for (const TensorInfo& t : m.inputs) add(t, response->add_inputs());
  for (const TensorInfo& t : m.outputs) add(t, response->add_outputs());
  return Answer(call, ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceService::ModelInfer(grpc::CallbackServerContext* call,
                                                       const inference::ModelInferRequest* request,
                                                       inference::ModelInferResponse* response) {
  RequestContext ctx = StartCall(call, "ModelInfer", request->model_name());
  if (Status s = Authorize(call, Access::kInference); !s.ok()) return Answer(call, ctx, s);
  StatusOr<std::shared_ptr<Model>> model = ResolveModel(*services_.models, request->model_name(),
                                                        OptionalVersion(request->model_version()));
  if (!model.ok()) return Answer(call, ctx, model.status());
  if (ctx.span != nullptr && ctx.span->recording()) {
    ctx.span->SetAttribute("infera.model.version", (*model)->config().version);
  }
  StatusOr<OipRequest> decoded = DecodeGrpcInferRequest(*request, max_tensor_bytes_);
  if (!decoded.ok()) return Answer(call, ctx, decoded.status());

  ctx.canceled = std::make_shared<std::atomic<bool>>(false);
  auto* reactor = new InferReactor(ctx.canceled);  // deletes itself (OnDone)
  std::shared_ptr<TraceSpan> span = ctx.span;
  // raw = true: outputs in raw_output_contents unless the request asks for typed ones
  // (Triton's default for gRPC; tensor_codec.h).
  services_.tensors->Infer(std::move(*model), std::move(*decoded), /*raw=*/true, std::move(ctx),
                           [reactor, response, span](StatusOr<OipResponse> r) {
                             // On a pipeline worker, or here for errors found at once.
                             Status s = r.status();
                             if (s.ok()) s = EncodeGrpcInferResponse(*r, response);
                             reactor->Finish(ToGrpcStatus(EndCallSpan(span.get(), s)));
                           });
  return reactor;
}

grpc::ServerUnaryReactor* InferenceService::ModelConfig(
    grpc::CallbackServerContext* call, const inference::ModelConfigRequest* request,
    inference::ModelConfigResponse* response) {
  const RequestContext ctx = StartCall(call, "ModelConfig", request->name());
  if (Status s = Authorize(call, Access::kInference); !s.ok()) return Answer(call, ctx, s);
  StatusOr<std::shared_ptr<Model>> model =
      ResolveModel(*services_.models, request->name(), OptionalVersion(request->version()));
  if (!model.ok()) return Answer(call, ctx, model.status());
  FillConfig(**model, response->mutable_config());
  return Answer(call, ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceService::ModelStatistics(
    grpc::CallbackServerContext* call, const inference::ModelStatisticsRequest* request,
    inference::ModelStatisticsResponse* response) {
  const RequestContext ctx = StartCall(call, "ModelStatistics", request->name());
  if (Status s = Authorize(call, Access::kInference); !s.ok()) return Answer(call, ctx, s);
  if (request->name().empty()) {
    for (const auto& m : services_.models->List()) FillStatistics(*m, response->add_model_stats());
    return Answer(call, ctx, absl::OkStatus());
  }
  StatusOr<std::shared_ptr<Model>> model =
      ResolveModel(*services_.models, request->name(), OptionalVersion(request->version()));
  if (!model.ok()) return Answer(call, ctx, model.status());
  FillStatistics(**model, response->add_model_stats());
  return Answer(call, ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceService::RepositoryIndex(
    grpc::CallbackServerContext* call, const inference::RepositoryIndexRequest* request,
    inference::RepositoryIndexResponse* response) {
  const RequestContext ctx = StartCall(call, "RepositoryIndex");
  if (Status s = Authorize(call, Access::kInference); !s.ok()) return Answer(call, ctx, s);
  for (const ModelState& s : services_.manager->Index(request->ready())) {
    auto* row = response->add_models();
    row->set_name(s.name);
    if (s.version) row->set_version(std::to_string(*s.version));
    row->set_state(s.state);
    row->set_reason(s.reason);
  }
  return Answer(call, ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceService::RunControl(grpc::CallbackServerContext* call,
                                                       const RequestContext& ctx,
                                                       std::function<Status()> work) const {
  grpc::ServerUnaryReactor* reactor = call->DefaultReactor();
  auto shared = std::make_shared<std::function<Status()>>(std::move(work));
  std::shared_ptr<TraceSpan> span = ctx.span;
  if (!services_.blocking->Post([reactor, shared, span] {
        reactor->Finish(ToGrpcStatus(EndCallSpan(span.get(), (*shared)())));
      })) {
    reactor->Finish(ToGrpcStatus(
        EndCallSpan(span.get(), absl::UnavailableError("the server is shutting down"))));
  }
  return reactor;
}

grpc::ServerUnaryReactor* InferenceService::RepositoryModelLoad(
    grpc::CallbackServerContext* call, const inference::RepositoryModelLoadRequest* request,
    inference::RepositoryModelLoadResponse*) {
  const RequestContext ctx = StartCall(call, "RepositoryModelLoad", request->model_name());
  if (Status s = Authorize(call, Access::kAdmin); !s.ok()) return Answer(call, ctx, s);
  if (Status s = NoRepositoryParameters(request->parameters()); !s.ok()) {
    return Answer(call, ctx, s);
  }
  ModelManager* manager = services_.manager;
  return RunControl(call, ctx,
                    [manager, name = request->model_name()] { return manager->Load(name); });
}

grpc::ServerUnaryReactor* InferenceService::RepositoryModelUnload(
    grpc::CallbackServerContext* call, const inference::RepositoryModelUnloadRequest* request,
    inference::RepositoryModelUnloadResponse*) {
  const RequestContext ctx = StartCall(call, "RepositoryModelUnload", request->model_name());
  if (Status s = Authorize(call, Access::kAdmin); !s.ok()) return Answer(call, ctx, s);
  if (Status s = NoRepositoryParameters(request->parameters()); !s.ok()) {
    return Answer(call, ctx, s);
  }
  ModelManager* manager = services_.manager;
  return RunControl(call, ctx,
                    [manager, name = request->model_name()] { return manager->Unload(name); });
}

}  // namespace infera
