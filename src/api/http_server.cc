#include "api/http_server.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <limits>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/response_stream.h"
#include "common/ascii.h"
#include "common/logging.h"
#include "common/mutex.h"

namespace infera {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr uint32_t kHeaderLimitBytes = 16 * 1024;
// Beast reads at most the buffer's free capacity per syscall; the default (512 bytes)
// made large uploads 12x slower.
constexpr size_t kReadBufferBytes = size_t{64} * 1024;
// How long a connection closed after an error keeps draining what the client still
// sends, so that the client reads our error response instead of a reset.
constexpr std::chrono::seconds kLingerTimeout(2);
// Back-off after a failed accept (e.g. EMFILE) so the acceptor does not spin.
constexpr std::chrono::milliseconds kAcceptRetryDelay(50);

class Session;

// Core: what the server and its sessions share. Sessions hold it by shared_ptr so the
// io_context outlives every socket and timer, even when a Responder kept by another
// thread keeps its session alive after the server is gone.
struct Core {
  Core(int threads, const Router* router_in, const HttpServerOptions& options)
      : ioc(threads),
        router(router_in),
        max_body_bytes(options.max_body_bytes),
        idle_timeout(options.idle_timeout_s),
        header_timeout(options.header_timeout_s),
        body_timeout(options.body_timeout_s),
        min_body_rate(options.min_body_rate_bytes_s),
        spool_dir(options.spool_dir),
        spool_threshold(options.spool_threshold_bytes) {
    if (options.metrics != nullptr) {
      MetricsRegistry& m = *options.metrics;
      accept_errors = &m.AddCounter("infera_http_accept_errors_total",
                                    "Failed accepts of new connections (e.g. out of file "
                                    "descriptors), by error.",
                                    {"error"});
      rejected = &m.AddCounter("infera_http_connections_rejected_total",
                               "Connections answered 503 because max_connections were open.", {})
                      .Get({});
      timeouts = &m.AddCounter("infera_http_client_timeouts_total",
                               "Connections closed because a request header or body missed its "
                               "deadline or minimum rate.",
                               {"phase"});
    }
  }

  asio::io_context ioc;
  const Router* const router;  // only used on I/O threads, which Stop() joins
  const uint64_t max_body_bytes;
  const std::chrono::seconds idle_timeout;
  const std::chrono::seconds header_timeout;
  const std::chrono::seconds body_timeout;
  const uint64_t min_body_rate;  // bytes per second; 0: none
  // Metrics (null without a registry); the families outlive the server.
  CounterFamily* accept_errors = nullptr;
  Counter* rejected = nullptr;
  CounterFamily* timeouts = nullptr;
  std::atomic<int64_t> open_connections{0};  // sessions alive (accepted, not destroyed)
  const std::filesystem::path spool_dir;
  const uint64_t spool_threshold;
  std::atomic<uint64_t> spool_counter{0};

  // Guards `stopped` and `sessions`. Responders post under a shared lock so that no
  // write is queued after Stop() set `stopped` (and the I/O threads are gone).
  // A std::shared_mutex (SharedMutex) rather than absl::Mutex: Debian's libabsl is not
  // compiled with -fsanitize=thread, so TSan cannot see absl::Mutex and reports false
  // races.
  SharedMutex mu;
  bool stopped GUARDED_BY(mu) = false;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions GUARDED_BY(mu);
};

bool ValidHeaderName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127 || c == ':') return false;
  }
  return true;
}

