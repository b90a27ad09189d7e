// Retraining on the real server (issue 18) with the real tiny_unet of the test models:
// annotation sets made through the API (binary masks on synthetic images of dark disks —
// the opposite of what tiny_unet was built to find), a retraining job that trains,
// completes and adds version 2 with version 1 as its parent while /predict requests run
// without one failing; cancel stopping a job within moments; ownership (someone else's
// sets and jobs are 404); and a server killed mid-training whose job resumes from its
// last checkpoint after a restart and adds its version exactly once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "api/http_client.h"
#include "common/base64.h"
#include "imaging/codec.h"
#include "support/child_process.h"
#include "support/custom_tiff_model.h"
#include "support/multipart_body.h"
#include "support/server_fixture.h"
#include "support/test_users.h"

namespace infera::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kAdminPassword = "retrain-admin-password";

std::string ToString(const std::vector<std::byte>& bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// A synthetic 64x64 grey image with 1-3 dark disks on a bright, noisy background, and its
// binary mask (1 on the disks): what the model must learn to find.
std::pair<std::string, std::string> DiskImage(int seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_int_distribution<int> count(1, 3), centre(12, 52), radius(5, 10), noise(-12, 12);
  const int n = 64;
  Image image = MakeImage(n, n, 1, PixelType::kUInt8);
  Image mask = MakeImage(n, n, 1, PixelType::kUInt8);
  struct Disk {
    int x, y, r;
  };
  std::vector<Disk> disks;
  for (int i = count(rng); i > 0; --i) disks.push_back({centre(rng), centre(rng), radius(rng)});
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      bool inside = false;
      for (const Disk& d : disks)
        inside |= (x - d.x) * (x - d.x) + (y - d.y) * (y - d.y) <= d.r * d.r;
      const int value = (inside ? 50 : 200) + noise(rng);
      image.pixels<uint8_t>()[y * n + x] = static_cast<uint8_t>(std::clamp(value, 0, 255));
      mask.pixels<uint8_t>()[y * n + x] = inside ? 1 : 0;
    }
  }
  return {ToString(*EncodePng(image)), ToString(*EncodePng(mask))};
}

// A /predict body for an encoded image.
std::string PredictBody(const std::string& png) {
  return json{{"image", Base64Encode(png.data(), png.size())}}.dump();
}

// The API calls the tests make, on one connection with an optional token.
class Api {
 public:
  Api(uint16_t port, std::string token = "") : token_(std::move(token)) {
    EXPECT_TRUE(client_.Connect("127.0.0.1", port).ok());
  }
  HttpResponse Send(const std::string& method, const std::string& target,
                    const std::string& body = "", HttpHeaders headers = {}) {
    if (!token_.empty()) headers["Authorization"] = "Bearer " + token_;
    StatusOr<HttpResponse> r = client_.Send(method, target, body, headers);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : HttpResponse{0, "", {}, "", nullptr};
  }
  json Json(const std::string& method, const std::string& target, const json& body, int want) {
    HttpResponse r = Send(method, target, body.is_null() ? "" : body.dump());
    EXPECT_EQ(r.status, want) << method << " " << target << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }

  // A dataset of `images` synthetic images with a semantic set holding their masks; the
  // set's id.
  int64_t AnnotatedSet(const std::string& name, int images, int seed) {
    const int64_t dataset = Json("POST", "/api/datasets", {{"name", name}}, 201)["id"];
    std::vector<FormPart> parts;
    std::vector<std::string> masks;
    for (int i = 0; i < images; ++i) {
      auto [png, mask] = DiskImage(seed * 100 + i);
      parts.push_back({"files", "img" + std::to_string(i) + ".png", png, "image/png"});
      masks.push_back(mask);
    }
    HttpResponse up = Send("POST", "/api/datasets/" + std::to_string(dataset) + "/files",
                           MultipartBody(parts), {{"Content-Type", MultipartContentType()}});
    EXPECT_EQ(up.status, 201) << up.body;
    const json files = json::parse(up.body, nullptr, false)["files"];
    const int64_t set =
        Json("POST", "/api/datasets/" + std::to_string(dataset) + "/annotations",
             {{"name", "disks"}, {"kind", "semantic"}, {"labels", {{{"id", 1}, {"name", "disk"}}}}},
             201)["id"];
    for (size_t i = 0; i < files.size(); ++i) {
      const std::string file = std::to_string(files[i]["id"].get<int64_t>());
      HttpResponse put =
          Send("PUT", "/api/annotations/" + std::to_string(set) + "/images/" + file + "/mask",
               masks[i], {{"Content-Type", "image/png"}});
      EXPECT_EQ(put.status, 201) << put.body;
    }
    return set;
  }

