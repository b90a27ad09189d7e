// Three real `infera serve` processes (build/infera, each on a free port) on one
// PostgreSQL database the test starts (tests/support/postgres_server.h), sharing one
// model repository folder with model_control: poll. What a cluster promises:
//   - a 200-image job started through node A survives SIGKILL of the node running it:
//     another node resumes it after the lease, with exactly one result per image (in the
//     database and through the API) and no blob that nothing references;
//   - a file uploaded through node C downloads through node A;
//   - a cancel sent through a node that does not run the job reaches the job;
//   - a model uploaded through one node, or added to the shared repository, is served
//     by every node.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api/http_client.h"
#include "imaging/codec.h"
#include "store/postgres_db.h"
#include "support/child_process.h"
#include "support/multipart_body.h"
#include "support/postgres_server.h"
#include "support/status_matchers.h"
#include "support/test_env.h"

namespace infera::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using std::chrono::seconds;

constexpr int kImages = 200;

// One node: `infera serve` in its own folder (temp files only) on the shared database
// and the shared model repository.
class ClusterNode {
 public:
  ~ClusterNode() { Stop(); }

  void Start(const std::string& url, const fs::path& repo) {
    WriteFile(dir_.path() / "config.yaml",
              "storage: {url: '" + url + "'}\nmodel_repository: " + repo.string() +
                  "\nmodel_control: {mode: poll, poll_s: 1}\n"
                  "jobs: {lease_s: 3, max_in_flight: 1}\nauth: {enabled: false}\n");
    child_ = Spawn({InferaBinary().string(), "serve", "--config",
                    (dir_.path() / "config.yaml").string(), "--port", "0"});
    const std::string line = ReadUntil(child_.out, "\n", seconds(120));
    const size_t at = line.find("infera listening on http://127.0.0.1:");
    if (at == std::string::npos) {
      Kill();
      FAIL() << "node did not start: " << line << ReadUntil(child_.err, "\n\n", seconds(2));
    }
    port_ = static_cast<uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
    ASSERT_OK(client_.Connect("127.0.0.1", port_));
  }

  HttpResponse Send(const std::string& method, const std::string& target,
                    const std::string& body = "", const HttpHeaders& headers = {}) {
    StatusOr<HttpResponse> r = client_.Send(method, target, body, headers);
    if (!r.ok()) {  // the connection may have been closed: once more on a new one
      HttpClient fresh;
      if (fresh.Connect("127.0.0.1", port_).ok()) r = fresh.Send(method, target, body, headers);
    }
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : HttpResponse{0, "", {}, "", nullptr};
  }

  void Kill() {
    if (child_.pid <= 0) return;
    ::kill(child_.pid, SIGKILL);
    WaitExit(child_.pid, seconds(30));
    Close();
  }

  void Stop() {
    if (child_.pid <= 0) return;
    ::kill(child_.pid, SIGTERM);
    if (WaitExit(child_.pid, seconds(30)) == -2) ADD_FAILURE() << "node did not stop on SIGTERM";
    Close();
  }

  pid_t pid() const { return child_.pid; }

 private:
  void Close() {
    ::close(child_.out);
    ::close(child_.err);
    child_ = Child{};
  }

  TempDir dir_;
  Child child_;
  uint16_t port_ = 0;
  HttpClient client_;
};

// The job's (status, done, lease_owner) straight from the database.
struct JobRow {
  std::string status;
  int64_t done = 0;
  std::string lease_owner;
};
JobRow ReadJobRow(PgConnection& conn, int64_t job) {
  JobRow row;
  StatusOr<PgResult> r = conn.Exec("SELECT status, done, lease_owner FROM jobs WHERE id = $1", job);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok() || r->rows() == 0) return row;
  row.status = r->Text(0, 0);
  row.done = r->Int(0, 1);
  row.lease_owner = r->Text(0, 2);
  return row;
}

// The pid in a worker id "worker-<pid>-<index>" (0 when none).
pid_t PidOfWorker(const std::string& worker) {
  const size_t first = worker.find('-');
  const size_t last = worker.rfind('-');
  if (first == std::string::npos || last == first) return 0;
  return static_cast<pid_t>(std::stol(worker.substr(first + 1, last - first - 1)));
}

