// GrpcServer: the Open Inference Protocol's gRPC API (`inference.GRPCInferenceService`,
// proto/grpc_service.proto) on its own port, beside the HTTP server. The service
// (inference_service.h) calls the same core as HTTP's /v2 routes: serving/'s
// TensorInference, model lookup and metadata, the ModelManager, the AuthService.
//
// This header is free of gRPC and protobuf headers (cmake/layers.cmake keeps them
// private to src/grpc/): the server layer builds one from plain options.
//
// Threads: gRPC's callback API. Handlers never block a gRPC thread on a model: an
// inference is queued and its reply is sent from the pipeline worker that built it; a
// model load or unload runs on the server's blocking TaskPool. So a slow model holds
// no thread per request.
//
// Thread-safety: Create, port and Stop are called from one controlling thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace infera {

class AuthService;
class ModelManager;
class ModelRegistry;
class TaskPool;
class TensorInference;
class Tracer;

// server.grpc_port and what it inherits from the server section.
struct GrpcServerOptions {
  bool enabled = false;  // server.grpc_port given
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0 picks a free port; see GrpcServer::port()
  // Largest request message (server.max_body_mb, as for HTTP bodies); larger ones are
  // refused with RESOURCE_EXHAUSTED by gRPC before they are decoded.
  size_t max_message_bytes = 64u << 20;
};

// What the service calls; all owned by the Server and outliving the GrpcServer.
struct GrpcServices {
  ModelRegistry* models = nullptr;
  ModelManager* manager = nullptr;
  const TensorInference* tensors = nullptr;
  TaskPool* blocking = nullptr;  // model loads and unloads
  // Authentication (null: off). With it, RepositoryModelLoad/Unload need an admin, and,
  // with protect_inference, every RPC but ServerLive, ServerReady and ServerMetadata
  // needs a user: the rules of the HTTP /v2 routes.
  AuthService* auth = nullptr;
  bool protect_inference = false;
  // Tracing (null: off). Every RPC gets a server span (rpc.* attributes) that continues
  // the caller's `traceparent` metadata (or starts a trace at the sampling rate) and
  // answers its own `traceparent` in the initial metadata; ModelInfer hands its span to
  // the core (queue wait, batch, compute spans).
  Tracer* tracer = nullptr;
};

class GrpcServer {
 public:
  // Binds host:port and starts serving; Unavailable when the port cannot be bound.
  static StatusOr<std::unique_ptr<GrpcServer>> Create(const GrpcServerOptions& options,
                                                      const GrpcServices& services);
  ~GrpcServer();

  // The bound port (the chosen one when options.port was 0).
  uint16_t port() const { return port_; }

  // Stops accepting calls, lets calls in flight finish for up to 5 s (then cancels
  // them) and waits for their handlers. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit GrpcServer(std::unique_ptr<Impl> impl, uint16_t port);
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

}  // namespace infera