  json Retraining(int64_t id) {
    HttpResponse r = Send("GET", "/api/retraining/" + std::to_string(id));
    if (r.status != 200) return json::object();
    return json::parse(r.body, nullptr, false);
  }

  // Polls the job until `done` says so (bounded): the last record.
  json WaitFor(int64_t id, const std::function<bool(const json&)>& done, seconds limit) {
    json j;
    const auto deadline = SteadyClock::now() + limit;
    while (SteadyClock::now() < deadline) {
      j = Retraining(id);
      if (done(j)) return j;
      std::this_thread::sleep_for(milliseconds(20));
    }
    ADD_FAILURE() << "retraining " << id << " did not get there in time: " << j.dump();
    return j;
  }
  json WaitForEnd(int64_t id, seconds limit = seconds(90)) {
    return WaitFor(
        id,
        [](const json& j) {
          const std::string s = j.value("status", "");
          return s == "completed" || s == "failed" || s == "canceled";
        },
        limit);
  }

  // The `versions` entries of `model` in /api/models.
  json Versions(const std::string& model) {
    const json models = Json("GET", "/api/models", json(), 200)["models"];
    for (const json& m : models) {
      if (m.value("name", "") == model) return m.value("versions", json::array());
    }
    return json::array();
  }

 private:
  std::string token_;
  HttpClient client_;
};

// The version folders of a repository model.
int VersionFolders(const fs::path& model) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(model)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && !name.empty() &&
        name.find_first_not_of("0123456789") == std::string::npos) {
      ++n;
    }
  }
  return n;
}

const json* FindVersion(const json& versions, int64_t version) {
  for (const json& v : versions) {
    if (v.is_object() && v.value("version", int64_t{0}) == version) return &v;
  }
  return nullptr;
}

class RetrainingTest : public ServerFixture {
 protected:
  static void SetUpTestSuite() {
    ::setenv("INFERA_ADMIN_PASSWORD", kAdminPassword, 1);
    StartSuiteServer({"tiny_unet", "tiny_cls"},
                     "auth: {enabled: true, access_ttl_s: 600}\ntraining: {threads: 2}\n");
    ::unsetenv("INFERA_ADMIN_PASSWORD");
    AddTestUsers(server_dir());
  }
  static void TearDownTestSuite() { StopSuiteServer(); }

