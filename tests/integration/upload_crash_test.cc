// A server killed with SIGKILL in the middle of a large upload (issue 22 item 2): once
// while the body is being spooled, once while its images are being stored. After each
// restart the temp folder holds nothing the killed server wrote, and the client's
// retry of the same upload leaves every image exactly once (uploads are idempotent by
// content and name: Store::AddSourceFileOnce), telling which were there already.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "api/http_client.h"
#include "common/unique_fd.h"
#include "imaging/codec.h"
#include "support/child_process.h"
#include "support/multipart_body.h"
#include "support/test_env.h"

namespace infera::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

uint16_t StartServe(const fs::path& config, Child* child) {
  *child = Spawn({InferaBinary().string(), "serve", "--config", config.string(), "--port", "0"});
  const std::string line = ReadUntil(child->out, "\n", std::chrono::seconds(120));
  const size_t colon = line.rfind(':');
  if (line.find("listening") == std::string::npos || colon == std::string::npos) {
    ADD_FAILURE() << "serve did not start: " << line;
    return 0;
  }
  return static_cast<uint16_t>(std::stoi(line.substr(colon + 1)));
}

void Kill(Child& child) {
  kill(child.pid, SIGKILL);
  EXPECT_EQ(WaitExit(child.pid, std::chrono::seconds(10)), -1);
  close(child.out);
  close(child.err);
}

// The files of the temp folders.
std::vector<std::string> TempFiles(const fs::path& storage) {
  std::vector<std::string> out;
  for (const fs::path& dir : {storage / "tmp", storage / "blobs" / "tmp"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      out.push_back(e.path().filename().string());
    }
  }
  return out;
}

// Distinct incompressible gray images, so the body is large and each image takes a
// moment to decode and store.
std::vector<FormPart> Images(int count, int side) {
  std::vector<FormPart> parts;
  std::mt19937 rng(7);
  for (int i = 0; i < count; ++i) {
    Image image = MakeImage(side, side, 1, PixelType::kUInt8);
    for (std::byte& b : image.data) b = static_cast<std::byte>(rng() & 0xff);
    StatusOr<std::vector<std::byte>> png = EncodePng(image);
    EXPECT_TRUE(png.ok());
    parts.push_back({"files", "img" + std::to_string(i) + ".png",
                     std::string(reinterpret_cast<const char*>(png->data()), png->size())});
  }
  return parts;
}

// Sends the request head and the first `send` bytes of `body` on a new connection and
// leaves it open (the returned descriptor).
UniqueFd SendPartially(uint16_t port, const std::string& path, const std::string& body,
                       size_t send) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string head =
      "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + MultipartContentType() +
      "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  const std::string data = head + body.substr(0, send);
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd.get(), data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  EXPECT_EQ(off, data.size());
  return fd;
}

int64_t FileCount(HttpClient& client, int64_t dataset) {
  StatusOr<HttpResponse> r = client.Send("GET", "/api/datasets/" + std::to_string(dataset));
  if (!r.ok() || r->status != 200) return -1;
  return json::parse(r->body)["files"].size();
}

TEST(UploadCrashTest, KilledMidUploadLeavesNoTempFilesAndTheRetryStoresEachImageOnce) {
  TempDir dir;
  const fs::path config = dir.path() / "config.yaml";
  const fs::path storage = dir.path() / "data";
  WriteFile(config, "server: {access_log: false}\nauth: {enabled: false}\n");
  constexpr int kImages = 40;
  const std::string body = MultipartBody(Images(kImages, 1024));
  ASSERT_GT(body.size(), size_t{30} << 20);
  const std::string path = "/api/datasets/1/files";

  // 1. Killed while the body is spooled: a spool file of the part received is left.
  Child first;
  uint16_t port = StartServe(config, &first);
  ASSERT_NE(port, 0);
  {
    HttpClient client;
    ASSERT_TRUE(client.Connect("127.0.0.1", port).ok());
    StatusOr<HttpResponse> created = client.Send("POST", "/api/datasets", R"({"name": "big"})");
    ASSERT_TRUE(created.ok());
    ASSERT_EQ(created->status, 201) << created->body;
    ASSERT_EQ(json::parse(created->body)["id"], 1);
  }
  UniqueFd partial = SendPartially(port, path, body, body.size() / 2);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  uintmax_t spooled = 0;
  while (std::chrono::steady_clock::now() < deadline && spooled < body.size() / 2) {
    spooled = 0;
    for (const std::string& name : TempFiles(storage)) {
      std::error_code ec;
      spooled = std::max(spooled, fs::file_size(storage / "tmp" / name, ec));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GE(spooled, body.size() / 2) << "the body was not spooled";
  Kill(first);
  partial = UniqueFd();
  ASSERT_FALSE(TempFiles(storage).empty());

  // 2. Restarted: the spool file is gone. Killed again once some images are stored.
  Child second;
  port = StartServe(config, &second);
  ASSERT_NE(port, 0);
  EXPECT_TRUE(TempFiles(storage).empty()) << ::testing::PrintToString(TempFiles(storage));
  UniqueFd whole = SendPartially(port, path, body, body.size());
  HttpClient watcher;
  ASSERT_TRUE(watcher.Connect("127.0.0.1", port).ok());
  int64_t stored = 0;
  const auto deadline2 = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline2 && stored < 3) {
    stored = FileCount(watcher, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Kill(second);
  whole = UniqueFd();
  ASSERT_GE(stored, 3);
  ASSERT_LT(stored, kImages) << "the upload finished before the kill; make it larger";
  EXPECT_FALSE(TempFiles(storage).empty());  // the spooled body and the parts being stored

  // 3. Restarted: no temp file left; the client's retry stores each image once.
  Child third;
  port = StartServe(config, &third);
  ASSERT_NE(port, 0);
  EXPECT_TRUE(TempFiles(storage).empty()) << ::testing::PrintToString(TempFiles(storage));
  HttpClient client;
  ASSERT_TRUE(client.Connect("127.0.0.1", port).ok());
  const int64_t before_retry = FileCount(client, 1);
  EXPECT_GE(before_retry, stored);  // images stored before the kill were kept
  StatusOr<HttpResponse> retry =
      client.Send("POST", path, body, {{"Content-Type", MultipartContentType()}});
  ASSERT_TRUE(retry.ok());
  ASSERT_EQ(retry->status, 201) << retry->body.substr(0, 500);
  const json answer = json::parse(retry->body);
  ASSERT_EQ(answer["files"].size(), static_cast<size_t>(kImages));
  EXPECT_TRUE(answer["errors"].empty()) << answer["errors"].dump();
  int64_t already = 0;
  std::set<std::string> names;
  for (const json& f : answer["files"]) {
    already += f.value("already_stored", false) ? 1 : 0;
    names.insert(f["filename"].get<std::string>());
  }
  EXPECT_EQ(already, before_retry);  // the client can tell what had landed
  EXPECT_EQ(names.size(), static_cast<size_t>(kImages));
  EXPECT_EQ(FileCount(client, 1), kImages);  // no img3_1.png duplicates
  for (const std::string& name : names) EXPECT_EQ(name.find("_1."), std::string::npos) << name;
  kill(third.pid, SIGTERM);
  EXPECT_EQ(WaitExit(third.pid, std::chrono::seconds(30)), 0);
  close(third.out);
  close(third.err);
  EXPECT_TRUE(TempFiles(storage).empty()) << ::testing::PrintToString(TempFiles(storage));
}

}  // namespace
}  // namespace infera::testing
