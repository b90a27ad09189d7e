#include "tracing/otlp_http_exporter.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <optional>
#include <utility>

#include "common/strings.h"

namespace infera {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

}  // namespace

StatusOr<OtlpEndpoint> ParseOtlpEndpoint(std::string_view url) {
  auto bad = [url](std::string_view why) {
    return absl::InvalidArgumentError(
        StrCat("tracing endpoint '", url, "': ", why, " (expected http://host[:port][/path])"));
  };
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) {
    return bad(url.starts_with("https://") ? "https is not supported" : "not an http:// URL");
  }
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  OtlpEndpoint endpoint;
  if (slash != std::string_view::npos && rest.substr(slash) != "/") {
    endpoint.path = std::string(rest.substr(slash));
  }
  if (authority.find('@') != std::string_view::npos) return bad("user info is not supported");
  if (endpoint.path.find_first_of("?# \t\r\n") != std::string::npos) {
    return bad("the path may not hold a query, a fragment or spaces");
  }
  std::string_view host = authority;
  if (authority.starts_with('[')) {  // [v6]:port
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '['");
    host = authority.substr(1, close - 1);
    authority.remove_prefix(close + 1);
    if (!authority.empty() && !authority.starts_with(':')) return bad("junk after ']'");
  } else {
    const size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    authority = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
  }
  if (host.empty()) return bad("no host");
  if (!authority.empty()) {  // ":port"
    const std::string_view port = authority.substr(1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
        value > 65535) {
      return bad("bad port");
    }
    endpoint.port = static_cast<uint16_t>(value);
  }
  endpoint.host = std::string(host);
  return endpoint;
}

// OtlpHttpExporter::Impl: one connection, run on the caller's thread.
class OtlpHttpExporter::Impl {
 public:
  Impl(OtlpEndpoint endpoint, OtlpResource resource, std::chrono::milliseconds timeout)
      : endpoint_(std::move(endpoint)), resource_(std::move(resource)), timeout_(timeout) {}

  Status Export(const std::vector<SpanData>& spans) {
    http::request<http::string_body> request{http::verb::post, endpoint_.path, 11};
    request.set(http::field::host, StrCat(endpoint_.host, ":", endpoint_.port));
    request.set(http::field::content_type, "application/json");
    request.set(http::field::user_agent, "infera-otlp");
    request.body() = SpansToOtlpJson(resource_, spans);
    request.prepare_payload();
    // A kept-alive connection the collector closed meanwhile is retried once, fresh.
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = stream_.has_value();
      if (!stream_.has_value()) RETURN_IF_ERROR(Connect());
      beast::error_code ec = Run([&](auto h) { http::async_write(*stream_, request, h); });
      http::response_parser<http::string_body> parser;
      parser.body_limit(1 << 20);
      if (!ec) ec = Run([&](auto h) { http::async_read(*stream_, buffer_, parser, h); });
      if (ec) {
        Close();
        if (reused && ec != beast::error::timeout) continue;
        return ToStatus(ec);
      }
      const http::response<http::string_body>& response = parser.get();
      if (!response.keep_alive()) Close();
      const unsigned code = response.result_int();
      if (code >= 200 && code < 300) return absl::OkStatus();
      const std::string what = StrCat("OTLP endpoint ", endpoint_.host, ":", endpoint_.port,
                                      endpoint_.path, " answered ", code);
      if (code == 429 || code >= 500) return absl::UnavailableError(what);
      return absl::InternalError(what);
    }
    return absl::UnavailableError("OTLP endpoint closed the connection");
  }

  void Close() {
    if (stream_.has_value()) {
      beast::error_code ignored;
      stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream_->close();
      stream_.reset();
    }
    buffer_.clear();
  }

 private:
  Status Connect() {
    Close();
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    const auto endpoints = resolver.resolve(endpoint_.host, std::to_string(endpoint_.port), ec);
    if (ec || endpoints.empty()) {
      return absl::UnavailableError(
          StrCat("cannot resolve OTLP endpoint host '", endpoint_.host, "': ", ec.message()));
    }
    stream_.emplace(ioc_);
    ec = Run([&](auto h) { stream_->async_connect(endpoints, h); });
    if (ec) {
      Close();
      return ToStatus(ec);
    }
    beast::error_code ignored;
    stream_->socket().set_option(tcp::no_delay(true), ignored);
    return absl::OkStatus();
  }

  // Starts one operation and runs the io_context until it completes or the stream's
  // timer closes it.
  template <typename Initiate>
  beast::error_code Run(Initiate&& initiate) {
    beast::error_code result = asio::error::would_block;
    stream_->expires_after(timeout_);
    initiate([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result;
  }

  Status ToStatus(beast::error_code ec) const {
    const std::string where = StrCat("OTLP endpoint ", endpoint_.host, ":", endpoint_.port);
    if (ec == beast::error::timeout) {
      return absl::DeadlineExceededError(
          StrCat(where, ": no answer within ", timeout_.count(), " ms"));
    }
    return absl::UnavailableError(StrCat(where, ": ", ec.message()));
  }

  const OtlpEndpoint endpoint_;
  const OtlpResource resource_;
  const std::chrono::milliseconds timeout_;
  asio::io_context ioc_{1};
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

OtlpHttpExporter::OtlpHttpExporter(OtlpEndpoint endpoint, OtlpResource resource,
                                   std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(std::move(endpoint), std::move(resource), timeout)) {}

OtlpHttpExporter::~OtlpHttpExporter() = default;

Status OtlpHttpExporter::Export(const std::vector<SpanData>& spans) { return impl_->Export(spans); }

}  // namespace infera