bool ValidHeaderValue(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// Splits a request target into the percent-decoded path and the raw query. Accepts the
// origin form ("/a?b") and the absolute form ("http://host/a?b"). False when the target
// is malformed or its path decodes to something containing NUL.
bool SplitTarget(std::string_view target, std::string* path, std::string* query) {
  std::string_view raw_path = target;
  std::string_view raw_query;
  const size_t question = target.find('?');
  if (question != std::string_view::npos) {
    raw_path = target.substr(0, question);
    raw_query = target.substr(question + 1);
  }
  if (StartsWithIgnoreCase(raw_path, "http://") || StartsWithIgnoreCase(raw_path, "https://")) {
    const size_t authority = raw_path.find("://") + 3;
    const size_t slash = raw_path.find('/', authority);
    raw_path = slash == std::string_view::npos ? std::string_view("/") : raw_path.substr(slash);
  }
  if (raw_path.empty() || raw_path.front() != '/') return false;
  if (!PercentDecode(raw_path, /*plus_as_space=*/false, path)) return false;
  if (path->find('\0') != std::string::npos) return false;
  query->assign(raw_query);
  return true;
}

// Converts a handler's response to Beast's. Invalid statuses or headers (a handler bug)
// become a 500 so that nothing malformed reaches the wire.
http::response<http::string_body> ToBeastResponse(HttpResponse response, unsigned version,
                                                  bool head, bool keep_alive) {
  std::string problem;
  if (response.status < 200 || response.status > 999) {
    problem = absl::StrCat("handler returned the invalid HTTP status ", response.status);
  } else if (!ValidHeaderValue(response.content_type)) {
    problem = "handler returned an invalid Content-Type";
  } else {
    for (const auto& [name, value] : response.headers) {
      if (!ValidHeaderName(name) || !ValidHeaderValue(value)) {
        problem = absl::StrCat("handler returned the invalid header '", name, "'");
        break;
      }
    }
  }
  if (!problem.empty()) response = ErrorResponse(500, problem);

  http::response<http::string_body> out;
  out.version(version);
  out.result(static_cast<unsigned>(response.status));
  out.set(http::field::server, "infera");
  if (!response.content_type.empty()) out.set(http::field::content_type, response.content_type);
  bool close = !keep_alive;
  for (const auto& [name, value] : response.headers) {
    const std::string lower = AsciiStrToLower(name);
    if (lower == "connection") {
      if (AsciiStrToLower(value).find("close") != std::string::npos) close = true;
      continue;
    }
    // Framing is ours to decide.
    if (lower == "content-length" || lower == "transfer-encoding") continue;
    out.set(name, value);
  }
  if (response.status == 204 || response.status == 304) {
    // No body and no Content-Length (RFC 9110 8.6).
  } else if (head) {
    out.content_length(response.body.size());  // the length a GET would have
  } else {
    out.content_length(response.body.size());
    out.body() = std::move(response.body);
  }
  out.keep_alive(!close);
  return out;
}

// Session: one connection. Every member function but the constructor, the destructor
// and executor() runs on the connection's strand (executor_). Owned by shared_ptr: by
// pending Asio operations, by posted work and by the Responder of the request being
// answered.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<Core> core, tcp::socket socket)
      : core_(std::move(core)), stream_(std::move(socket)), executor_(stream_.get_executor()) {
    beast::error_code ec;
    const tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_address_ = remote.address().to_string();
    buffer_.reserve(kReadBufferBytes);
    core_->open_connections.fetch_add(1, std::memory_order_relaxed);
  }

  ~Session() {
    core_->open_connections.fetch_sub(1, std::memory_order_relaxed);
    WriterMutexLock lock(&core_->mu);
    core_->sessions.erase(this);
  }

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const asio::any_io_executor& executor() const { return executor_; }
  Core& core() const { return *core_; }

  void Start() {
    asio::dispatch(executor_, beast::bind_front_handler(&Session::ReadRequest, shared_from_this()));
  }

  // Closes the connection, cancelling pending operations. Idempotent.
  void Close() {
    if (body_stream_) body_stream_->Cancel();  // the producer stops
    if (closed_) return;
    closed_ = true;
    stream_.close();
  }

  // Writes the response to the request being answered (ignored if there is none).
  void WriteResponse(HttpResponse response) {
    if (closed_ || !awaiting_response_) return;
    awaiting_response_ = false;
    if (response.stream && !head_ && response.status >= 200 && response.status != 204 &&
        response.status != 304) {
      WriteStreamHeader(std::move(response));
      return;
    }
    response_.emplace(ToBeastResponse(std::move(response), version_, head_, keep_alive_));
    close_after_write_ = !response_->keep_alive();
    stream_.expires_after(core_->idle_timeout);
    http::async_write(stream_, *response_,
                      beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
  }

 private:
  // Reads the header first; OnHeader then picks where the body goes (memory or a temp
  // file, by the route's RouteOptions) and its limit.
  void ReadRequest() {
    if (closed_) return;
    header_parser_.emplace();
    header_parser_->header_limit(kHeaderLimitBytes);
    header_parser_->body_limit(std::numeric_limits<uint64_t>::max());  // checked in OnHeader
    string_parser_.reset();
    file_parser_.reset();
    body_file_.reset();
    reading_body_ = false;
    stream_.expires_after(core_->header_timeout);
    http::async_read_header(stream_, buffer_, *header_parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      OnReadError(ec);
      return;
    }
    if (closed_) return;
    const auto& header = header_parser_->get();
    std::string path;
    std::string query;
    RouteOptions route;
    if (SplitTarget(header.target(), &path, &query)) {
      route = core_->router->BodyOptions(header.method_string(), path);
    }
    body_limit_ = route.max_body_bytes > 0 ? route.max_body_bytes : core_->max_body_bytes;
    std::optional<uint64_t> length;
    if (const auto beast_length = header_parser_->content_length()) length = *beast_length;
    if (length && *length > body_limit_) {
      SendErrorAndClose(413, absl::StrCat("request body of ", *length,
                                          " bytes exceeds the limit of ", body_limit_, " bytes"));
      return;
    }
    const bool to_file =
        route.spool && !header_parser_->is_done() && (!length || *length > core_->spool_threshold);
    if (to_file) {
      file_parser_.emplace(std::move(*header_parser_));
      file_parser_->body_limit(body_limit_);
      body_file_ = std::make_shared<BodyFile>();
      std::error_code fs_ec;
      std::filesystem::create_directories(core_->spool_dir, fs_ec);
      body_file_->path = core_->spool_dir /
                         absl::StrCat("upload-", ::getpid(), "-", core_->spool_counter++, ".part");
      beast::error_code open_ec;
      file_parser_->get().body().open(body_file_->path.c_str(), beast::file_mode::write, open_ec);
      if (open_ec) {
        body_file_->path.clear();  // nothing to remove
        SendErrorAndClose(open_ec == boost::system::errc::no_space_on_device ? 507 : 503,
                          absl::StrCat("cannot store the upload: ", open_ec.message()));
        return;
      }
    } else {
      string_parser_.emplace(std::move(*header_parser_));
      string_parser_->body_limit(body_limit_);
    }
    header_parser_.reset();
    if (is_done()) {
      HandleRequest();
      return;
    }
    reading_body_ = true;
    body_start_ = std::chrono::steady_clock::now();
    body_received_ = 0;
    const auto& fields = to_file ? file_parser_->get().base() : string_parser_->get().base();
    if (fields.version() >= 11 && EqualsIgnoreCase(fields[http::field::expect], "100-continue")) {
      continue_response_ = http::response<http::empty_body>(http::status::continue_, 11);
      stream_.expires_after(core_->idle_timeout);
      http::async_write(stream_, continue_response_,
                        beast::bind_front_handler(&Session::OnContinueWritten, shared_from_this()));
      return;
    }
    ReadSome();
  }

  bool is_done() const {
    return file_parser_ ? file_parser_->is_done() : string_parser_->is_done();
  }

  // The body's deadline now (see HttpServerOptions): the total, the minimum rate for what
  // has arrived so far, and the idle bound, whichever comes first.
  std::chrono::steady_clock::time_point BodyDeadline() const {
    auto deadline = std::min(body_start_ + core_->body_timeout,
                             std::chrono::steady_clock::now() + core_->idle_timeout);
    if (core_->min_body_rate > 0) {
      const auto earned = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(static_cast<double>(body_received_) /
                                        static_cast<double>(core_->min_body_rate)));
      deadline = std::min(deadline, body_start_ + core_->header_timeout + earned);
    }
    return deadline;
  }

  // Reads the body in steps, each against the body's deadline: a large upload on a
  // fast enough link is not cut off, a trickle is.
  void ReadSome() {
    stream_.expires_at(BodyDeadline());
    auto handler = beast::bind_front_handler(&Session::OnRead, shared_from_this());
    if (file_parser_) {
      http::async_read_some(stream_, buffer_, *file_parser_, std::move(handler));
    } else {
      http::async_read_some(stream_, buffer_, *string_parser_, std::move(handler));
    }
  }

  void OnRead(beast::error_code ec, size_t bytes) {
    body_received_ += bytes;
    if (ec) {
      OnReadError(ec);
      return;
    }
    if (closed_) return;
    if (is_done()) {
      HandleRequest();
      return;
    }
    ReadSome();
  }

  void OnContinueWritten(beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      Close();
      return;
    }
    if (closed_) return;
    ReadSome();
  }

  void OnReadError(beast::error_code ec) {
    if (closed_) return;
    if (ec == http::error::end_of_stream) {  // the client closed between requests
      Shutdown();
      return;
    }
    if (ec == http::error::body_limit) {  // a chunked body grew past the limit
      SendErrorAndClose(413,
                        absl::StrCat("request body exceeds the limit of ", body_limit_, " bytes"));
      return;
    }
    if (ec == boost::system::errc::no_space_on_device) {  // spooling the body to disk
      SendErrorAndClose(507,
                        "the server's storage is full: cannot store the upload; free disk "
                        "space and try again");
      return;
    }
    if (ec == http::error::header_limit) {
      SendErrorAndClose(
          431, absl::StrCat("request header exceeds the limit of ", kHeaderLimitBytes, " bytes"));
      return;
    }
    if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
        ec != http::error::partial_message) {
      SendErrorAndClose(400, absl::StrCat("malformed HTTP request: ", ec.message()));
      return;
    }
    if (ec == beast::error::timeout) {
      // A slow (or idle) client; an idle kept-alive connection is not worth a line.
      const char* phase = reading_body_ ? "body" : "header";
      if (core_->timeouts != nullptr) core_->timeouts->Get({phase}).Increment();
      if (reading_body_) {
        Log(LogLevel::kInfo, "client_timeout",
            {{"phase", phase},
             {"address", remote_address_},
             {"bytes", std::to_string(body_received_)}});
      }
    }
    // Timeout, reset, or the client vanished mid-request: nobody to answer.
    Close();
  }

  void HandleRequest() {
    if (file_parser_) {
      file_parser_->get().body().close();
      body_file_->size = file_parser_->get().body().size();
      HandleMessage(file_parser_->get(), std::string());
      return;
    }
    auto& message = string_parser_->get();
    std::string body = std::move(message.body());
    HandleMessage(message, std::move(body));
  }

  template <typename Message>
  void HandleMessage(Message& message, std::string body) {
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    if (!SplitTarget(request.target, &request.path, &request.query)) {
      SendErrorAndClose(400, "invalid request target");
      return;
    }
    for (const auto& field : message) {
      auto [it, inserted] =
          request.headers.try_emplace(AsciiStrToLower(field.name_string()), field.value());
      if (!inserted) {
        it->second += ", ";
        it->second += field.value();
      }
    }
    request.body = std::move(body);
    request.body_file = std::move(body_file_);
    request.remote_address = remote_address_;
    version_ = message.version();
    keep_alive_ = message.keep_alive();
    head_ = message.method() == http::verb::head;
    string_parser_.reset();
    file_parser_.reset();
    awaiting_response_ = true;

    auto state = std::make_shared<ResponderState>(shared_from_this());
    Responder respond = [state](HttpResponse response) { state->Respond(std::move(response)); };
    try {
      core_->router->Dispatch(std::move(request), respond);
    } catch (const std::exception& e) {
      respond(ErrorResponse(500, absl::StrCat("internal error: ", e.what())));
    } catch (...) {
      respond(ErrorResponse(500, "internal error"));
    }
  }

  // Answers an unreadable request and closes the connection.
  void SendErrorAndClose(int status, std::string_view message) {
    version_ = 11;
    keep_alive_ = false;
    head_ = false;
    linger_after_write_ = true;
    awaiting_response_ = true;
    WriteResponse(ErrorResponse(status, message));
  }

  void OnWrite(beast::error_code ec, size_t /*bytes*/) {
    response_.reset();
    if (ec) {
      Close();
      return;
    }
    if (closed_) return;
    if (close_after_write_) {
      if (linger_after_write_ || buffer_.size() > 0) {
        Linger();
      } else {
        Shutdown();
      }
      return;
    }
    ReadRequest();
  }

  // Streamed responses: the header with chunked encoding, then each piece the
  // producer queues as a chunk, then the last chunk.
  void WriteStreamHeader(HttpResponse response) {
    body_stream_ = std::move(response.stream);
    response.stream.reset();
    http::response<http::string_body> full =
        ToBeastResponse(std::move(response), version_, head_, keep_alive_);
    if (full.result_int() == 500) {  // the handler's headers were invalid
      body_stream_->Cancel();
      body_stream_.reset();
      response_.emplace(std::move(full));
      close_after_write_ = !response_->keep_alive();
      http::async_write(stream_, *response_,
                        beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
      return;
    }
    stream_header_.emplace(http::status::ok, version_);
    stream_header_->base() = full.base();
    stream_header_->erase(http::field::content_length);
    stream_header_->chunked(true);
    close_after_write_ = !stream_header_->keep_alive();
    stream_serializer_.emplace(*stream_header_);
    stream_.expires_after(core_->idle_timeout);
    http::async_write_header(
        stream_, *stream_serializer_,
        beast::bind_front_handler(&Session::OnStreamWritten, shared_from_this()));
  }

  void OnStreamWritten(beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      EndStream();
      Close();
      return;
    }
    PumpStream();
  }

  void PumpStream() {
    if (closed_ || !body_stream_) return;
    const ResponseStream::State state = body_stream_->Take(&chunk_);
    if (!chunk_.empty()) {
      stream_.expires_after(core_->idle_timeout);
      asio::async_write(stream_, http::make_chunk(asio::buffer(chunk_)),
                        beast::bind_front_handler(&Session::OnStreamWritten, shared_from_this()));
      return;
    }
    switch (state) {
      case ResponseStream::State::kOpen:
        body_stream_->OnReady([self = shared_from_this()] {
          asio::post(self->executor(), [self] { self->PumpStream(); });
        });
        return;
      case ResponseStream::State::kClosed:
        stream_.expires_after(core_->idle_timeout);
        asio::async_write(stream_, http::make_chunk_last(),
                          beast::bind_front_handler(&Session::OnStreamDone, shared_from_this()));
        return;
      case ResponseStream::State::kAborted:
      case ResponseStream::State::kCancelled:
        EndStream();
        Close();
        return;
    }
  }

  void OnStreamDone(beast::error_code ec, size_t bytes) {
    EndStream();
    OnWrite(ec, bytes);
  }

  void EndStream() {
    if (body_stream_) body_stream_->Cancel();
    body_stream_.reset();
    stream_serializer_.reset();
    stream_header_.reset();
    chunk_.clear();
  }

  void Shutdown() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    Close();
  }

  // Half-closes, then discards what the client still sends (an oversized body) for a
  // while, so the client reads our response rather than a connection reset.
  void Linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    buffer_.clear();
    stream_.expires_after(kLingerTimeout);
    LingerRead();
  }

  void LingerRead() {
    stream_.async_read_some(buffer_.prepare(kReadBufferBytes),
                            beast::bind_front_handler(&Session::OnLingerRead, shared_from_this()));
  }

  void OnLingerRead(beast::error_code ec, size_t /*bytes*/) {
    if (ec || closed_) {
      Close();
      return;
    }
    LingerRead();  // same deadline: the whole linger is bounded by kLingerTimeout
  }

  // ResponderState: shared by all copies of one request's Responder; makes the first
  // call win and posts the write onto the session's strand.
  class ResponderState {
   public:
    explicit ResponderState(std::shared_ptr<Session> session) : session_(std::move(session)) {}

    void Respond(HttpResponse response) {
      if (called_.exchange(true, std::memory_order_acq_rel)) return;
      // Only the first caller gets here; it releases the session once the write is posted.
      std::shared_ptr<Session> session = std::move(session_);
      Core& core = session->core();
      ReaderMutexLock lock(&core.mu);
      if (core.stopped) return;  // no I/O thread will run it: drop the response
      asio::post(session->executor(), [session, response = std::move(response)]() mutable {
        session->WriteResponse(std::move(response));
      });
    }

   private:
    std::atomic<bool> called_{false};
    std::shared_ptr<Session> session_;
  };

  std::shared_ptr<Core> core_;  // first: destroyed last, after the stream
  beast::tcp_stream stream_;
  const asio::any_io_executor executor_;  // the connection's strand
  std::string remote_address_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> header_parser_;
  std::optional<http::request_parser<http::string_body>> string_parser_;
  std::optional<http::request_parser<http::file_body>> file_parser_;
  std::shared_ptr<BodyFile> body_file_;  // the spooled body of the request being read
  uint64_t body_limit_ = 0;
  std::optional<http::response<http::string_body>> response_;
  // A streamed response being sent.
  std::shared_ptr<ResponseStream> body_stream_;
  std::optional<http::response<http::empty_body>> stream_header_;
  std::optional<http::response_serializer<http::empty_body>> stream_serializer_;
  std::string chunk_;
  http::response<http::empty_body> continue_response_;
  // The request being answered.
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_ = false;
  bool awaiting_response_ = false;
  bool close_after_write_ = false;
  bool linger_after_write_ = false;
  bool closed_ = false;
  // The body being read: when its header ended and how many bytes came since.
  bool reading_body_ = false;
  std::chrono::steady_clock::time_point body_start_;
  uint64_t body_received_ = 0;
};