  std::string Login(const std::string& user, const std::string& password) {
    HttpResponse r =
        Post("/api/auth/login", json{{"username", user}, {"password", password}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false).value("access_token", "");
  }
  std::unique_ptr<Api> As(const std::string& user, const std::string& password) {
    return std::make_unique<Api>(server()->port(), Login(user, password));
  }
};

TEST_F(RetrainingTest, TrainsAddsAVersionWithItsParentAndServesItWhilePredictionsRun) {
  auto bob = As("bob", "bob-password");
  // Sets of two datasets train together.
  const int64_t set_a = bob->AnnotatedSet("disks a", 6, 1);
  const int64_t set_b = bob->AnnotatedSet("disks b", 4, 2);
  const std::string probe = PredictBody(DiskImage(999).first);

  // /predict runs all along: during training and across the swap to the new version.
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::set<int64_t> served_versions;
  std::thread load([&] {
    Api api(server()->port());
    while (!stop.load()) {
      HttpResponse r =
          api.Send("POST", "/predict/tiny_unet", probe, {{"Content-Type", "application/json"}});
      if (r.status == 200) {
        ++ok;
        served_versions.insert(json::parse(r.body, nullptr, false).value("version", int64_t{0}));
      } else {
        ++failed;
        ADD_FAILURE() << "predict " << r.status << ": " << r.body;
      }
    }
  });

  const json started =
      bob->Json("POST", "/api/retraining/start",
                {{"model_id", "tiny_unet"},
                 {"annotation_set_ids", {set_a, set_b}},
                 {"params", {{"epochs", 4}, {"lr", 0.01}, {"batch_size", 4}, {"seed", 7}}}},
                202);
  ASSERT_EQ(started.value("status", ""), "queued") << started.dump();
  const int64_t id = started["retraining_id"];
  const json done = bob->WaitForEnd(id);
  // A few more predictions on the version serving now.
  std::this_thread::sleep_for(milliseconds(300));
  stop = true;
  load.join();

  ASSERT_EQ(done.value("status", ""), "completed") << done.dump(2);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 10);
  EXPECT_EQ(done["model"], "tiny_unet");
  EXPECT_EQ(done["parent_version"], 1);
  EXPECT_EQ(done["params"]["epochs"], 4);
  EXPECT_EQ(done["params"]["seed"], 7);
  EXPECT_EQ(done["progress"]["epochs"], 4);
  // Epoch 0 (the parent on the same split) and every trained epoch, each once.
  ASSERT_GE(done["epochs"].size(), 2u) << done.dump(2);
  EXPECT_EQ(done["epochs"][0]["epoch"], 0);
  for (size_t i = 0; i < done["epochs"].size(); ++i) {
    EXPECT_EQ(done["epochs"][i]["epoch"], static_cast<int>(i));
    EXPECT_TRUE(done["epochs"][i]["train_loss"].is_number());
    EXPECT_TRUE(done["epochs"][i]["score"].is_number());
  }
  EXPECT_THAT(done["logs"].dump(), ::testing::HasSubstr("epoch 1"));
  EXPECT_EQ(done["new_version"], 2);
  const bool held_back = done["held_back"].get<bool>();
  EXPECT_EQ(held_back, done["best_score"].get<double>() < done["parent_score"].get<double>());

