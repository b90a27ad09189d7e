// Server: the whole serving process minus main(): loads every configured model into
// the registry, builds the router with every route family, and runs the HTTP server.
//
// Create/Start/Stop are called from one controlling thread; models() and port() are
// thread-safe. Stop() stops the HTTP server first, then unloads the models (each
// finishes what is queued).
#pragma once

#include <cstdint>
#include <memory>

#include "api/api_context.h"
#include "api/http_server.h"
#include "api/router.h"
#include "common/status.h"
#include "metrics/metrics.h"
#include "models/model_registry.h"
#include "models/server_config.h"

namespace infera {

class Server {
 public:
  // Loads the models of `config` (any failure aborts start-up with the model's error)
  // and binds host:port (port 0 picks a free one).
  static StatusOr<std::unique_ptr<Server>> Create(const ServerConfig& config);
  ~Server();

  void Start();
  void Stop();
  uint16_t port() const { return http_->port(); }
  ModelRegistry& models() { return models_; }
  // The model repository folder, or "" when the config has none.
  std::string model_repository() const { return model_repository_; }

 private:
  Server() = default;
  // Request counters and durations, in-flight and queue gauges, the access log.
  void InstallObservability(bool access_log);

  // Declared first: destroyed last, after the models that feed it.
  MetricsRegistry metrics_;
  ModelRegistry models_;
  std::unique_ptr<ModelManager> manager_;
  std::string model_repository_;
  ApiContext ctx_;
  Router router_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace infera
