// LoadClient: one connection of a closed-loop load generator (`infera bench`): the same
// HTTP/1.1 request, built once, sent again and again on a blocking keep-alive socket,
// each response read in full and its status returned — what wrk does, so that the
// generator, which shares the machine's cores with the server it measures, costs a
// request a few syscalls rather than an HTTP library's parser, timers and event loop
// (HttpClient: ≈ 0.2 ms of CPU per request on this project's 2-core machine, on the
// critical path at concurrency 1).
//
// Responses: a status line, headers, and a body framed by Content-Length (what the
// server sends); a response without Content-Length, or with Transfer-Encoding, is an
// error (Internal), as is a malformed status line or header block larger than 64 KiB.
// "Connection: close" in a response, or the server closing the connection, makes the
// next RoundTrip reconnect once before sending.
//
// Thread-safety: NOT thread-safe; one LoadClient per client thread. Every send and
// receive is bounded by the timeout given to Open (SO_SNDTIMEO / SO_RCVTIMEO).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "api/http_types.h"
#include "common/status.h"

namespace infera {

class LoadClient {
 public:
  // Connects to host:port (an IPv4 or IPv6 literal, or "localhost") with TCP_NODELAY and
  // builds the request: `method target HTTP/1.1`, Host, `headers` as given,
  // Content-Length of `body`, then `body`. Errors: InvalidArgument for a host that is not
  // a literal address, Unavailable when the connection is refused.
  static StatusOr<std::unique_ptr<LoadClient>> Open(
      std::string_view host, uint16_t port, std::string_view method, std::string_view target,
      const HttpHeaders& headers, std::string_view body, std::chrono::milliseconds timeout);
  ~LoadClient();
  LoadClient(const LoadClient&) = delete;
  LoadClient& operator=(const LoadClient&) = delete;

  // Sends the request and reads its response; returns the response's status code.
  // Errors: Unavailable when the connection fails or closes before a whole response
  // (after one reconnect when a kept-alive connection was closed before any answer),
  // DeadlineExceeded on timeout, Internal for a response it cannot frame. After an
  // error the connection is closed; the next call reconnects.
  StatusOr<int> RoundTrip();

  // The body of the last response read (valid until the next RoundTrip).
  std::string_view last_body() const;
  // TCP connections opened so far (keep-alive is checked with it).
  int connections_opened() const { return connections_opened_; }

 private:
  LoadClient() = default;
  Status Connect();
  void CloseSocket();
  // One send of the request and one read of its response on the open socket.
  StatusOr<int> Exchange(bool* got_some);

  std::string address_;  // resolved literal
  uint16_t port_ = 0;
  int family_ = 0;
  std::chrono::milliseconds timeout_{0};
  std::string request_;  // the whole request, built once
  std::string buffer_;   // bytes read: one response's head and body
  size_t body_begin_ = 0;
  size_t body_size_ = 0;
  int fd_ = -1;
  bool reusable_ = false;  // the open connection has answered a request before
  int connections_opened_ = 0;
};

}  // namespace infera
