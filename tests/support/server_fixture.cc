#include "support/server_fixture.h"

#include <gmock/gmock.h>

#include <nlohmann/json.hpp>
#include <thread>

namespace infera::testing {

TempDir* ServerFixture::dir_ = nullptr;
Server* ServerFixture::server_ = nullptr;

void ServerFixture::StartSuiteServer(const std::vector<std::string>& models,
                                     const std::string& server_yaml) {
  dir_ = new TempDir();
  std::string repo = (TestModelsDir() / "repo").string();
  if (!models.empty()) {
    for (const std::string& m : models) CopyModel(m, dir_->path() / "repo");
    repo = "repo";
  }
  server_ = StartServer(dir_->path(), server_yaml + "model_repository: " + repo + "\n").release();
}

void ServerFixture::StartSuiteServerOn(const std::filesystem::path& repository,
                                       const std::string& server_yaml) {
  dir_ = new TempDir();
  std::filesystem::copy(repository, dir_->path() / "repo",
                        std::filesystem::copy_options::recursive);
  server_ = StartServer(dir_->path(), server_yaml + "model_repository: repo\n").release();
}

void ServerFixture::StopSuiteServer() {
  delete server_;
  server_ = nullptr;
  delete dir_;
  dir_ = nullptr;
}

void ServerFixture::SetUp() {
  ASSERT_NE(server_, nullptr);
  ASSERT_TRUE(client_.Connect("127.0.0.1", server_->port()).ok());
}

HttpResponse ServerFixture::Send(const std::string& method, const std::string& target,
                                 const std::string& body, const HttpHeaders& headers) {
  StatusOr<HttpResponse> r = client_.Send(method, target, body, headers);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : HttpResponse{0, "", {}, "", nullptr};
}

nlohmann::json ServerFixture::WaitForJob(int64_t id, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  nlohmann::json job;
  while (std::chrono::steady_clock::now() < deadline) {
    HttpResponse r = Get("/api/inferences/" + std::to_string(id));
    EXPECT_EQ(r.status, 200) << r.body;
    job = nlohmann::json::parse(r.body, nullptr, false);
    const std::string status = job.is_object() ? job.value("status", "") : "";
    if (status == "completed" || status == "failed" || status == "canceled") return job;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "job " << id << " did not finish: " << job.dump();
  return job;
}

void ServerFixture::ExpectError(const HttpResponse& r, int status, const std::string& text) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_TRUE(body.is_object() && body.contains("error")) << r.body;
  ASSERT_TRUE(body["error"].is_string()) << r.body;
  EXPECT_THAT(body["error"].get<std::string>(), ::testing::HasSubstr(text));
}

}  // namespace infera::testing
