// LoadClient against a scripted peer: a real listening socket on 127.0.0.1 (port 0) whose
// connections each run one script (read requests, write responses byte-exact, close).
#include "cli/load_client.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/status_matchers.h"

namespace infera {
namespace {

using ::testing::HasSubstr;

// Accepts connections one after the other (each for at most 10 s) and runs script i on
// the i-th; the thread is joined by the destructor.
class ScriptedPeer {
 public:
  using Script = std::function<void(int fd)>;

  explicit ScriptedPeer(std::vector<Script> scripts) : scripts_(std::move(scripts)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(listen(listen_fd_, 8), 0);
    socklen_t len = sizeof(a);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      for (const Script& script : scripts_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (poll(&p, 1, 10000) <= 0) return;
        const int fd = accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) return;
        script(fd);
        close(fd);
        ++served_;
      }
    });
  }
  ~ScriptedPeer() {
    thread_.join();
    close(listen_fd_);
  }
  uint16_t port() const { return port_; }

  // Reads one request (head, then Content-Length bytes of body) from `fd`; empty when
  // the client closed first.
  static std::string ReadRequest(int fd) {
    std::string data;
    char buf[4096];
    size_t want = std::string::npos;
    while (want == std::string::npos || data.size() < want) {
      const ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) return {};
      data.append(buf, static_cast<size_t>(n));
      const size_t end = data.find("\r\n\r\n");
      if (want == std::string::npos && end != std::string::npos) {
        size_t length = 0;
        const size_t at = data.find("Content-Length: ");
        if (at != std::string::npos && at < end) {
          const size_t eol = data.find("\r\n", at);
          EXPECT_TRUE(absl::SimpleAtoi(data.substr(at + 16, eol - at - 16), &length));
        }
        want = end + 4 + length;
      }
    }
    return data;
  }
  static void Write(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }

 private:
  std::vector<Script> scripts_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> served_{0};
  std::thread thread_;
};

constexpr std::chrono::milliseconds kTimeout{5000};

StatusOr<std::unique_ptr<LoadClient>> OpenPost(uint16_t port,
                                               std::chrono::milliseconds timeout = kTimeout) {
  return LoadClient::Open("127.0.0.1", port, "POST", "/predict/m",
                          {{"content-type", "application/json"}}, R"({"image":"x"})", timeout);
}

TEST(LoadClientTest, KeepAliveRoundTripsSendTheSameRequestOnOneConnection) {
  std::vector<std::string> seen;
  ScriptedPeer peer({[&](int fd) {
    for (int i = 0; i < 3; ++i) {
      seen.push_back(ScriptedPeer::ReadRequest(fd));
      ScriptedPeer::Write(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                                  std::to_string(5 + i) + "\r\n\r\nhello" + std::string(i, '!'));
    }
  }});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LoadClient> client, OpenPost(peer.port()));
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(int code, client->RoundTrip());
    EXPECT_EQ(code, 200);
    EXPECT_EQ(client->last_body(), "hello" + std::string(i, '!'));
  }
  EXPECT_EQ(client->connections_opened(), 1);
  client.reset();
  ASSERT_EQ(seen.size(), 3u);
  const std::string want = "POST /predict/m HTTP/1.1\r\ncontent-type: application/json\r\nHost: " +
                           std::string("127.0.0.1:") + std::to_string(peer.port()) +
                           "\r\nContent-Length: 13\r\n\r\n{\"image\":\"x\"}";
  for (const std::string& request : seen) EXPECT_EQ(request, want);
}

