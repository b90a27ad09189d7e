// A store written by an earlier infera (schema version 3, before jobs of any kind and
// result files as rows: tests/store/v3_store, made by a real server — see its README)
// is opened by today's server, which migrates it in place. Everything the old server
// answered for its datasets, jobs, files and ZIP downloads is answered the same, its
// users and API keys still work, and new jobs run on it.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "api/http_client.h"
#include "archive/zip_reader.h"
#include "server/server.h"
#include "support/test_env.h"

namespace infera::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Every key of `before` is in `after` with an equal value (objects recursively; arrays
// element by element); `after` may have keys `before` lacks.
void ExpectSuperset(const json& before, const json& after, const std::string& where) {
  if (before.is_object()) {
    ASSERT_TRUE(after.is_object()) << where << ": " << after.dump();
    for (const auto& [key, value] : before.items()) {
      ASSERT_TRUE(after.contains(key)) << where << ": no '" << key << "' in " << after.dump();
      ExpectSuperset(value, after[key], where + "." + key);
    }
  } else if (before.is_array()) {
    ASSERT_TRUE(after.is_array()) << where;
    ASSERT_EQ(before.size(), after.size()) << where << ": " << after.dump();
    for (size_t i = 0; i < before.size(); ++i) {
      ExpectSuperset(before[i], after[i], where + "[" + std::to_string(i) + "]");
    }
  } else {
    EXPECT_EQ(before, after) << where;
  }
}

class StoreUpgradeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path fixture = fs::path(INFERA_SOURCE_DIR) / "tests/store/v3_store";
    expected_ = json::parse(ReadFile(fixture / "expected.json"));
    fs::create_directories(dir_.path() / "store");
    fs::copy(fixture / "infera.db", dir_.path() / "store/infera.db");
    fs::copy(fixture / "blobs", dir_.path() / "store/blobs", fs::copy_options::recursive);
    CopyModel("tiny_unet", dir_.path() / "repo");
    server_ = StartServer(
        dir_.path(), "model_repository: repo\nstorage: {path: store}\nauth: {enabled: true}\n");
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(client_.Connect("127.0.0.1", server_->port()).ok());
    HttpResponse login =
        Send("POST", "/api/auth/login", R"({"username": "admin", "password": "fixture-pass"})");
    ASSERT_EQ(login.status, 200) << login.body;
    token_ = json::parse(login.body)["access_token"];
  }

  HttpResponse Send(const std::string& method, const std::string& target,
                    const std::string& body = "", const std::string& token = "") {
    HttpHeaders headers;
    if (!token.empty() || !token_.empty()) {
      headers["Authorization"] = "Bearer " + (token.empty() ? token_ : token);
    }
    StatusOr<HttpResponse> r = client_.Send(method, target, body, headers);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : HttpResponse{0, "", {}, "", nullptr};
  }

  // name -> uncompressed size of every entry of a ZIP answer.
  std::map<std::string, uint64_t> ZipListing(const std::string& body) {
    TempDir tmp;
    WriteFile(tmp.path() / "job.zip", body);
    StatusOr<ZipReader> reader = ZipReader::Open(tmp.path() / "job.zip", ZipLimits{});
    EXPECT_TRUE(reader.ok()) << reader.status();
    std::map<std::string, uint64_t> out;
    if (!reader.ok()) return out;
    for (const ZipEntryInfo& e : reader->entries()) out[e.name] = e.size;
    return out;
  }

  TempDir dir_;
  json expected_;
  std::unique_ptr<Server> server_;
  HttpClient client_;
  std::string token_;
};

TEST_F(StoreUpgradeTest, AVersion3StoreServesItsRecordsAsBeforeAndRunsNewJobs) {
  // The same answers for every dataset, job and file the old server described.
  int paths = 0;
  for (const auto& [path, before] : expected_.items()) {
    if (!path.starts_with("/api/")) continue;
    HttpResponse r = Send("GET", path);
    ASSERT_EQ(r.status, 200) << path << ": " << r.body;
    ExpectSuperset(before, json::parse(r.body), path);
    ++paths;
  }
  EXPECT_EQ(paths, 33);

  // The ZIP downloads hold the same files (results.json: the same record, re-dumped).
  for (const auto& [path, listing] : expected_["zips"].items()) {
    HttpResponse r = Send("GET", path);
    ASSERT_EQ(r.status, 200) << path;
    std::map<std::string, uint64_t> got = ZipListing(r.body);
    std::map<std::string, uint64_t> want;
    for (const auto& entry : listing) want[entry[0].get<std::string>()] = entry[1].get<uint64_t>();
    want.erase("results.json");
    ASSERT_EQ(got.erase("results.json"), 1u) << path;
    EXPECT_EQ(got, want) << path;
  }
  // The masks themselves come back byte for byte (their blobs were kept).
  HttpResponse mask = Send("GET", "/api/files/8");
  ASSERT_EQ(mask.status, 200);
  EXPECT_EQ(mask.body.size(), expected_["/api/files/8/meta"]["size"].get<size_t>());

  // The old API key still authenticates.
  HttpResponse me = Send("GET", "/api/auth/me", "", expected_["api_key"].get<std::string>());
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(json::parse(me.body)["username"], "admin");

  // A new job on an old dataset runs, and its results are rows like any other.
  HttpResponse started =
      Send("POST", "/api/inferences/start", R"({"dataset_id": 1, "model_id": "tiny_unet"})");
  ASSERT_EQ(started.status, 202) << started.body;
  const int64_t id = json::parse(started.body)["inference_id"];
  EXPECT_EQ(id, 6);  // after the five old jobs
  json job;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    job = json::parse(Send("GET", "/api/inferences/6").body);
    if (job["status"] == "completed" || job["status"] == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(job["status"], "completed") << job.dump();
  ASSERT_EQ(job["results"].size(), 3u);
  for (const json& r : job["results"]) {
    EXPECT_TRUE(r["class_mask_id"].is_number()) << r.dump();
    EXPECT_TRUE(r["preview_id"].is_number()) << r.dump();
  }
  // Deleting an old dataset removes its old and new jobs alike.
  EXPECT_EQ(Send("DELETE", "/api/datasets/1").status, 200);
  EXPECT_EQ(Send("GET", "/api/inferences/2").status, 404);
  EXPECT_EQ(Send("GET", "/api/inferences/6").status, 404);
  EXPECT_EQ(Send("GET", "/api/inferences/1").status, 200);
}

// The store is opened through the store registry: a driver it does not know stops
// start-up with a message naming the ones it does.
TEST(StorageDriverTest, AnUnknownDriverStopsStartUp) {
  TempDir dir;
  WriteFile(dir.path() / "config.yaml", "storage: {driver: mongodb}\nauth: {enabled: false}\n");
  StatusOr<ServerConfig> config = LoadServerConfig(dir.path() / "config.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  StatusOr<std::unique_ptr<Server>> server = Server::Create(*config);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(server.status().message()),
            "unknown storage driver 'mongodb' (known: sqlite, postgres)");
}

}  // namespace
}  // namespace infera::testing
