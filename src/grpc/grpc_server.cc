#include "grpc/grpc_server.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "common/logging.h"
#include "common/strings.h"
#include "grpc/inference_service.h"

namespace infera {

struct GrpcServer::Impl {
  std::unique_ptr<InferenceService> service;
  std::unique_ptr<grpc::Server> server;
  bool stopped = false;
};

StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Create(const GrpcServerOptions& options,
                                                         const GrpcServices& services) {
  if (services.models == nullptr || services.manager == nullptr || services.tensors == nullptr ||
      services.blocking == nullptr) {
    return absl::InvalidArgumentError("grpc: the server's services are missing");
  }
  auto impl = std::make_unique<Impl>();
  // One tensor may be as large as a message may be.
  impl->service = std::make_unique<InferenceService>(services, options.max_message_bytes);
  grpc::ServerBuilder builder;
  int port = 0;
  const std::string address =
      options.host.find(':') != std::string::npos && !options.host.starts_with("[")
          ? StrCat("[", options.host, "]:", options.port)
          : StrCat(options.host, ":", options.port);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(
      std::min<size_t>(options.max_message_bytes, std::numeric_limits<int>::max())));
  builder.RegisterService(impl->service.get());
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr || port == 0) {
    return absl::UnavailableError(StrCat("grpc: cannot listen on ", address));
  }
  Log(LogLevel::kInfo, "grpc_listening", {{"address", address}, {"port", std::to_string(port)}});
  return std::unique_ptr<GrpcServer>(new GrpcServer(std::move(impl), static_cast<uint16_t>(port)));
}

GrpcServer::GrpcServer(std::unique_ptr<Impl> impl, uint16_t port)
    : impl_(std::move(impl)), port_(port) {}

GrpcServer::~GrpcServer() { Stop(); }

void GrpcServer::Stop() {
  if (impl_ == nullptr || impl_->stopped) return;
  impl_->stopped = true;
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  impl_->server->Wait();
}

}  // namespace infera
