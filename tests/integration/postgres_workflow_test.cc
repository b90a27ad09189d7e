// The /api workflow on PostgreSQL storage (storage: {url: ...}) with real models, on a
// real PostgreSQL server (tests/support/postgres_server.h): two server nodes on one
// database — a dataset uploaded through node A, its job started through A and run by
// whichever node's workers claim it, and its results and ZIP read through node B, with
// exactly one result per image.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "api/http_client.h"
#include "archive/zip_reader.h"
#include "support/multipart_body.h"
#include "support/postgres_server.h"
#include "support/status_matchers.h"
#include "support/test_env.h"

namespace infera::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string Image(const std::string& name) { return ReadFile(TestModelsDir() / "images" / name); }

// One node: a server in its own folder (its own temp files and model copy) on the
// shared database, and a client to it.
struct Node {
  TempDir dir;
  std::unique_ptr<Server> server;
  HttpClient client;

  void Start(const std::string& url, const std::string& extra_yaml = "",
             const std::string& model = "tiny_cls", const std::string& jobs = "{lease_s: 5}") {
    CopyModel(model, dir.path() / "repo");
    server = StartServer(dir.path(), extra_yaml + "storage: {url: '" + url + "'}\njobs: " + jobs +
                                         "\nmodel_repository: repo\n");
    ASSERT_NE(server, nullptr);
    ASSERT_TRUE(client.Connect("127.0.0.1", server->port()).ok());
  }

  HttpResponse Send(const std::string& method, const std::string& target,
                    const std::string& body = "", const HttpHeaders& headers = {}) {
    StatusOr<HttpResponse> r = client.Send(method, target, body, headers);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : HttpResponse{0, "", {}, "", nullptr};
  }
};

