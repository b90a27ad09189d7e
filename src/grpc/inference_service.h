// InferenceService: `inference.GRPCInferenceService` (proto/grpc_service.proto) over the
// serving core, on gRPC's callback API. Each RPC is translation: the rules are the
// core's, the same that HTTP's /v2 routes apply (serving/tensor_inference.h for
// ModelInfer, serving/model_lookup.h and oip_metadata.h for names, versions and
// metadata, serving/model_json.h for configuration and statistics, the ModelManager
// for readiness and the repository).
//
// Errors: the core's absl::Status code is the gRPC code (absl's codes are gRPC's):
// INVALID_ARGUMENT for a bad request (naming the tensor or parameter), NOT_FOUND for an
// unknown model or version, UNAVAILABLE with the reason (queue full, shutting down,
// model not ready), RESOURCE_EXHAUSTED for a tensor or message over the size limit,
// UNAUTHENTICATED / PERMISSION_DENIED from the `authorization` metadata.
//
// Each RPC starts with StartCall, where the request's RequestContext is made (its id
// from `x-request-id` metadata or fresh, echoed in the initial metadata) and, with
// tracing, its server span: it continues the caller's `traceparent` metadata (or starts
// a trace at the sampling rate), answers its own `traceparent` in the initial metadata,
// and carries OpenTelemetry's rpc.* attributes (rpc.system "grpc", rpc.service, rpc.method,
// and at the end rpc.grpc.status_code), as HTTP's request spans carry http.*. Every RPC
// ends its span when it answers (Answer), ModelInfer from the pipeline worker, model
// control from the blocking pool.
//
// Thread-safety: gRPC calls the handlers from its threads concurrently; the service
// holds no mutable state (the core objects it calls are thread-safe).
#pragma once

#include <proto/grpc_service.grpc.pb.h>

#include <functional>
#include <string_view>

#include "common/request_context.h"
#include "grpc/grpc_server.h"

namespace infera {

class InferenceService final : public inference::GRPCInferenceService::CallbackService {
 public:
  InferenceService(const GrpcServices& services, size_t max_tensor_bytes)
      : services_(services), max_tensor_bytes_(max_tensor_bytes) {}

  grpc::ServerUnaryReactor* ServerLive(grpc::CallbackServerContext* call,
                                       const inference::ServerLiveRequest* request,
                                       inference::ServerLiveResponse* response) override;
  grpc::ServerUnaryReactor* ServerReady(grpc::CallbackServerContext* call,
                                        const inference::ServerReadyRequest* request,
                                        inference::ServerReadyResponse* response) override;
  grpc::ServerUnaryReactor* ModelReady(grpc::CallbackServerContext* call,
                                       const inference::ModelReadyRequest* request,
                                       inference::ModelReadyResponse* response) override;
  grpc::ServerUnaryReactor* ServerMetadata(grpc::CallbackServerContext* call,
                                           const inference::ServerMetadataRequest* request,
                                           inference::ServerMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* call,
                                          const inference::ModelMetadataRequest* request,
                                          inference::ModelMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* call,
                                       const inference::ModelInferRequest* request,
                                       inference::ModelInferResponse* response) override;
  grpc::ServerUnaryReactor* ModelConfig(grpc::CallbackServerContext* call,
                                        const inference::ModelConfigRequest* request,
                                        inference::ModelConfigResponse* response) override;
  grpc::ServerUnaryReactor* ModelStatistics(grpc::CallbackServerContext* call,
                                            const inference::ModelStatisticsRequest* request,
                                            inference::ModelStatisticsResponse* response) override;
  grpc::ServerUnaryReactor* RepositoryIndex(grpc::CallbackServerContext* call,
                                            const inference::RepositoryIndexRequest* request,
                                            inference::RepositoryIndexResponse* response) override;
  grpc::ServerUnaryReactor* RepositoryModelLoad(
      grpc::CallbackServerContext* call, const inference::RepositoryModelLoadRequest* request,
      inference::RepositoryModelLoadResponse* response) override;
  grpc::ServerUnaryReactor* RepositoryModelUnload(
      grpc::CallbackServerContext* call, const inference::RepositoryModelUnloadRequest* request,
      inference::RepositoryModelUnloadResponse* response) override;

 private:
  // Who may call an RPC: anyone; a user when inference is protected; an admin whenever
  // auth is on (the HTTP /v2 routes' rules, server/server.cc).
  enum class Access { kPublic, kInference, kAdmin };

  // The request's context and its span (see the top); `rpc` names the method. `model`:
  // the model the call is about (infera.model.name), empty when none.
  RequestContext StartCall(grpc::CallbackServerContext* call, std::string_view rpc,
                           std::string_view model = {}) const;
  // Ends the call's span (may be null) with the call's outcome; returns `status`.
  static Status EndCallSpan(TraceSpan* span, Status status);
  // Ends the call's span and answers the call at once.
  static grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* call,
                                          const RequestContext& ctx, const Status& status);
  // Runs a model load or unload (`work`) on the blocking pool — it waits for the load,
  // or for the requests in flight — never on a gRPC thread; answers and ends the span
  // there.
  grpc::ServerUnaryReactor* RunControl(grpc::CallbackServerContext* call, const RequestContext& ctx,
                                       std::function<Status()> work) const;
  // OK, or UNAUTHENTICATED / PERMISSION_DENIED for the call's `authorization` metadata.
  Status Authorize(grpc::CallbackServerContext* call, Access access) const;

  const GrpcServices services_;
  const size_t max_tensor_bytes_;
};

// The gRPC status for a core status (same code, same message).
grpc::Status ToGrpcStatus(const Status& status);

}  // namespace infera