// `n` small distinct PNGs, as multipart parts.
std::vector<FormPart> Images(int from, int n) {
  std::vector<FormPart> parts;
  for (int i = from; i < from + n; ++i) {
    Image image = MakeImage(16, 12, 3, PixelType::kUInt8);
    uint8_t* p = image.pixels<uint8_t>();
    for (int k = 0; k < 16 * 12 * 3; ++k) p[k] = static_cast<uint8_t>((k * 7 + i * 13) % 256);
    p[0] = static_cast<uint8_t>(i % 256);
    p[1] = static_cast<uint8_t>(i / 256);
    StatusOr<std::vector<std::byte>> png = EncodePng(image);
    EXPECT_TRUE(png.ok()) << png.status();
    parts.push_back({"files", "img" + std::to_string(i) + ".png",
                     png.ok() ? std::string(reinterpret_cast<const char*>(png->data()), png->size())
                              : std::string(),
                     "image/png"});
  }
  return parts;
}

int64_t StartJob(ClusterNode& node, int64_t dataset) {
  HttpResponse start =
      node.Send("POST", "/api/inferences/start",
                json{{"dataset_id", dataset}, {"model_id", "tiny_multiclass"}}.dump());
  EXPECT_EQ(start.status, 202) << start.body;
  return json::parse(start.body, nullptr, false).value("inference_id", int64_t{0});
}

