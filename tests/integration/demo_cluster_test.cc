// `make demo-cluster` end to end: scripts/demo-cluster.sh (what the make target runs)
// starts one PostgreSQL, three real `infera serve` nodes (all at once, each with the
// first admin's password) and HAProxy in front, on free ports (PORT, NODE_PORTS) in a
// temp folder (DIR). Through the balancer: the web page loads, the admin logs in, a
// prediction runs, and each node answers with a token another node issued. Then
// `make demo-cluster-stop` stops it all: no process of it is left and no port answers.
//
// The script runs with its output on a pipe read to its end: a daemon that kept a
// descriptor of the caller would hold the pipe open and the read would never end (the
// script closes what it inherited and redirects its daemons; bounded here). Its own
// ctest entry (label integration): about 10-20 s.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "api/http_client.h"
#include "common/base64.h"
#include "support/child_process.h"
#include "support/status_matchers.h"
#include "support/test_env.h"

namespace infera::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ::testing::HasSubstr;

constexpr char kPassword[] = "demo-cluster-pw";

// `n` distinct ports that were free a moment ago (bound to port 0 together, then closed).
std::vector<uint16_t> FreePorts(int n) {
  std::vector<int> fds;
  std::vector<uint16_t> ports;
  for (int i = 0; i < n; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot bind a port";
      if (fd >= 0) ::close(fd);
      break;
    }
    fds.push_back(fd);
    ports.push_back(ntohs(addr.sin_port));
  }
  for (int fd : fds) ::close(fd);
  return ports;
}

// Whether `pid` is a live process (a zombie left for init to reap is not).
bool Running(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() || text[paren + 2] != 'Z';
}

