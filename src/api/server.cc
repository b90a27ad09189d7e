#include "api/server.h"

#include "api/routes/routes.h"
#include "common/logging.h"
#include "models/model.h"

namespace infera {

StatusOr<std::unique_ptr<Server>> Server::Create(const ServerConfig& config) {
  std::unique_ptr<Server> server(new Server());
  for (const ModelConfig& mc : config.models) {
    ASSIGN_OR_RETURN(std::shared_ptr<Model> model, Model::Load(mc));
    server->models_.Put(std::move(model));
  }
  server->ctx_.models = &server->models_;
  server->ctx_.max_image_pixels = config.max_image_pixels;
  AddHealthRoutes(server->router_, server->ctx_);
  AddPredictRoutes(server->router_, server->ctx_);
  AddModelRoutes(server->router_, server->ctx_);
  AddV2HealthRoutes(server->router_, server->ctx_);
  AddV2ModelRoutes(server->router_, server->ctx_);
  AddV2InferRoutes(server->router_, server->ctx_);

  if (config.access_log) {
    server->router_.SetObserver([](const RequestRecord& r) {
      Log(LogLevel::kInfo, "http_request",
          {{"request_id", r.request_id},
           {"method", r.method},
           {"path", r.path},
           {"route", r.route},
           {"status", std::to_string(r.status)},
           {"ms", std::to_string(r.seconds * 1000.0)}});
    });
  }

  HttpServerOptions options;
  options.host = config.host;
  options.port = static_cast<uint16_t>(config.port);
  options.io_threads = config.io_threads;
  options.max_body_bytes = static_cast<size_t>(config.max_body_bytes);
  ASSIGN_OR_RETURN(server->http_, HttpServer::Create(options, &server->router_));
  return server;
}

Server::~Server() { Stop(); }

void Server::Start() {
  http_->Start();
  Log(LogLevel::kInfo, "server_started", {{"port", std::to_string(http_->port())}});
}

void Server::Stop() {
  if (http_) http_->Stop();
  // Models drop here only if nobody else holds them; queued requests run first.
  for (const std::string& name : models_.Names()) models_.Remove(name);
}

}  // namespace infera