// Answers a connection over the cap with a 503 and closes it: writes the response,
// half-closes, and drains what the client sends for a short while (so it reads the
// answer instead of a reset). Owned by its pending operations.
class Rejection : public std::enable_shared_from_this<Rejection> {
 public:
  explicit Rejection(tcp::socket socket) : stream_(std::move(socket)) {}

  void Start() {
    static const std::string kResponse = [] {
      const std::string body = R"({"error":"too many connections; try again later"})";
      return absl::StrCat(
          "HTTP/1.1 503 Service Unavailable\r\nServer: infera\r\n"
          "Content-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n"
          "Content-Length: ",
          body.size(), "\r\n\r\n", body);
    }();
    stream_.expires_after(kLingerTimeout);
    asio::async_write(stream_, asio::buffer(kResponse),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->stream_.close();
                        beast::error_code ignored;
                        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                        self->Drain();
                      });
  }

 private:
  void Drain() {
    stream_.async_read_some(asio::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->stream_.close();
                              self->Drain();  // same deadline: bounded by kLingerTimeout
                            });
  }

  beast::tcp_stream stream_;
  std::array<char, 4096> drain_{};
};

void RunIoContext(asio::io_context& ioc) {
  while (true) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "infera: exception on an HTTP I/O thread: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "infera: unknown exception on an HTTP I/O thread\n");
    }
  }
}

}  // namespace