// Whether something accepts connections on 127.0.0.1:port.
bool Listening(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

pid_t PidIn(const fs::path& file) {
  std::ifstream in(file);
  long pid = 0;
  in >> pid;
  return static_cast<pid_t>(pid);
}

// One request on a fresh connection (so HAProxy's round robin moves to the next node).
HttpResponse Send(uint16_t port, const std::string& method, const std::string& target,
                  const std::string& body = "", const HttpHeaders& headers = {}) {
  HttpClient client(std::chrono::seconds(30));
  Status connected = client.Connect("127.0.0.1", port);
  EXPECT_TRUE(connected.ok()) << connected;
  if (!connected.ok()) return HttpResponse{0, "", {}, "", nullptr};
  StatusOr<HttpResponse> r = client.Send(method, target, body, headers);
  EXPECT_TRUE(r.ok()) << method << " " << target << ": " << r.status();
  return r.ok() ? *r : HttpResponse{0, "", {}, "", nullptr};
}

class DemoCluster {
 public:
  DemoCluster() : dir_(tmp_.path() / "cluster"), repo_(tmp_.path() / "repo") {
    CopyModel("tiny_cls", repo_);
    ports_ = FreePorts(4);
  }
  ~DemoCluster() {
    if (started_) Stop();  // a failed test still leaves nothing running
  }

  const std::vector<uint16_t>& ports() const { return ports_; }
  const fs::path& dir() const { return dir_; }

  // scripts/demo-cluster.sh start, its output on a pipe read to the end (bounded).
  RunResult Start() {
    started_ = true;
    std::vector<std::string> args = {"/usr/bin/env",
                                     "DIR=" + dir_.string(),
                                     "REPO=" + repo_.string(),
                                     "INFERA=" + InferaBinary().string(),
                                     "HOST=127.0.0.1",
                                     "PORT=" + std::to_string(ports_[0]),
                                     "NODE_PORTS=" + std::to_string(ports_[1]) + " " +
                                         std::to_string(ports_[2]) + " " +
                                         std::to_string(ports_[3]),
                                     std::string("DEMO_PASSWORD=") + kPassword,
                                     Script().string(),
                                     "start"};
    return RunToExit(args, std::chrono::seconds(120));
  }

  // make demo-cluster-stop on this cluster's folder.
  RunResult Stop() {
    started_ = false;
    return RunToExit({"/usr/bin/make", "--no-print-directory", "-C", INFERA_SOURCE_DIR,
                      "demo-cluster-stop", "DEMO_CLUSTER_DIR=" + dir_.string()},
                     std::chrono::seconds(120));
  }

 private:
  static fs::path Script() { return fs::path(INFERA_SOURCE_DIR) / "scripts" / "demo-cluster.sh"; }

  TempDir tmp_;
  const fs::path dir_;
  const fs::path repo_;
  std::vector<uint16_t> ports_;
  bool started_ = false;
};

TEST(DemoClusterTest, ThreeNodesBehindHaproxyServeThePageLoginAndPredictionsThenStopClean) {
  DemoCluster cluster;
  ASSERT_EQ(cluster.ports().size(), 4u);
  const uint16_t lb = cluster.ports()[0];
  const auto started_at = std::chrono::steady_clock::now();
  const RunResult start = cluster.Start();
  ASSERT_EQ(start.code, 0) << start.out << start.err;
  EXPECT_THAT(start.out, HasSubstr("infera cluster: http://127.0.0.1:" + std::to_string(lb)));
  EXPECT_LT(std::chrono::steady_clock::now() - started_at, std::chrono::seconds(100))
      << "the script's output did not end with it";

  // The processes it started, for the check after the stop.
  std::vector<pid_t> pids = {PidIn(cluster.dir() / "haproxy.pid")};
  for (int i = 1; i <= 3; ++i) {
    pids.push_back(PidIn(cluster.dir() / ("node" + std::to_string(i)) / "infera.pid"));
  }
  pids.push_back(PidIn(cluster.dir() / "pg" / "data" / "postmaster.pid"));
  for (pid_t pid : pids) EXPECT_TRUE(Running(pid)) << pid;

  // The web page, through the balancer.
  HttpResponse page = Send(lb, "GET", "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(page.body, HasSubstr("<html"));

  // The admin all nodes raced to create logs in through the balancer; the token works on
  // every node (one signing secret) whichever issued it.
  HttpResponse login = Send(lb, "POST", "/api/auth/login",
                            json{{"username", "admin"}, {"password", kPassword}}.dump(),
                            {{"content-type", "application/json"}});
  ASSERT_EQ(login.status, 200) << login.body;
  const std::string token = json::parse(login.body)["access_token"];
  const HttpHeaders auth = {{"authorization", "Bearer " + token},
                            {"content-type", "application/json"}};
  for (size_t i = 1; i < cluster.ports().size(); ++i) {
    HttpResponse users = Send(cluster.ports()[i], "GET", "/api/users", "", auth);
    ASSERT_EQ(users.status, 200) << "node " << i << ": " << users.body;
    const json list = json::parse(users.body, nullptr, false);
    const json& rows = list.is_object() ? list.value("users", json::array()) : list;
    int admins = 0;
    for (const json& u : rows) admins += u.value("username", "") == "admin" ? 1 : 0;
    EXPECT_EQ(rows.size(), 1u) << users.body;
    EXPECT_EQ(admins, 1) << users.body;
  }

  // Predictions through the balancer (round robin: three in a row reach every node).
  const std::string image = ReadFile(TestModelsDir() / "images" / "disk.png");
  const std::string body =
      json{{"image", Base64Encode(reinterpret_cast<const uint8_t*>(image.data()), image.size())}}
          .dump();
  for (int i = 0; i < 3; ++i) {
    HttpResponse predicted = Send(lb, "POST", "/predict/tiny_cls", body, auth);
    ASSERT_EQ(predicted.status, 200) << predicted.body;
    EXPECT_THAT(predicted.body, HasSubstr("\"label\""));
  }

  // make demo-cluster-stop: nothing left running, no port answering.
  const RunResult stop = cluster.Stop();
  EXPECT_EQ(stop.code, 0) << stop.out << stop.err;
  EXPECT_THAT(stop.out, HasSubstr("infera cluster stopped"));
  for (pid_t pid : pids) EXPECT_FALSE(Running(pid)) << "process " << pid << " is still running";
  for (uint16_t port : cluster.ports()) EXPECT_FALSE(Listening(port)) << port;
}

}  // namespace
}  // namespace infera::testing
