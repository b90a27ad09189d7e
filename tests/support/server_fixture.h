// ServerFixture: a GoogleTest fixture whose suite shares one real server (in-process,
// real HTTP on a free port) and whose tests each get a keep-alive client.
//
// A derived suite calls StartSuiteServer from its SetUpTestSuite and StopSuiteServer
// from its TearDownTestSuite. Suites run one at a time, so the static server is never
// shared between two suites.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/http_client.h"
#include "support/test_env.h"

namespace infera::testing {

class ServerFixture : public ::testing::Test {
 protected:
  // Serves copies of the named test models (or the whole test repository when `models`
  // is empty) with `server_yaml` (e.g. "server: {max_body_mb: 2}\n") prepended.
  static void StartSuiteServer(const std::vector<std::string>& models,
                               const std::string& server_yaml = "");
  // Serves a copy of the model repository folder `repository` (uploads and model
  // control change the copy only).
  static void StartSuiteServerOn(const std::filesystem::path& repository,
                                 const std::string& server_yaml = "");
  static void StopSuiteServer();
  static Server* server() { return server_; }
  // The suite server's folder (its config, repo/ and data/).
  static std::filesystem::path server_dir() { return dir_->path(); }

  void SetUp() override;

  // Sends one request on the test's connection; a transport failure fails the test and
  // returns status 0.
  HttpResponse Send(const std::string& method, const std::string& target,
                    const std::string& body = "", const HttpHeaders& headers = {});
  HttpResponse Get(const std::string& target) { return Send("GET", target); }
  HttpResponse Post(const std::string& target, const std::string& body,
                    const HttpHeaders& headers = {}) {
    return Send("POST", target, body, headers);
  }

  // Polls GET /api/inferences/{id} until the job is completed, failed or canceled
  // (bounded by `limit`: a test failure, and the last record, when it runs out).
  nlohmann::json WaitForJob(int64_t id, std::chrono::seconds limit = std::chrono::seconds(60));

  // Asserts a JSON error body {"error": "...text..."} with `status`.
  static void ExpectError(const HttpResponse& r, int status, const std::string& text);

  HttpClient client_;

 private:
  static TempDir* dir_;
  static Server* server_;
};

}  // namespace infera::testing