// Waits (bounded) until the job runs on some node with at least `done` results; returns
// that node's index in `nodes` (-1 when it did not happen).
int WaitRunning(PgConnection& conn, int64_t job, int64_t done,
                const std::vector<ClusterNode*>& nodes, JobRow* seen) {
  const auto deadline = std::chrono::steady_clock::now() + seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    *seen = ReadJobRow(conn, job);
    if (seen->status != "queued" && seen->status != "running") return -1;
    if (seen->status == "running" && seen->done >= done) {
      const pid_t pid = PidOfWorker(seen->lease_owner);
      for (size_t i = 0; i < nodes.size(); ++i) {
        if (nodes[i]->pid() == pid) return static_cast<int>(i);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

// Waits (bounded) for the job to end; returns its record as the API gives it.
json WaitEnded(ClusterNode& node, int64_t job, seconds limit) {
  json out;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    out = json::parse(node.Send("GET", "/api/inferences/" + std::to_string(job)).body, nullptr,
                      false);
    if (out.is_object() && out["status"] != "queued" && out["status"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return out;
}

TEST(ClusterTest, ThreeNodesSurviveAKilledNodeAndShareModelsFilesAndCancels) {
  ASSERT_OK_AND_ASSIGN(std::string url, FreshPostgresDatabase());
  TempDir shared;
  const fs::path repo = shared.path() / "repo";
  CopyModel("tiny_multiclass", repo);
  ClusterNode a, b, c;
  ASSERT_NO_FATAL_FAILURE(a.Start(url, repo));
  ASSERT_NO_FATAL_FAILURE(b.Start(url, repo));
  ASSERT_NO_FATAL_FAILURE(c.Start(url, repo));
  std::vector<ClusterNode*> nodes = {&a, &b, &c};

  // A dataset of 200 images uploaded through C.
  HttpResponse created = c.Send("POST", "/api/datasets", json{{"name", "cluster"}}.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const int64_t dataset = json::parse(created.body)["id"];
  std::vector<FormPart> first;
  for (int from = 0; from < kImages; from += 50) {
    std::vector<FormPart> parts = Images(from, 50);
    if (from == 0) first = {parts[0]};
    HttpResponse up = c.Send("POST", "/api/datasets/" + std::to_string(dataset) + "/files",
                             MultipartBody(parts), {{"Content-Type", MultipartContentType()}});
    ASSERT_EQ(up.status, 201) << up.body;
  }
  // A file uploaded through C downloads through A.
  HttpResponse listed = a.Send("GET", "/api/datasets/" + std::to_string(dataset));
  ASSERT_EQ(listed.status, 200);
  const json files = json::parse(listed.body)["files"];
  ASSERT_EQ(files.size(), static_cast<size_t>(kImages));
  for (const json& f : files) {
    if (f["filename"] != "img0.png") continue;
    HttpResponse bytes = a.Send("GET", "/api/files/" + std::to_string(f["id"].get<int64_t>()));
    ASSERT_EQ(bytes.status, 200);
    EXPECT_EQ(bytes.body, first[0].content);
  }

  // The job through A; the node running it is killed once it has some results.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgConnection> conn, PgConnection::Connect(url));
  const int64_t job = StartJob(a, dataset);
  ASSERT_GT(job, 0);
  JobRow at_kill;
  const int runner = WaitRunning(*conn, job, 10, nodes, &at_kill);
  ASSERT_GE(runner, 0) << "the job did not run with results on a node: " << at_kill.status << " "
                       << at_kill.done;
  nodes[runner]->Kill();
  ASSERT_LT(at_kill.done, kImages) << "the job ended before the kill";
  ClusterNode& survivor = *nodes[(runner + 1) % 3];
  const json ended = WaitEnded(survivor, job, seconds(180));
  ASSERT_EQ(ended["status"], "completed") << ended.dump().substr(0, 2000);
  EXPECT_EQ(ended["results"].size(), static_cast<size_t>(kImages));
  EXPECT_EQ(ended["progress"]["done"], kImages);
  {
    ASSERT_OK_AND_ASSIGN(PgResult r, conn->Exec("SELECT COUNT(*), COUNT(DISTINCT source_file_id),"
                                                " MAX(attempts) FROM job_results JOIN jobs"
                                                " ON jobs.id = job_results.job_id"
                                                " WHERE job_id = $1",
                                                job));
    EXPECT_EQ(r.Int(0, 0), kImages);
    EXPECT_EQ(r.Int(0, 1), kImages);
    EXPECT_GE(r.Int(0, 2), 2) << "the job was claimed once: nothing resumed it";
  }
  {
    // Each result has its mask (one output file per kind and result), and no stored blob
    // lacks a record that references it.
    ASSERT_OK_AND_ASSIGN(PgResult r, conn->Exec("SELECT COUNT(*) FROM files WHERE job_id = $1"
                                                " AND role = 'class_mask'",
                                                job));
    EXPECT_EQ(r.Int(0, 0), kImages);
    ASSERT_OK_AND_ASSIGN(PgResult orphans,
                         conn->Exec("SELECT COUNT(*) FROM blob_contents c WHERE NOT EXISTS"
                                    " (SELECT 1 FROM files f WHERE f.sha256 = c.sha256)"));
    EXPECT_EQ(orphans.Int(0, 0), 0);
  }

  // A second job, canceled through a node that is not running it.
  std::vector<ClusterNode*> alive;
  for (int i = 0; i < 3; ++i) {
    if (i != runner) alive.push_back(nodes[i]);
  }
  const int64_t second = StartJob(*alive[0], dataset);
  ASSERT_GT(second, 0);
  JobRow running;
  const int second_runner = WaitRunning(*conn, second, 1, alive, &running);
  ASSERT_GE(second_runner, 0) << running.status;
  ClusterNode& other = *alive[1 - second_runner];
  const auto canceled_at = std::chrono::steady_clock::now();
  HttpResponse cancel = other.Send("POST", "/api/inferences/" + std::to_string(second) + "/cancel");
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  const json stopped = WaitEnded(other, second, seconds(30));
  EXPECT_EQ(stopped["status"], "canceled") << stopped.dump().substr(0, 500);
  EXPECT_LT(std::chrono::steady_clock::now() - canceled_at, seconds(15));
  EXPECT_LT(stopped["progress"]["done"].get<int64_t>(), kImages);

  // Models shared by path: one uploaded through a node lands in the shared repository
  // and every live node serves it (the others at their next poll); one copied into the
  // folder by hand appears on all too.
  const fs::path tiny = TestModelsDir() / "repo" / "tiny_cls";
  HttpResponse uploaded =
      alive[0]->Send("POST", "/api/models/upload",
                     MultipartBody({{"name", "", "uploaded_cls"},
                                    {"runner_name", "", "classify"},
                                    {"model_yaml", "model.yaml", ReadFile(tiny / "model.yaml")},
                                    {"labels", "labels.txt", ReadFile(tiny / "labels.txt")},
                                    {"model", "model.pt", ReadFile(tiny / "1" / "model.pt")}}),
                     {{"Content-Type", MultipartContentType()}});
  ASSERT_EQ(uploaded.status, 201) << uploaded.body;
  CopyModel("tiny_cls", repo);
  for (const char* model : {"uploaded_cls", "tiny_cls"}) {
    for (ClusterNode* node : alive) {
      int status = 0;
      const auto deadline = std::chrono::steady_clock::now() + seconds(60);
      while (std::chrono::steady_clock::now() < deadline && status != 200) {
        status = node->Send("GET", std::string("/v2/models/") + model + "/ready").status;
        if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      EXPECT_EQ(status, 200) << "node " << node->pid() << " never served " << model;
    }
  }
}

}  // namespace
}  // namespace infera::testing