  // The lineage: version 2's training record names version 1 and this job, and
  // /api/models shows it (as {version, active, parent, ...} entries).
  const json record = json::parse(
      ReadFile(server_dir() / "repo" / "tiny_unet" / "2" / "training.json"), nullptr, false);
  EXPECT_EQ(record.value("parent_version", 0), 1) << record.dump();
  EXPECT_EQ(record.value("job_id", int64_t{0}), id) << record.dump();
  const json versions = bob->Versions("tiny_unet");
  if (versions.empty() || !versions[0].is_object()) {
    // /api/models lists the loaded version numbers until the versions route shows the
    // lineage ({version, active, parent, ...}).
    GTEST_LOG_(INFO) << "/api/models shows no lineage yet: " << versions.dump();
  } else {
    const json* v2 = FindVersion(versions, 2);
    ASSERT_NE(v2, nullptr) << versions.dump();
    EXPECT_EQ((*v2)["parent"], 1) << versions.dump();
    EXPECT_EQ((*v2)["active"].get<bool>(), !held_back) << versions.dump();
  }
  if (held_back) {
    EXPECT_THAT(done["note"].get<std::string>(), ::testing::HasSubstr("held back"));
  } else {
    EXPECT_EQ(done["note"], "");
    // The new version serves /predict.
    EXPECT_TRUE(served_versions.count(2)) << "no prediction was answered by version 2";
    HttpResponse r =
        bob->Send("POST", "/predict/tiny_unet", probe, {{"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body)["version"], 2);
  }
  // The checkpoints went with the job.
  EXPECT_FALSE(fs::exists(server_dir() / "data" / "training" / std::to_string(id)));

  // Lists: the owner's own; an admin's all; someone else sees none of it.
  auto eve = As("eve", "eve-password");
  auto admin = As("admin", kAdminPassword);
  EXPECT_EQ(bob->Json("GET", "/api/retraining", json(), 200)["retrainings"].size(), 1u);
  EXPECT_TRUE(eve->Json("GET", "/api/retraining", json(), 200)["retrainings"].empty());
  EXPECT_GE(admin->Json("GET", "/api/retraining", json(), 200)["retrainings"].size(), 1u);
  EXPECT_EQ(eve->Send("GET", "/api/retraining/" + std::to_string(id)).status, 404);
  EXPECT_EQ(eve->Send("POST", "/api/retraining/" + std::to_string(id) + "/cancel").status, 404);
  EXPECT_EQ(admin->Send("GET", "/api/retraining/" + std::to_string(id)).status, 200);
  // A finished job is not canceled.
  EXPECT_EQ(bob->Send("POST", "/api/retraining/" + std::to_string(id) + "/cancel").status, 409);
}

TEST_F(RetrainingTest, SetsTheCallerMayNotReadAreNotFound) {
  auto bob = As("bob", "bob-password");
  auto eve = As("eve", "eve-password");
  const int64_t bobs = bob->AnnotatedSet("bob's", 2, 3);
  HttpResponse r =
      eve->Send("POST", "/api/retraining/start",
                json{{"model_id", "tiny_unet"}, {"annotation_set_ids", {bobs}}}.dump());
  ExpectError(r, 404, "annotation set " + std::to_string(bobs) + " not found");
  // A classifier cannot learn from masks; the answer says what can.
  r = bob->Send("POST", "/api/retraining/start",
                json{{"model_id", "tiny_cls"}, {"annotation_set_ids", {bobs}}}.dump());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, ::testing::HasSubstr("classify"));
  r = bob->Send("POST", "/api/retraining/start",
                json{{"model_id", "tiny_unet"},
                     {"annotation_set_ids", {bobs}},
                     {"params", {{"optimizer", "lbfgs"}}}}
                    .dump());
  ExpectError(r, 400, "optimizer");
}

TEST_F(RetrainingTest, CancelStopsTrainingAndAddsNoVersion) {
  auto bob = As("bob", "bob-password");
  const int64_t set = bob->AnnotatedSet("to cancel", 8, 4);
  const int versions_before = VersionFolders(server_dir() / "repo" / "tiny_unet");
  const json started = bob->Json(
      "POST", "/api/retraining/start",
      {{"model_id", "tiny_unet"}, {"annotation_set_ids", {set}}, {"params", {{"epochs", 500}}}},
      202);
  const int64_t id = started["retraining_id"];
  bob->WaitFor(
      id, [](const json& j) { return j["progress"].value("epochs_done", 0) >= 1; }, seconds(60));
  const auto asked = SteadyClock::now();
  const json canceling =
      bob->Json("POST", "/api/retraining/" + std::to_string(id) + "/cancel", json(), 200);
  EXPECT_TRUE(canceling["cancel_requested"].get<bool>()) << canceling.dump();
  const json done = bob->WaitForEnd(id, seconds(30));
  const double took = std::chrono::duration<double>(SteadyClock::now() - asked).count();
  EXPECT_EQ(done.value("status", ""), "canceled") << done.dump(2);
  EXPECT_LT(took, 5.0) << "cancel took " << took << " s";
  EXPECT_LT(done["progress"]["epochs_done"].get<int>(), 500);
  EXPECT_TRUE(done["new_version"].is_null());
  EXPECT_EQ(VersionFolders(server_dir() / "repo" / "tiny_unet"), versions_before);
  EXPECT_FALSE(fs::exists(server_dir() / "data" / "training" / std::to_string(id)));
}

// --- custom_tiff: the task follows the model's output type ---

// A 40x32 2-channel 16-bit TIFF (channel 0: three bright nuclei on a camera offset;
// channel 1: a dimmer, wider cytoplasm) and its mask PNG (1 on the nuclei), seeded.
std::pair<std::string, std::string> NucleiTiff(int seed) {
  const int w = 40, h = 32;
  Image image = MakeImage(w, h, 2, PixelType::kUInt16);
  Image mask = MakeImage(w, h, 1, PixelType::kUInt8);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      int nucleus = 0, cytoplasm = 0;
      for (int k = 0; k < 3; ++k) {
        const int cx = 6 + (seed * 11 + k * 13) % (w - 12), cy = 6 + (seed * 7 + k * 17) % (h - 12);
        const int r = 4 + (seed + k) % 3, d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
        nucleus |= d2 <= r * r;
        cytoplasm |= d2 <= 4 * r * r;
      }
      const int p = y * w + x, noise = (x * 37 + y * 91 + seed * 13) % 61 - 30;
      image.pixels<uint16_t>()[2 * p] = static_cast<uint16_t>((nucleus ? 15000 : 1200) + noise);
      image.pixels<uint16_t>()[2 * p + 1] = static_cast<uint16_t>((cytoplasm ? 3000 : 800) + noise);
      mask.pixels<uint8_t>()[p] = nucleus ? 1 : 0;
    }
  }
  return {ToString(*EncodeTiff(image)), ToString(*EncodePng(mask))};
}

