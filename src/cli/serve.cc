// `infera serve --config FILE [--host H] [--port P]`: loads the config, starts the
// server, prints "infera listening on http://HOST:PORT" on stdout once it accepts
// connections (then, with server.grpc_port, "infera grpc listening on HOST:PORT"), and
// runs until SIGINT or SIGTERM.
#include <csignal>
#include <iostream>

#include "cli/cli.h"
#include "common/logging.h"
#include "server/server.h"

namespace infera {

int RunServe(const ServeOptions& options) {
  // Block the stop signals in every thread (the server's threads inherit the mask);
  // the main thread then waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  StatusOr<ServerConfig> config = LoadServerConfig(options.config);
  if (!config.ok()) {
    std::cerr << "infera: " << config.status().message() << "\n";
    return 1;
  }
  if (!options.host.empty()) config->http.host = options.host;
  if (options.port >= 0) config->http.port = static_cast<uint16_t>(options.port);
  StatusOr<std::unique_ptr<Server>> server = Server::Create(*config);
  if (!server.ok()) {
    std::cerr << "infera: " << server.status().message() << "\n";
    return 1;
  }
  (*server)->Start();
  std::cout << "infera listening on http://" << config->http.host << ":" << (*server)->port()
            << std::endl;
  if ((*server)->grpc_port() != 0) {
    std::cout << "infera grpc listening on " << config->http.host << ":" << (*server)->grpc_port()
              << std::endl;
  }

  int sig = 0;
  sigwait(&signals, &sig);
  Log(LogLevel::kInfo, "server_stopping", {{"signal", std::to_string(sig)}});
  (*server)->Stop();
  return 0;
}

}  // namespace infera
