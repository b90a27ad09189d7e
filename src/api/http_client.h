// HttpClient: a small blocking HTTP/1.1 client over one keep-alive connection, for tests
// and the benchmark (not a general-purpose client: no TLS, no redirects, no proxies).
//
// Thread-safety: NOT thread-safe; use one client per thread. Each client owns its own
// Asio io_context and runs it only inside its calls, so any number of clients can be
// used from different threads at once.
//
// Connect() once; Send() then reuses the connection and transparently reconnects (and
// resends once) when the server closed an idle keep-alive connection before the
// request got any answer. Every network operation is bounded by the client's timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "api/http_types.h"
#include "common/status.h"

namespace infera {

class HttpClient {
 public:
  explicit HttpClient(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Remembers host:port and connects (Unavailable when it cannot, InvalidArgument for a
  // host that does not resolve).
  Status Connect(std::string_view host, uint16_t port);

  // Sends one request and reads its response. `headers` are added as given (a Host
  // header is added unless present; Content-Length is computed). The response's header
  // names are lower-case and content_type mirrors its Content-Type header.
  // Errors: FailedPrecondition before Connect, Unavailable when the connection fails or
  // is closed without a response, DeadlineExceeded on timeout, Internal when the
  // response cannot be parsed. The connection is closed after any error and after a
  // response that asks for it ("Connection: close"); the next Send reconnects.
  StatusOr<HttpResponse> Send(std::string_view method, std::string_view target,
                              std::string_view body = {}, const HttpHeaders& headers = {});

  // Closes the connection (the next Send reconnects).
  void Close();

  bool connected() const;
  // How many TCP connections this client opened so far (tests check keep-alive with it).
  int connections_opened() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace infera