// HttpServer::Impl: the acceptor (on its own strand) and the I/O threads. Create, Start
// and Stop run on the controlling thread; OnAccept and the retry timer on the strand.
class HttpServer::Impl {
 public:
  Impl(const HttpServerOptions& options, const Router* router)
      : options_(options),
        max_connections_(options.max_connections > 0 ? options.max_connections
                                                     : DefaultMaxConnections()),
        core_(std::make_shared<Core>(options.io_threads, router, options)),
        acceptor_(asio::make_strand(core_->ioc)),
        accept_retry_timer_(acceptor_.get_executor()) {}

  ~Impl() { Stop(); }

  Status Listen() {
    beast::error_code ec;
    asio::ip::address address = asio::ip::make_address(options_.host, ec);
    if (ec) {
      tcp::resolver resolver(core_->ioc);
      const auto results = resolver.resolve(options_.host, std::to_string(options_.port), ec);
      if (ec || results.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("cannot resolve the HTTP host '", options_.host, "': ", ec.message()));
      }
      address = results.begin()->endpoint().address();
    }
    const tcp::endpoint endpoint(address, options_.port);
    const std::string where = absl::StrCat(options_.host, ":", options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen for HTTP on ", where, ": ", ec.message()));
    }
    const tcp::endpoint bound = acceptor_.local_endpoint(ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot read the bound HTTP port on ", where, ": ", ec.message()));
    }
    port_ = bound.port();
    return absl::OkStatus();
  }

  void Start() {
    if (started_ || stopped_) return;
    started_ = true;
    DoAccept();  // no I/O thread runs yet: safe to touch the acceptor here
    threads_.reserve(options_.io_threads);
    for (int i = 0; i < options_.io_threads; ++i) {
      threads_.emplace_back([core = core_] { RunIoContext(core->ioc); });
    }
  }

  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    std::vector<std::shared_ptr<Session>> sessions;
    {
      WriterMutexLock lock(&core_->mu);
      core_->stopped = true;
      for (auto& [raw, weak] : core_->sessions) {
        if (auto session = weak.lock()) sessions.push_back(std::move(session));
      }
    }
    if (!started_) {
      beast::error_code ignored;
      acceptor_.close(ignored);
      return;
    }
    // Without the guard the I/O threads could run out of work (and return) as soon as
    // the acceptor is closed, before the closes of idle sessions are posted.
    auto work = asio::make_work_guard(core_->ioc);
    asio::post(acceptor_.get_executor(), [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
      accept_retry_timer_.cancel();
    });
    for (auto& session : sessions) {
      asio::post(session->executor(), [session] { session->Close(); });
    }
    sessions.clear();
    work.reset();
    // With the acceptor and every connection closed the I/O threads run out of work.
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
  }

  uint16_t port() const { return port_; }

  void AddConnectionGauge(MetricsRegistry& metrics) {
    metrics.AddGaugeCallback("infera_http_connections_open",
                             "HTTP connections open now (see max_connections).", {},
                             [core = core_] {
                               return std::vector<std::pair<LabelValues, double>>{
                                   {{}, static_cast<double>(core->open_connections.load())}};
                             });
    metrics.AddGaugeCallback(
        "infera_http_connections_max", "The cap on open HTTP connections (server.max_connections).",
        {}, [cap = max_connections_] {
          return std::vector<std::pair<LabelValues, double>>{{{}, static_cast<double>(cap)}};
        });
  }

 private:
  void DoAccept() {
    acceptor_.async_accept(asio::make_strand(core_->ioc),
                           beast::bind_front_handler(&Impl::OnAccept, this));
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (!acceptor_.is_open() || ec == asio::error::operation_aborted) return;
    if (ec) {
      // EMFILE/ENFILE and friends: counted, and logged at most once a second (the
      // acceptor retries every kAcceptRetryDelay while it lasts).
      ++accept_failures_;
      if (core_->accept_errors != nullptr) core_->accept_errors->Get({ec.message()}).Increment();
      const auto now = std::chrono::steady_clock::now();
      if (now - last_accept_log_ >= std::chrono::seconds(1)) {
        last_accept_log_ = now;
        Log(LogLevel::kWarning, "accept_failed",
            {{"error", ec.message()},
             {"failures", std::to_string(accept_failures_)},
             {"connections", std::to_string(core_->open_connections.load())}});
      }
      accept_retry_timer_.expires_after(kAcceptRetryDelay);
      accept_retry_timer_.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec && acceptor_.is_open()) DoAccept();
      });
      return;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (core_->open_connections.load(std::memory_order_relaxed) >= max_connections_) {
      if (core_->rejected != nullptr) core_->rejected->Increment();
      std::make_shared<Rejection>(std::move(socket))->Start();
      DoAccept();
      return;
    }
    auto session = std::make_shared<Session>(core_, std::move(socket));
    bool accepted = false;
    {
      WriterMutexLock lock(&core_->mu);
      if (!core_->stopped) {
        core_->sessions.emplace(session.get(), session);
        accepted = true;
      }
    }
    if (accepted) session->Start();
    DoAccept();
  }

  const HttpServerOptions options_;
  const int64_t max_connections_;
  std::shared_ptr<Core> core_;  // before the acceptor: the io_context outlives it
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_timer_;
  uint16_t port_ = 0;
  std::vector<std::thread> threads_;
  bool started_ = false;
  bool stopped_ = false;
  // Accept failures (on the acceptor's strand only).
  uint64_t accept_failures_ = 0;
  std::chrono::steady_clock::time_point last_accept_log_{};
};

int DefaultMaxConnections() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 16384;
  const auto soft = static_cast<int64_t>(std::min<rlim_t>(limit.rlim_cur, 1 << 24));
  return static_cast<int>(std::max<int64_t>(16, soft - std::max<int64_t>(64, soft / 4)));
}

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(const HttpServerOptions& options,
                                                         const Router* router) {
  if (router == nullptr) return absl::InvalidArgumentError("HttpServer needs a router");
  if (options.io_threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("io_threads must be at least 1, got ", options.io_threads));
  }
  if (options.idle_timeout_s < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("idle_timeout_s must be at least 1, got ", options.idle_timeout_s));
  }
  if (options.header_timeout_s < 1 || options.body_timeout_s < 1 || options.max_connections < 0) {
    return absl::InvalidArgumentError(
        "header_timeout_s and body_timeout_s must be at least 1, max_connections not negative");
  }
  auto impl = std::make_unique<Impl>(options, router);
  RETURN_IF_ERROR(impl->Listen());
  if (options.metrics != nullptr) impl->AddConnectionGauge(*options.metrics);
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Start() { impl_->Start(); }

void HttpServer::Stop() { impl_->Stop(); }

uint16_t HttpServer::port() const { return impl_->port(); }

}  // namespace infera