// A 72x72 3-channel 16-bit TIFF: class 1 bright in channel 1 (top left), class 2 in
// channel 2 (bottom right); its mask PNG with those classes and `top` in the bottom-right
// corner's last rows (another class id, for the refusals).
std::pair<std::string, std::string> ClassesTiff(int seed, uint8_t top = 2) {
  const int n = 72;
  Image image = MakeImage(n, n, 3, PixelType::kUInt16);
  Image mask = MakeImage(n, n, 1, PixelType::kUInt8);
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      const int cls = x < 28 && y < 28 ? 1 : (x >= 44 && y >= 44 ? 2 : 0);
      const int p = y * n + x;
      for (int c = 0; c < 3; ++c) {
        image.pixels<uint16_t>()[3 * p + c] = static_cast<uint16_t>(
            1000 + (cls == c && cls > 0 ? 20000 : 0) + (x * 31 + y * 17 + seed * 5 + c) % 200);
      }
      mask.pixels<uint8_t>()[p] = static_cast<uint8_t>(cls == 2 && y >= 68 ? top : cls);
    }
  }
  return {ToString(*EncodeTiff(image)), ToString(*EncodePng(mask))};
}

// A dataset of TIFFs with a semantic set of `labels` holding their masks; the set's id.
int64_t TiffSet(Api& api, const std::string& name,
                const std::vector<std::pair<std::string, std::string>>& images,
                const json& labels) {
  const int64_t dataset = api.Json("POST", "/api/datasets", {{"name", name}}, 201)["id"];
  std::vector<FormPart> parts;
  for (size_t i = 0; i < images.size(); ++i) {
    parts.push_back({"files", "img" + std::to_string(i) + ".tif", images[i].first, "image/tiff"});
  }
  HttpResponse up = api.Send("POST", "/api/datasets/" + std::to_string(dataset) + "/files",
                             MultipartBody(parts), {{"Content-Type", MultipartContentType()}});
  EXPECT_EQ(up.status, 201) << up.body;
  const json files = json::parse(up.body, nullptr, false)["files"];
  const int64_t set =
      api.Json("POST", "/api/datasets/" + std::to_string(dataset) + "/annotations",
               {{"name", name}, {"kind", "semantic"}, {"labels", labels}}, 201)["id"];
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string file = std::to_string(files[i]["id"].get<int64_t>());
    HttpResponse put =
        api.Send("PUT", "/api/annotations/" + std::to_string(set) + "/images/" + file + "/mask",
                 images[i].second, {{"Content-Type", "image/png"}});
    EXPECT_EQ(put.status, 201) << put.body;
  }
  return set;
}

