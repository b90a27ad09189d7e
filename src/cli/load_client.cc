#include "cli/load_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "common/ascii.h"
#include "common/strings.h"

namespace infera {

namespace {

constexpr size_t kMaxHead = 64 * 1024;
constexpr size_t kReadChunk = 64 * 1024;

template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  return absl::SimpleAtoi(absl::string_view(text.data(), text.size()), out);
}

std::string_view StripSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The status code of "HTTP/1.x NNN reason"; -1 when the line is not one.
int ParseStatusLine(std::string_view line) {
  if (!line.starts_with("HTTP/1.") || line.size() < 12 || line[8] != ' ') return -1;
  int code = 0;
  if (!ParseNumber(line.substr(9, 3), &code) || code < 100 || code > 999) return -1;
  if (line.size() > 12 && line[12] != ' ') return -1;
  return code;
}

}  // namespace

StatusOr<std::unique_ptr<LoadClient>> LoadClient::Open(
    std::string_view host, uint16_t port, std::string_view method, std::string_view target,
    const HttpHeaders& headers, std::string_view body, std::chrono::milliseconds timeout) {
  if (method == "HEAD") {
    return absl::InvalidArgumentError("LoadClient: HEAD responses have no body to frame");
  }
  std::unique_ptr<LoadClient> client(new LoadClient());
  client->address_ = host == "localhost" ? std::string("127.0.0.1") : std::string(host);
  in6_addr probe{};
  if (inet_pton(AF_INET, client->address_.c_str(), &probe) == 1) {
    client->family_ = AF_INET;
  } else if (inet_pton(AF_INET6, client->address_.c_str(), &probe) == 1) {
    client->family_ = AF_INET6;
  } else {
    return absl::InvalidArgumentError(
        StrCat("LoadClient: '", host, "' is not an IP address literal"));
  }
  client->port_ = port;
  client->timeout_ = timeout;
  std::string& r = client->request_;
  r += StrCat(method, " ", target, " HTTP/1.1\r\n");
  bool has_host = false;
  for (const auto& [name, value] : headers) {
    if (EqualsIgnoreCase(name, "host")) has_host = true;
    if (EqualsIgnoreCase(name, "content-length")) continue;
    r += StrCat(name, ": ", value, "\r\n");
  }
  if (!has_host) r += StrCat("Host: ", host, ":", port, "\r\n");
  r += StrCat("Content-Length: ", body.size(), "\r\n\r\n", body);
  RETURN_IF_ERROR(client->Connect());
  return client;
}

LoadClient::~LoadClient() { CloseSocket(); }

void LoadClient::CloseSocket() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  reusable_ = false;
}

Status LoadClient::Connect() {
  CloseSocket();
  const int fd = socket(family_, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(StrCat("socket: ", std::strerror(errno)));
  fd_ = fd;
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout_.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout_.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  int rc = -1;
  if (family_ == AF_INET) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    inet_pton(AF_INET, address_.c_str(), &a.sin_addr);
    rc = connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a));
  } else {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port_);
    inet_pton(AF_INET6, address_.c_str(), &a.sin6_addr);
    rc = connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a));
  }
  if (rc != 0) {
    const int err = errno;
    CloseSocket();
    return absl::UnavailableError(
        StrCat("connect ", address_, ":", port_, ": ", std::strerror(err)));
  }
  ++connections_opened_;
  return absl::OkStatus();
}

StatusOr<int> LoadClient::RoundTrip() {
  for (int attempt = 0;; ++attempt) {
    if (fd_ < 0) RETURN_IF_ERROR(Connect());
    const bool reused = reusable_;
    bool got_some = false;
    StatusOr<int> status = Exchange(&got_some);
    if (status.ok()) return status;
    CloseSocket();
    // A kept-alive connection the server closed meanwhile: resend once on a new one.
    if (reused && !got_some && attempt == 0 && absl::IsUnavailable(status.status())) continue;
    return status;
  }
}

StatusOr<int> LoadClient::Exchange(bool* got_some) {
  const auto io_error = [this](const char* what, int err) -> Status {
    if (err == EAGAIN || err == EWOULDBLOCK) {
      return absl::DeadlineExceededError(StrCat("HTTP ", address_, ":", port_, ": no ", what,
                                                " within ", timeout_.count(), " ms"));
    }
    return absl::UnavailableError(
        StrCat("HTTP ", address_, ":", port_, ": ", what, ": ", std::strerror(err)));
  };
  for (size_t sent = 0; sent < request_.size();) {
    const ssize_t n = send(fd_, request_.data() + sent, request_.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("send", errno);
    }
    sent += static_cast<size_t>(n);
  }
  size_t filled = 0;
  size_t head_end = std::string::npos;  // offset of the body
  size_t total = 0;                     // head + body, once the head is parsed
  int code = -1;
  bool close_after = false;
  for (;;) {
    if (buffer_.size() < filled + kReadChunk) buffer_.resize(filled + kReadChunk);
    const ssize_t n = recv(fd_, buffer_.data() + filled, buffer_.size() - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("response", errno);
    }
    if (n == 0) {
      return absl::UnavailableError(
          StrCat("HTTP ", address_, ":", port_, ": connection closed before a whole response"));
    }
    *got_some = true;
    const size_t before = filled;
    filled += static_cast<size_t>(n);
    if (head_end == std::string::npos) {
      const std::string_view seen(buffer_.data(), filled);
      const size_t from = before >= 3 ? before - 3 : 0;
      const size_t end = seen.find("\r\n\r\n", from);
      if (end == std::string_view::npos) {
        if (filled > kMaxHead) return absl::InternalError("response head larger than 64 KiB");
        continue;
      }
      head_end = end + 4;
      const std::string_view head = seen.substr(0, end);
      const size_t line_end = head.find("\r\n");
      code = ParseStatusLine(head.substr(0, line_end));
      if (code < 0) {
        return absl::InternalError(
            StrCat("malformed status line: '", head.substr(0, line_end), "'"));
      }
      bool has_length = false;
      size_t length = 0;
      for (size_t at = line_end; at != std::string_view::npos && at < head.size();) {
        at += 2;
        const size_t next = head.find("\r\n", at);
        const std::string_view line =
            head.substr(at, next == std::string_view::npos ? std::string_view::npos : next - at);
        at = next;
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos) {
          return absl::InternalError(StrCat("malformed header line: '", line, "'"));
        }
        const std::string_view name = line.substr(0, colon);
        const std::string_view value = StripSpaces(line.substr(colon + 1));
        if (EqualsIgnoreCase(name, "content-length")) {
          if (!ParseNumber(value, &length)) {
            return absl::InternalError(StrCat("malformed Content-Length: '", value, "'"));
          }
          has_length = true;
        } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
          return absl::InternalError("responses with Transfer-Encoding are not supported");
        } else if (EqualsIgnoreCase(name, "connection")) {
          close_after = AsciiStrToLower(value).find("close") != std::string::npos;
        }
      }
      if (!has_length) return absl::InternalError("response without Content-Length");
      total = head_end + length;
    }
    if (filled > total) {
      return absl::InternalError("more bytes than the response's Content-Length");
    }
    if (filled == total) break;
  }
  body_begin_ = head_end;
  body_size_ = total - head_end;
  if (close_after) {
    CloseSocket();
  } else {
    reusable_ = true;
  }
  return code;
}

std::string_view LoadClient::last_body() const {
  return std::string_view(buffer_.data() + body_begin_, body_size_);
}

}  // namespace infera