TEST(LoadClientTest, AResponseWrittenInPiecesIsReadWhole) {
  ScriptedPeer peer({[](int fd) {
    ScriptedPeer::ReadRequest(fd);
    const std::string response =
        "HTTP/1.1 404 Not Found\r\ncontent-length: 26\r\n\r\n{\"error\":\"no such model\"}\n";
    // Cut inside the status line, inside "\r\n\r\n" and inside the body.
    size_t from = 0;
    for (size_t cut :
         {std::string::size_type{5}, response.find("\r\n\r\n") + 2, response.size() - 3}) {
      ScriptedPeer::Write(fd, std::string_view(response).substr(from, cut - from));
      from = cut;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ScriptedPeer::Write(fd, std::string_view(response).substr(response.size() - 3));
  }});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LoadClient> client, OpenPost(peer.port()));
  ASSERT_OK_AND_ASSIGN(int code, client->RoundTrip());
  EXPECT_EQ(code, 404);
  EXPECT_EQ(client->last_body(), "{\"error\":\"no such model\"}\n");
}

TEST(LoadClientTest, ConnectionCloseAndAClosedIdleConnectionReconnect) {
  const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  ScriptedPeer peer({
      // Asks for the connection to be closed.
      [&](int fd) {
        ScriptedPeer::ReadRequest(fd);
        ScriptedPeer::Write(fd,
                            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
      },
      // Answers once, then closes the kept-alive connection without saying so.
      [&](int fd) {
        ScriptedPeer::ReadRequest(fd);
        ScriptedPeer::Write(fd, ok);
      },
      [&](int fd) {
        ScriptedPeer::ReadRequest(fd);
        ScriptedPeer::Write(fd, ok);
      },
  });
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LoadClient> client, OpenPost(peer.port()));
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    ASSERT_OK_AND_ASSIGN(int code, client->RoundTrip());
    EXPECT_EQ(code, 200);
  }
  EXPECT_EQ(client->connections_opened(), 3);
}

TEST(LoadClientTest, ResponsesItCannotFrameAreErrors) {
  struct Case {
    std::string response;
    absl::StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
       absl::StatusCode::kInternal, "Transfer-Encoding"},
      {"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nok", absl::StatusCode::kInternal,
       "without Content-Length"},
      {"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n", absl::StatusCode::kInternal,
       "malformed status line"},
      {"SSH-2.0-OpenSSH\r\n\r\n", absl::StatusCode::kInternal, "malformed status line"},
      {"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", absl::StatusCode::kInternal,
       "malformed Content-Length"},
      {"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", absl::StatusCode::kInternal,
       "malformed header line"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", absl::StatusCode::kUnavailable,
       "closed before a whole response"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", absl::StatusCode::kInternal,
       "more bytes"},
      {std::string(70 * 1024, 'a'), absl::StatusCode::kInternal, "larger than 64 KiB"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.response.substr(0, 40));
    ScriptedPeer peer({[&](int fd) {
      ScriptedPeer::ReadRequest(fd);
      ScriptedPeer::Write(fd, c.response);
      shutdown(fd, SHUT_WR);
      char drain[256];
      while (recv(fd, drain, sizeof(drain), 0) > 0) {
      }
    }});
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<LoadClient> client, OpenPost(peer.port()));
    StatusOr<int> r = client->RoundTrip();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), c.code) << r.status();
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(c.message));
  }
}

TEST(LoadClientTest, APeerThatNeverAnswersTimesOut) {
  std::atomic<bool> done{false};
  ScriptedPeer peer({[&](int fd) {
    ScriptedPeer::ReadRequest(fd);
    for (int i = 0; i < 200 && !done; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }});
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LoadClient> client,
                       OpenPost(peer.port(), std::chrono::milliseconds(200)));
  const auto start = std::chrono::steady_clock::now();
  StatusOr<int> r = client->RoundTrip();
  done = true;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(LoadClientTest, OpenRefusesWhatItCannotReach) {
  // A port nothing listens on: bind one, close it, connect to it.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  EXPECT_EQ(OpenPost(ntohs(a.sin_port)).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(LoadClient::Open("example.org", 80, "GET", "/", {}, "", kTimeout).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadClient::Open("127.0.0.1", 80, "HEAD", "/", {}, "", kTimeout).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infera