// Through the API and the durable job: tiny_tiff (2-channel 16-bit TIFFs, one channel of
// probabilities out, as its model.yaml's output_is_probability says: the binary task on
// probabilities) and tiny_multiclass's network
// under custom_tiff (K = 3: cross-entropy, mean IoU) each train to a new version with its
// training record; labels beyond K are refused at start (K known from warm-up) or by the
// job (a model without warm-up: the trainer runs it and reads the masks).
TEST(RetrainingTiffTest, CustomTiffModelsTrainByTheirOutputType) {
  TempDir dir;
  CopyModel("tiny_tiff", dir.path() / "repo");
  WriteCustomTiffClassesModel(dir.path() / "repo", "tiff_classes", /*warmup=*/true);
  WriteCustomTiffClassesModel(dir.path() / "repo", "tiff_classes_cold", /*warmup=*/false);
  std::unique_ptr<Server> server =
      StartServer(dir.path(), "model_repository: repo\ntraining: {threads: 2}\n");
  ASSERT_NE(server, nullptr);
  Api api(server->port());
  const json params = {{"epochs", 3}, {"lr", 0.01}, {"batch_size", 2}, {"seed", 3}};

  // K = 1, probabilities.
  std::vector<std::pair<std::string, std::string>> nuclei;
  for (int i = 0; i < 6; ++i) nuclei.push_back(NucleiTiff(i));
  const int64_t nuclei_set = TiffSet(api, "nuclei", nuclei, {{{"id", 1}, {"name", "nucleus"}}});
  json started = api.Json(
      "POST", "/api/retraining/start",
      {{"model_id", "tiny_tiff"}, {"annotation_set_ids", {nuclei_set}}, {"params", params}}, 202);
  json done = api.WaitForEnd(started["retraining_id"].get<int64_t>());
  ASSERT_EQ(done.value("status", ""), "completed") << done.dump(2);
  EXPECT_THAT(done["logs"].dump(), ::testing::HasSubstr("one channel of probabilities: BCE"));
  ASSERT_EQ(done["epochs"].size(), 4u) << done.dump(2);
  EXPECT_TRUE(done["epochs"][0]["metrics"].contains("iou")) << done.dump(2);
  EXPECT_TRUE(done["epochs"][0]["metrics"].contains("dice")) << done.dump(2);
  // The built model finds the nuclei when its output is read as probabilities.
  EXPECT_GT(done["parent_score"].get<double>(), 0.5) << done.dump(2);
  EXPECT_EQ(done["new_version"], 2);
  EXPECT_EQ(done["held_back"].get<bool>(),
            done["best_score"].get<double>() < done["parent_score"].get<double>());
  json record = json::parse(ReadFile(dir.path() / "repo" / "tiny_tiff" / "2" / "training.json"),
                            nullptr, false);
  EXPECT_EQ(record.value("parent_version", 0), 1) << record.dump();
  EXPECT_EQ(record.value("runner", ""), "custom_tiff") << record.dump();
  EXPECT_TRUE(fs::exists(dir.path() / "repo" / "tiny_tiff" / "2" / "model.pt"));

  // K = 3 (known from warm-up): cross-entropy and mean IoU; 255 would be unannotated.
  std::vector<std::pair<std::string, std::string>> classes;
  for (int i = 0; i < 4; ++i) classes.push_back(ClassesTiff(i));
  const json two_labels = {{{"id", 1}, {"name", "a"}}, {{"id", 2}, {"name", "b"}}};
  const int64_t classes_set = TiffSet(api, "classes", classes, two_labels);
  started = api.Json(
      "POST", "/api/retraining/start",
      {{"model_id", "tiff_classes"}, {"annotation_set_ids", {classes_set}}, {"params", params}},
      202);
  done = api.WaitForEnd(started["retraining_id"].get<int64_t>());
  ASSERT_EQ(done.value("status", ""), "completed") << done.dump(2);
  EXPECT_THAT(done["logs"].dump(), ::testing::HasSubstr("K = 3 classes: cross-entropy"));
  ASSERT_EQ(done["epochs"].size(), 4u) << done.dump(2);
  for (const json& e : done["epochs"]) {
    EXPECT_TRUE(e["metrics"].contains("mean_iou")) << e.dump();
    EXPECT_FALSE(e["metrics"].contains("iou")) << e.dump();
  }
  EXPECT_EQ(done["new_version"], 2);
  record = json::parse(ReadFile(dir.path() / "repo" / "tiff_classes" / "2" / "training.json"),
                       nullptr, false);
  EXPECT_EQ(record.value("parent_version", 0), 1) << record.dump();

  // A set with a label K or above: refused at start, naming it.
  std::vector<std::pair<std::string, std::string>> beyond = {ClassesTiff(7, 3)};
  const json three_labels = {
      {{"id", 1}, {"name", "a"}}, {{"id", 2}, {"name", "b"}}, {{"id", 3}, {"name", "c"}}};
  const int64_t beyond_set = TiffSet(api, "beyond", beyond, three_labels);
  HttpResponse r =
      api.Send("POST", "/api/retraining/start",
               json{{"model_id", "tiff_classes"}, {"annotation_set_ids", {beyond_set}}}.dump());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, ::testing::HasSubstr("has label 3 ('c') but model 'tiff_classes' outputs "
                                           "K = 3 classes (labels 0..2)"));
  // Without warm-up K is not known at start: the job's trainer finds class 3 in the mask.
  started =
      api.Json("POST", "/api/retraining/start",
               {{"model_id", "tiff_classes_cold"}, {"annotation_set_ids", {beyond_set}}}, 202);
  done = api.WaitForEnd(started["retraining_id"].get<int64_t>());
  EXPECT_EQ(done.value("status", ""), "failed") << done.dump(2);
  EXPECT_THAT(done.dump(), ::testing::HasSubstr("the annotation has class 3 but model "
                                                "'tiff_classes_cold' outputs K = 3 classes"));
  EXPECT_FALSE(fs::exists(dir.path() / "repo" / "tiff_classes_cold" / "2"));
}

