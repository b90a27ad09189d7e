// GrpcInferClient: a small client of the gRPC API (proto/grpc_service.proto) for the
// tools of this repository (`infera bench`'s gRPC mode). Free of gRPC headers, like
// grpc_server.h.
//
// Each client has its own channel (its own TCP connection), so N clients measure N
// connections. Thread-safety: one client per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace infera {

class GrpcInferClient {
 public:
  // A client of host:port; every call has `timeout`. The connection is made on the
  // first call.
  GrpcInferClient(const std::string& host, uint16_t port,
                  std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~GrpcInferClient();

  // ModelInfer of `model` with one encoded image as its BYTES input `input` (shape
  // [1]); the outputs come back raw. Returns the bytes of the first output, or the
  // call's status (the gRPC code as an absl code, with its message).
  StatusOr<std::string> InferImage(const std::string& model, const std::string& input,
                                   std::string_view image);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace infera