TEST(PostgresWorkflowTest, TwoNodesShareDatasetsJobsResultsAndFiles) {
  ASSERT_OK_AND_ASSIGN(std::string url, FreshPostgresDatabase());
  Node a;
  Node b;
  ASSERT_NO_FATAL_FAILURE(a.Start(url));
  ASSERT_NO_FATAL_FAILURE(b.Start(url));

  HttpResponse created = a.Send("POST", "/api/datasets", json{{"name", "shared"}}.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const int64_t dataset = json::parse(created.body)["id"];
  HttpResponse up =
      a.Send("POST", "/api/datasets/" + std::to_string(dataset) + "/files",
             MultipartBody({{"files", "disk.png", Image("disk.png"), "image/png"},
                            {"files", "square.png", Image("square.png"), "image/png"},
                            {"files", "stripes.png", Image("stripes.png"), "image/png"}}),
             {{"Content-Type", MultipartContentType()}});
  ASSERT_EQ(up.status, 201) << up.body;

  // Node B sees the dataset and serves its files' bytes (blobs in the database).
  HttpResponse files = b.Send("GET", "/api/datasets/" + std::to_string(dataset));
  ASSERT_EQ(files.status, 200) << files.body;
  const json listed = json::parse(files.body);
  ASSERT_TRUE(listed.contains("files")) << listed.dump();
  ASSERT_EQ(listed["files"].size(), 3u);
  for (const json& f : listed["files"]) {
    HttpResponse bytes = b.Send("GET", "/api/files/" + std::to_string(f["id"].get<int64_t>()));
    ASSERT_EQ(bytes.status, 200);
    EXPECT_EQ(bytes.body, Image(f["filename"].get<std::string>()));
  }

  HttpResponse start = a.Send(
      "POST", "/api/inferences/start",
      json{{"dataset_id", dataset}, {"model_id", "tiny_cls"}, {"params", json::object()}}.dump());
  ASSERT_EQ(start.status, 202) << start.body;
  const int64_t job_id = json::parse(start.body)["inference_id"];
  json job;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    job = json::parse(b.Send("GET", "/api/inferences/" + std::to_string(job_id)).body);
    if (job["status"] != "queued" && job["status"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(job["status"], "completed") << job.dump();
  ASSERT_EQ(job["results"].size(), 3u);
  std::set<std::string> names;
  for (const json& r : job["results"]) {
    names.insert(r["source_filename"]);
    EXPECT_TRUE(r["error"].is_null()) << r.dump();
  }
  EXPECT_EQ(names, (std::set<std::string>{"disk.png", "square.png", "stripes.png"}));
  EXPECT_EQ(job["progress"]["done"], 3);

  // The ZIP through node B: every original and results.json.
  HttpResponse zip = b.Send("GET", "/api/inferences/" + std::to_string(job_id) + "/download");
  ASSERT_EQ(zip.status, 200);
  TempDir unpack;
  WriteFile(unpack.path() / "job.zip", zip.body);
  StatusOr<ZipReader> reader = ZipReader::Open(unpack.path() / "job.zip", ZipLimits{});
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::map<std::string, std::string> entries;
  ASSERT_TRUE(reader
                  ->ForEachFile(unpack.path(),
                                [&](const ZipEntryInfo& info, const fs::path& file) {
                                  entries[info.name] = ReadFile(file);
                                  return absl::OkStatus();
                                })
                  .ok());
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries["images/disk.png"], Image("disk.png"));
  EXPECT_EQ(json::parse(entries["results.json"])["results"].size(), 3u);

  // Deleting through B removes it for A too.
  HttpResponse del = b.Send("DELETE", "/api/datasets/" + std::to_string(dataset));
  EXPECT_TRUE(del.status == 200 || del.status == 204) << del.status << " " << del.body;
  EXPECT_EQ(a.Send("GET", "/api/datasets/" + std::to_string(dataset)).status, 404);
}

// Annotation sets on PostgreSQL: a set made and a mask PUT through node A are read
// through node B; a job's masks become a set through B; deleting the dataset removes the
// sets and every blob (image, job outputs, masks) for both nodes.
TEST(PostgresWorkflowTest, AnnotationSetsAreSharedByTheNodes) {
  ASSERT_OK_AND_ASSIGN(std::string url, FreshPostgresDatabase());
  Node a;
  Node b;
  ASSERT_NO_FATAL_FAILURE(a.Start(url, "", "tiny_multiclass"));
  ASSERT_NO_FATAL_FAILURE(b.Start(url, "", "tiny_multiclass"));

  HttpResponse created = a.Send("POST", "/api/datasets", json{{"name", "annotated"}}.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string dataset = std::to_string(json::parse(created.body)["id"].get<int64_t>());
  HttpResponse up =
      a.Send("POST", "/api/datasets/" + dataset + "/files",
             MultipartBody({{"files", "rgb_regions.png", Image("rgb_regions.png"), "image/png"}}),
             {{"Content-Type", MultipartContentType()}});
  ASSERT_EQ(up.status, 201) << up.body;
  const int64_t file = json::parse(up.body)["files"][0]["id"];

  HttpResponse set = a.Send("POST", "/api/datasets/" + dataset + "/annotations",
                            json{{"name", "gt"}, {"kind", "instances"}}.dump());
  ASSERT_EQ(set.status, 201) << set.body;
  const std::string set_id = std::to_string(json::parse(set.body)["id"].get<int64_t>());
  const std::string mask_url =
      "/api/annotations/" + set_id + "/images/" + std::to_string(file) + "/mask";
  // Not a label image: a clear 4xx through either node.
  HttpResponse bad = a.Send("PUT", mask_url, "not a png");
  EXPECT_EQ(bad.status, 400) << bad.body;
  ASSERT_EQ(b.Send("GET", "/api/annotations/" + set_id).status, 200);
  HttpResponse sets_b = b.Send("GET", "/api/datasets/" + dataset + "/annotations");
  ASSERT_EQ(sets_b.status, 200) << sets_b.body;
  EXPECT_NE(sets_b.body.find("\"gt\""), std::string::npos) << sets_b.body;

  // A job through A, its masks made a set through B.
  HttpResponse start =
      a.Send("POST", "/api/inferences/start",
             json{{"dataset_id", std::stoll(dataset)}, {"model_id", "tiny_multiclass"}}.dump());
  ASSERT_EQ(start.status, 202) << start.body;
  const std::string job_url =
      "/api/inferences/" + std::to_string(json::parse(start.body)["inference_id"].get<int64_t>());
  json job;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    job = json::parse(b.Send("GET", job_url).body);
    if (job["status"] != "queued" && job["status"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(job["status"], "completed") << job.dump();
  HttpResponse made = b.Send("POST", job_url + "/annotations", json{{"name", "pre"}}.dump());
  ASSERT_EQ(made.status, 201) << made.body;
  const json pre = json::parse(made.body)["annotation_set"];
  EXPECT_EQ(pre["mask_count"], 1);
  const std::string pre_mask = "/api/annotations/" + std::to_string(pre["id"].get<int64_t>()) +
                               "/images/" + std::to_string(file) + "/mask";
  HttpResponse mask_a = a.Send("GET", pre_mask);
  ASSERT_EQ(mask_a.status, 200) << mask_a.body;
  HttpResponse job_mask = a.Send(
      "GET", "/api/files/" + std::to_string(job["results"][0]["class_mask_id"].get<int64_t>()));
  EXPECT_EQ(mask_a.body, job_mask.body);
  // The same mask PUT back through A makes revision 2, seen through B.
  ASSERT_EQ(a.Send("PUT", pre_mask, mask_a.body).status, 201);
  HttpResponse revs = b.Send("GET", "/api/annotations/" + std::to_string(pre["id"].get<int64_t>()) +
                                        "/images/" + std::to_string(file) + "/revisions");
  ASSERT_EQ(revs.status, 200) << revs.body;
  EXPECT_EQ(json::parse(revs.body)["revisions"].size(), 2u) << revs.body;
  // Export of the set through B.
  HttpResponse coco = b.Send("GET", "/api/annotations/" + std::to_string(pre["id"].get<int64_t>()) +
                                        "/export?format=coco");
  ASSERT_EQ(coco.status, 200) << coco.body;

  HttpResponse del = b.Send("DELETE", "/api/datasets/" + dataset);
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_GE(json::parse(del.body)["blobs_removed"].get<int>(), 2) << del.body;
  EXPECT_EQ(a.Send("GET", "/api/annotations/" + set_id).status, 404);
  EXPECT_EQ(a.Send("GET", pre_mask).status, 404);
}

// LISTEN/NOTIFY: a job queued through node A (which runs no workers) wakes node B's idle
// workers at once. B polls only every 30 s, so a start within 10 s is the notification's.
TEST(PostgresWorkflowTest, AJobQueuedOnOneNodeWakesAnIdleNodeAtOnce) {
  ASSERT_OK_AND_ASSIGN(std::string url, FreshPostgresDatabase());
  Node a;
  Node b;
  ASSERT_NO_FATAL_FAILURE(a.Start(url, "", "tiny_cls", "{workers: 0}"));
  ASSERT_NO_FATAL_FAILURE(b.Start(url, "", "tiny_cls", "{lease_s: 5, idle_poll_ms: 30000}"));
  HttpResponse created = a.Send("POST", "/api/datasets", json{{"name", "wake"}}.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const int64_t dataset = json::parse(created.body)["id"];
  ASSERT_EQ(a.Send("POST", "/api/datasets/" + std::to_string(dataset) + "/files",
                   MultipartBody({{"files", "disk.png", Image("disk.png"), "image/png"}}),
                   {{"Content-Type", MultipartContentType()}})
                .status,
            201);
  // B's workers made their first (empty) claim at start and now wait for 30 s.
  std::this_thread::sleep_for(std::chrono::seconds(1));

  const auto submitted = std::chrono::steady_clock::now();
  HttpResponse start = a.Send(
      "POST", "/api/inferences/start",
      json{{"dataset_id", dataset}, {"model_id", "tiny_cls"}, {"params", json::object()}}.dump());
  ASSERT_EQ(start.status, 202) << start.body;
  const std::string job_url =
      "/api/inferences/" + std::to_string(json::parse(start.body)["inference_id"].get<int64_t>());
  json job;
  while (std::chrono::steady_clock::now() < submitted + std::chrono::seconds(10)) {
    job = json::parse(a.Send("GET", job_url).body);
    if (job["status"] == "completed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(job["status"], "completed") << job.dump();
}

// Auth state lives in the database: the signing secret (made once, shared), users,
// sessions and revocations — a token node A issued works on node B, and a logout on A
// ends it on B too.
TEST(PostgresWorkflowTest, ATokenFromOneNodeIsAcceptedByTheOther) {
  ASSERT_OK_AND_ASSIGN(std::string url, FreshPostgresDatabase());
  constexpr const char* kPassword = "admin-test-password";
  Node a;
  Node b;
  ::setenv("INFERA_ADMIN_PASSWORD", kPassword, 1);  // the first node bootstraps the admin
  a.Start(url, "auth: {enabled: true}\n");
  ::unsetenv("INFERA_ADMIN_PASSWORD");
  ASSERT_NE(a.server, nullptr);
  ASSERT_NO_FATAL_FAILURE(b.Start(url, "auth: {enabled: true}\n"));
  // Neither node keeps a secret file: the secret is the database's.
  EXPECT_FALSE(fs::exists(a.dir.path() / "data" / "auth_secret"));
  EXPECT_FALSE(fs::exists(b.dir.path() / "data" / "auth_secret"));

  HttpResponse login = a.Send("POST", "/api/auth/login",
                              json{{"username", "admin"}, {"password", kPassword}}.dump());
  ASSERT_EQ(login.status, 200) << login.body;
  const json tokens = json::parse(login.body);
  const HttpHeaders bearer = {
      {"Authorization", "Bearer " + tokens["access_token"].get<std::string>()}};
  EXPECT_EQ(b.Send("GET", "/api/datasets").status, 401);
  HttpResponse me = b.Send("GET", "/api/auth/me", "", bearer);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(json::parse(me.body)["username"], "admin");

  ASSERT_EQ(a.Send("POST", "/api/auth/logout",
                   json{{"refresh_token", tokens["refresh_token"]}}.dump(), bearer)
                .status,
            200);
  EXPECT_EQ(b.Send("GET", "/api/auth/me", "", bearer).status, 401);
}

}  // namespace
}  // namespace infera::testing