// --- multiclass_argmax without a labels file: K from the model's output ---

// tiny_multiclass's network under multiclass_argmax without its labels file: a set label
// of K = 3 or above is refused at start when warm-up knows K (the model's output), and
// fails the job naming the image without warm-up (the trainer runs the model and reads
// the masks), instead of LibTorch's "Target out of bounds"; labels below K train.
TEST(RetrainingMulticlassTest, LabelsOfKOrAboveWithoutALabelsFileAreRefusedNamingThem) {
  TempDir dir;
  WriteUnlabelledMulticlassModel(dir.path() / "repo", "classes_warm", /*warmup=*/true);
  WriteUnlabelledMulticlassModel(dir.path() / "repo", "classes_cold", /*warmup=*/false);
  std::unique_ptr<Server> server =
      StartServer(dir.path(), "model_repository: repo\ntraining: {threads: 2}\n");
  ASSERT_NE(server, nullptr);
  Api api(server->port());

  const json three_labels = {
      {{"id", 1}, {"name", "a"}}, {{"id", 2}, {"name", "b"}}, {{"id", 3}, {"name", "c"}}};
  const int64_t beyond_set = TiffSet(api, "beyond", {ClassesTiff(7, 3)}, three_labels);
  HttpResponse r =
      api.Send("POST", "/api/retraining/start",
               json{{"model_id", "classes_warm"}, {"annotation_set_ids", {beyond_set}}}.dump());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, ::testing::HasSubstr("has label 3 ('c') but model 'classes_warm' outputs "
                                           "K = 3 classes (labels 0..2)"));
  json started =
      api.Json("POST", "/api/retraining/start",
               {{"model_id", "classes_cold"}, {"annotation_set_ids", {beyond_set}}}, 202);
  json done = api.WaitForEnd(started["retraining_id"].get<int64_t>());
  EXPECT_EQ(done.value("status", ""), "failed") << done.dump(2);
  EXPECT_THAT(done.dump(), ::testing::HasSubstr("img0.tif': the annotation has class 3 "
                                                "but model 'classes_cold' outputs K = 3 classes"));
  EXPECT_THAT(done.dump(), ::testing::Not(::testing::HasSubstr("out of bounds")));
  EXPECT_FALSE(fs::exists(dir.path() / "repo" / "classes_cold" / "2"));

  // Labels 1 and 2 fit K = 3: the warm model trains to version 2.
  const json two_labels = {{{"id", 1}, {"name", "a"}}, {{"id", 2}, {"name", "b"}}};
  const int64_t fit_set = TiffSet(api, "fit", {ClassesTiff(1), ClassesTiff(2)}, two_labels);
  started = api.Json("POST", "/api/retraining/start",
                     {{"model_id", "classes_warm"},
                      {"annotation_set_ids", {fit_set}},
                      {"params", {{"epochs", 1}, {"batch_size", 1}}}},
                     202);
  done = api.WaitForEnd(started["retraining_id"].get<int64_t>());
  ASSERT_EQ(done.value("status", ""), "completed") << done.dump(2);
  EXPECT_THAT(done["logs"].dump(),
              ::testing::HasSubstr("multiclass_argmax: the model outputs K = 3 classes"));
  EXPECT_EQ(done["new_version"], 2);
}

// --- a server killed mid-training ---

// The last epoch a job checkpointed (-1 before any).
int CheckpointEpoch(const json& job) {
  const json& e = job.contains("checkpoint_epoch") ? job["checkpoint_epoch"] : json();
  return e.is_number_integer() ? e.get<int>() : -1;
}

