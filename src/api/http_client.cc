#include "api/http_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ascii.h"

namespace infera {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

}  // namespace

// HttpClient::Impl: the connection and the io_context that runs its operations, one
// call at a time on the caller's thread.
class HttpClient::Impl {
 public:
  explicit Impl(std::chrono::milliseconds timeout) : timeout_(timeout) {}
  ~Impl() { CloseSocket(); }

  Status Connect(std::string_view host, uint16_t port) {
    CloseSocket();
    host_ = std::string(host);
    port_ = port;
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    endpoints_ = resolver.resolve(host_, std::to_string(port), ec);
    if (ec || endpoints_.empty()) {
      Status status =
          absl::InvalidArgumentError(absl::StrCat("cannot resolve '", host_, "': ", ec.message()));
      host_.clear();
      return status;
    }
    return Reconnect();
  }

  StatusOr<HttpResponse> Send(std::string_view method, std::string_view target,
                              std::string_view body, const HttpHeaders& headers) {
    if (host_.empty()) return absl::FailedPreconditionError("HttpClient::Send before Connect");
    http::request<http::string_body> request;
    const http::verb verb = http::string_to_verb(method);
    if (verb == http::verb::unknown) {
      request.method_string(method);
    } else {
      request.method(verb);
    }
    request.target(target);
    request.version(11);
    for (const auto& [name, value] : headers) request.set(name, value);
    if (request.find(http::field::host) == request.end()) {
      request.set(http::field::host, absl::StrCat(host_, ":", port_));
    }
    request.body() = std::string(body);
    request.prepare_payload();

    for (int attempt = 0;; ++attempt) {
      // A kept-alive connection may have been closed by the server meanwhile.
      const bool reused = stream_.has_value() && requests_on_connection_ > 0;
      if (!stream_.has_value()) {
        Status status = Reconnect();
        if (!status.ok()) return status;
      }
      ++requests_on_connection_;
      bool answered = false;
      beast::error_code ec =
          Run([&](auto handler) { http::async_write(*stream_, request, handler); });
      if (!ec) {
        http::response_parser<http::string_body> parser;
        // No limit, written as the largest value: Boost 1.74 compares the length with an
        // unset limit (boost::none) as if it were below every length, refusing bodies
        // ("body limit exceeded").
        parser.body_limit(std::numeric_limits<std::uint64_t>::max());
        if (verb == http::verb::head) parser.skip(true);
        ec = Run([&](auto handler) { http::async_read(*stream_, buffer_, parser, handler); });
        if (!ec) {
          http::response<http::string_body> message = parser.release();
          const bool keep_alive = message.keep_alive();
          HttpResponse response = ToResponse(std::move(message));
          if (!keep_alive) CloseSocket();
          return response;
        }
        answered = parser.got_some();
      }
      CloseSocket();
      if (reused && !answered && attempt == 0 && ec != beast::error::timeout) continue;
      return ToStatus(ec);
    }
  }

  void CloseSocket() {
    if (stream_.has_value()) {
      beast::error_code ignored;
      stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream_->close();
      stream_.reset();
    }
    buffer_.clear();
    requests_on_connection_ = 0;
  }

  bool connected() const { return stream_.has_value(); }
  int connections_opened() const { return connections_opened_; }

 private:
  Status Reconnect() {
    CloseSocket();
    stream_.emplace(ioc_);
    const beast::error_code ec =
        Run([&](auto handler) { stream_->async_connect(endpoints_, handler); });
    if (ec) {
      CloseSocket();
      return ToStatus(ec);
    }
    beast::error_code ignored;
    stream_->socket().set_option(tcp::no_delay(true), ignored);
    ++connections_opened_;
    return absl::OkStatus();
  }

  // Starts one asynchronous operation and runs the io_context until it completes or the
  // timeout closes the stream.
  template <typename Initiate>
  beast::error_code Run(Initiate&& initiate) {
    beast::error_code result = asio::error::would_block;
    stream_->expires_after(timeout_);
    initiate([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result;
  }

  static HttpResponse ToResponse(http::response<http::string_body> message) {
    HttpResponse response;
    response.status = static_cast<int>(message.result_int());
    response.content_type = std::string(message[http::field::content_type]);
    for (const auto& field : message) {
      auto [it, inserted] =
          response.headers.try_emplace(AsciiStrToLower(field.name_string()), field.value());
      if (!inserted) {
        it->second += ", ";
        it->second += field.value();
      }
    }
    response.body = std::move(message.body());
    return response;
  }

  Status ToStatus(beast::error_code ec) const {
    const std::string where = absl::StrCat("HTTP ", host_, ":", port_);
    if (ec == beast::error::timeout) {
      return absl::DeadlineExceededError(
          absl::StrCat(where, ": no answer within ", timeout_.count(), " ms"));
    }
    if (ec.category() == http::make_error_code(http::error::bad_version).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return absl::InternalError(absl::StrCat(where, ": malformed response: ", ec.message()));
    }
    return absl::UnavailableError(absl::StrCat(where, ": ", ec.message()));
  }

  const std::chrono::milliseconds timeout_;
  asio::io_context ioc_{1};
  std::string host_;
  uint16_t port_ = 0;
  tcp::resolver::results_type endpoints_;
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  int requests_on_connection_ = 0;
  int connections_opened_ = 0;
};

HttpClient::HttpClient(std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(timeout)) {}

HttpClient::~HttpClient() = default;

Status HttpClient::Connect(std::string_view host, uint16_t port) {
  return impl_->Connect(host, port);
}

StatusOr<HttpResponse> HttpClient::Send(std::string_view method, std::string_view target,
                                        std::string_view body, const HttpHeaders& headers) {
  return impl_->Send(method, target, body, headers);
}

void HttpClient::Close() { impl_->CloseSocket(); }

bool HttpClient::connected() const { return impl_->connected(); }

int HttpClient::connections_opened() const { return impl_->connections_opened(); }

}  // namespace infera
