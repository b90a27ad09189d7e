// HttpServer: an HTTP/1.1 server on Boost.Beast + Asio.
//
// Threads: `io_threads` Asio threads run all connections; handlers run on them and must
// not block (see Handler). Keep-alive, pipelining-safe (one request at a time per
// connection), a bounded request body (413 JSON error beyond max_body_bytes or the
// route's own limit, checked from Content-Length before the body is read; uploads to
// spool routes are streamed to temp files), a bounded header size (431), idle
// timeout, graceful Stop(). Every response carries Content-Type and Content-Length;
// malformed requests get a 400 JSON error and the connection is closed.
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
  int idle_timeout_s = 60;
};

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