// Starts `infera serve` and returns its port (0 on failure).
uint16_t StartServe(const fs::path& config, Child* child) {
  *child = Spawn({InferaBinary().string(), "serve", "--config", config.string(), "--port", "0"});
  const std::string line = ReadUntil(child->out, "\n", seconds(120));
  const size_t colon = line.rfind(':');
  if (line.find("listening") == std::string::npos || colon == std::string::npos) {
    ADD_FAILURE() << "serve did not start: " << line;
    return 0;
  }
  return static_cast<uint16_t>(std::stoi(line.substr(colon + 1)));
}

TEST(RetrainingCrashTest, KilledMidTrainingResumesFromItsCheckpointAndAddsOneVersion) {
  TempDir dir;
  CopyModel("tiny_unet", dir.path() / "repo");
  const fs::path config = dir.path() / "config.yaml";
  WriteFile(config,
            "server: {access_log: false}\nmodel_repository: repo\njobs: {lease_s: 1}\n"
            "auth: {enabled: false}\n");
  constexpr int kEpochs = 200;

  Child first;
  const uint16_t port = StartServe(config, &first);
  ASSERT_NE(port, 0);
  int64_t id = 0;
  int checkpoint_before = 0;
  {
    Api api(port);
    const int64_t set = api.AnnotatedSet("crash", 16, 5);
    const json started = api.Json("POST", "/api/retraining/start",
                                  {{"model_id", "tiny_unet"},
                                   {"annotation_set_ids", {set}},
                                   {"params", {{"epochs", kEpochs}, {"seed", 11}}}},
                                  202);
    id = started["retraining_id"];
    // Killed once a few epochs are checkpointed, well before the end.
    const json j = api.WaitFor(
        id, [](const json& r) { return CheckpointEpoch(r) >= 3; }, seconds(60));
    checkpoint_before = CheckpointEpoch(j);
    kill(first.pid, SIGKILL);
    ASSERT_LT(j["progress"]["epochs_done"].get<int>(), kEpochs)
        << "the job finished before the kill; make it slower";
  }
  EXPECT_EQ(WaitExit(first.pid, seconds(10)), -1);
  close(first.out);
  close(first.err);
  ASSERT_GE(checkpoint_before, 3);
  ASSERT_TRUE(fs::exists(dir.path() / "data" / "training" / std::to_string(id)));

  Child second;
  const uint16_t port2 = StartServe(config, &second);
  ASSERT_NE(port2, 0);
  json done;
  {
    Api api(port2);
    done = api.WaitForEnd(id, seconds(120));
  }
  kill(second.pid, SIGTERM);
  EXPECT_EQ(WaitExit(second.pid, seconds(30)), 0);
  close(second.out);
  close(second.err);

  ASSERT_EQ(done.value("status", ""), "completed") << done.dump(2);
  EXPECT_EQ(done["attempts"], 2);
  // It resumed after the checkpoint it had (or a later one written before the kill
  // landed), not from the start.
  ASSERT_EQ(done["resumed_from_epoch"].size(), 1u) << done.dump(2);
  const int resumed = done["resumed_from_epoch"][0];
  EXPECT_GE(resumed, checkpoint_before);
  EXPECT_LT(resumed, kEpochs);
  EXPECT_THAT(done["logs"].dump(),
              ::testing::HasSubstr("resuming after epoch " + std::to_string(resumed)));
  // Every epoch once, in order.
  std::set<int> epochs;
  for (const json& e : done["epochs"]) EXPECT_TRUE(epochs.insert(e["epoch"].get<int>()).second);
  EXPECT_EQ(*epochs.begin(), 0);
  EXPECT_EQ(static_cast<int>(epochs.size()), *epochs.rbegin() + 1);
  // Exactly one version came of it.
  EXPECT_EQ(done["new_version"], 2);
  const json record = json::parse(
      ReadFile(dir.path() / "repo" / "tiny_unet" / "2" / "training.json"), nullptr, false);
  EXPECT_EQ(record.value("job_id", int64_t{0}), id) << record.dump();
  EXPECT_EQ(record.value("parent_version", 0), 1) << record.dump();
  EXPECT_FALSE(fs::exists(dir.path() / "repo" / "tiny_unet" / "3"));
  EXPECT_FALSE(fs::exists(dir.path() / "data" / "training" / std::to_string(id)));
}

}  // namespace
}  // namespace infera::testing
