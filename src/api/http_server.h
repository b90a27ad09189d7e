// HttpServer: an HTTP/1.1 server on Boost.Beast + Asio.
//
// Threads: `io_threads` Asio threads run all connections; handlers run on them and must
// not block (see Handler). Keep-alive, pipelining-safe (one request at a time per
// connection), a bounded request body (413 JSON error beyond max_body_bytes or the
// route's own limit, checked from Content-Length before the body is read; uploads to
// spool routes are streamed to temp files), a bounded header size (431), header and
// body deadlines with a minimum body rate, a connection cap (503 beyond it), accept
// failures logged and counted, graceful Stop(). Every response carries Content-Type and
// Content-Length; malformed requests get a 400 JSON error and the connection is closed.
// Create/Start/Stop are called from one controlling thread; port() is thread-safe.
//
// Responders: each request's Responder may be called from any thread, at any time; the
// write is posted onto the connection's strand. Only the first call counts (later calls
// and copies are ignored). It keeps the connection alive until called; if every copy is
// destroyed without a call the connection is closed without a response. After Stop()
// (or after the server is gone) calling it is safe and does nothing. A handler that
// throws gets a 500 JSON error (unless it already responded).
//
// Stop() must not be called from a handler (it joins the I/O threads); a stopped server
// cannot be restarted. Requests are dispatched one at a time per connection: the next
// pipelined request is read only after the previous response was written.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "api/router.h"
#include "common/status.h"
#include "metrics/metrics.h"

namespace infera {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 picks a free port; see HttpServer::port()
  int io_threads = 2;
  size_t max_body_bytes = 64u << 20;  // routes may set their own (RouteOptions)
  // Bodies of spool routes over this size (or of unknown length) are streamed to temp
  // files in spool_dir (created when missing) instead of memory.
  uint64_t spool_threshold_bytes = 1u << 20;
  std::filesystem::path spool_dir = std::filesystem::temp_directory_path() / "infera-spool";
  // How long a write (a response, a chunk) may wait for the client, and how long a
  // body may go without any byte arriving.
  int idle_timeout_s = 60;
  // Slow clients (each bound is a deadline, not restarted by every byte as a plain idle
  // timer would be — a client sending one byte per few seconds is cut off):
  //   the request header (and, on a kept-alive connection, the wait for it) must be
  //   complete within header_timeout_s of the read's start;
  //   a body must be complete within body_timeout_s of its header, and keep up an
  //   average of min_body_rate_bytes_s: after n bytes it may have taken at most
  //   header_timeout_s + n / min_body_rate_bytes_s seconds (0: no rate bound).
  // A client past a deadline is disconnected (there is no one to answer mid-body) and
  // counted in infera_http_client_timeouts_total{phase="header"|"body"}.
  int header_timeout_s = 60;
  int body_timeout_s = 3600;
  uint64_t min_body_rate_bytes_s = 16 * 1024;
  // Connections open at once. Beyond it a new connection is answered 503 (Retry-After)
  // and closed, counted in infera_http_connections_rejected_total. 0: the process's
  // open-file limit (RLIMIT_NOFILE, soft) less a reserve of max(64, limit / 4) for the
  // store, spooled uploads and models (DefaultMaxConnections).
  int max_connections = 0;
  // Where the server's own series go (connections open, refused, accept failures,
  // slow-client timeouts); null: none. Must outlive the server.
  MetricsRegistry* metrics = nullptr;
};

// The connection cap used when HttpServerOptions::max_connections is 0 (see there).
int DefaultMaxConnections();

class HttpServer {
 public:
  // Binds and listens (InvalidArgument for a bad host, Unavailable when the port cannot
  // be bound). `router` must outlive the server.
  static StatusOr<std::unique_ptr<HttpServer>> Create(const HttpServerOptions& options,
                                                      const Router* router);
  ~HttpServer();  // Stops if running.

  // Starts the I/O threads; returns immediately.
  void Start();
  // Stops accepting, closes connections, joins the I/O threads. Idempotent.
  void Stop();
  // The bound port (the real one when options.port was 0).
  uint16_t port() const;

  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace infera
