// Open Inference Protocol conformance: server metadata, health, model metadata,
// readiness, configuration and statistics — expectations written from the protocol
// text (shared/reference/open-inference-protocol.md b.1, b.2, b.5, b.9).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/http_client.h"
#include "common/base64.h"
#include "support/server_fixture.h"

namespace infera {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

class V2MetadataTest : public testing::ServerFixture {
 protected:
  static void SetUpTestSuite() {
    StartSuiteServer({"tiny_cls", "versioned", "dict_out", "gray_cls"});
  }
  static void TearDownTestSuite() { StopSuiteServer(); }
  json GetJson(const std::string& target, int status = 200) {
    HttpResponse r = Get(target);
    EXPECT_EQ(r.status, status) << target << ": " << r.body;
    EXPECT_EQ(r.content_type, "application/json") << target;
    json body = json::parse(r.body, nullptr, false);
    EXPECT_TRUE(body.is_object()) << target << ": " << r.body;
    return body;
  }
  // Every failing call: non-2xx and {"error": "<message>"} (b.5).
  void ExpectError(const std::string& target, int status, const std::string& text) {
    ServerFixture::ExpectError(Get(target), status, text);
  }
};

TEST_F(V2MetadataTest, ServerMetadataHasNameVersionExtensions) {
  json body = GetJson("/v2");
  EXPECT_TRUE(body["name"].is_string());
  EXPECT_TRUE(body["version"].is_string());
  ASSERT_TRUE(body["extensions"].is_array());
  for (const auto& e : body["extensions"]) EXPECT_TRUE(e.is_string());
}

TEST_F(V2MetadataTest, HealthIsAnsweredByStatusCode) {
  EXPECT_EQ(Send("GET", "/v2/health/live").status, 200);
  EXPECT_EQ(Send("GET", "/v2/health/ready").status, 200);
  EXPECT_EQ(Send("POST", "/v2/health/live").status, 405);
  EXPECT_EQ(Send("POST", "/v2/health/ready").status, 405);
}

TEST_F(V2MetadataTest, ModelMetadataDescribesInputsAndOutputs) {
  json body = GetJson("/v2/models/tiny_cls");
  EXPECT_EQ(body["name"], "tiny_cls");
  EXPECT_EQ(body["versions"], json::array({"1"}));
  EXPECT_TRUE(body["platform"].is_string());
  ASSERT_EQ(body["inputs"].size(), 1u);
  EXPECT_EQ(body["inputs"][0]["name"], "input");
  EXPECT_EQ(body["inputs"][0]["datatype"], "FP32");
  EXPECT_EQ(body["inputs"][0]["shape"], json::array({-1, 3, 64, 64}));  // -1: variable batch
  ASSERT_EQ(body["outputs"].size(), 1u);
  EXPECT_EQ(body["outputs"][0]["name"], "output0");
  EXPECT_EQ(body["outputs"][0]["datatype"], "FP32");
  EXPECT_EQ(body["outputs"][0]["shape"], json::array({-1, 3}));
}

TEST_F(V2MetadataTest, OutputNamesComeFromTheConfig) {
  json body = GetJson("/v2/models/dict_out");
  ASSERT_EQ(body["outputs"].size(), 1u);
  EXPECT_EQ(body["outputs"][0]["name"], "logits");
  json gray = GetJson("/v2/models/gray_cls");
  EXPECT_EQ(gray["inputs"][0]["shape"], json::array({-1, 1, 32, 32}));
}

TEST_F(V2MetadataTest, VersionsAreAddressable) {
  EXPECT_EQ(GetJson("/v2/models/versioned")["versions"], json::array({"3"}));
  EXPECT_EQ(GetJson("/v2/models/versioned/versions/3")["name"], "versioned");
  EXPECT_EQ(Send("GET", "/v2/models/versioned/versions/3/ready").status, 200);
  ExpectError("/v2/models/versioned/versions/1", 404, "no loaded version 1");
  ExpectError("/v2/models/versioned/versions/1/ready", 404, "no loaded version 1");
  ExpectError("/v2/models/versioned/versions/v1", 400, "version");
}

TEST_F(V2MetadataTest, UnknownModelIs404Everywhere) {
  for (const char* suffix : {"", "/ready", "/config", "/stats", "/versions/1"}) {
    ExpectError(std::string("/v2/models/nope") + suffix, 404, "unknown model 'nope'");
  }
}

TEST_F(V2MetadataTest, ModelReadyNamesTheModel) {
  json body = GetJson("/v2/models/tiny_cls/ready");
  EXPECT_EQ(body["name"], "tiny_cls");
  EXPECT_EQ(body["ready"], true);
}

TEST_F(V2MetadataTest, ConfigCarriesBatchingAndInput) {
  json body = GetJson("/v2/models/tiny_cls/config");
  EXPECT_EQ(body["name"], "tiny_cls");
  EXPECT_EQ(body["batching"]["max_batch_size"], 8);
  EXPECT_EQ(body["input"]["size"], json::array({64, 64}));
}

TEST_F(V2MetadataTest, StatisticsCountInferencesAndExecutions) {
  const std::string png = testing::ReadFile(testing::TestModelsDir() / "images" / "disk.png");
  const std::string body = "{\"image\":\"" + Base64Encode(png.data(), png.size()) + "\"}";
  const json before = GetJson("/v2/models/gray_cls/stats")["model_stats"][0];
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Send("POST", "/predict/gray_cls", body).status, 200);
  const json after = GetJson("/v2/models/gray_cls/stats")["model_stats"][0];
  EXPECT_EQ(after["name"], "gray_cls");
  EXPECT_EQ(after["version"], "1");
  EXPECT_EQ(after["inference_count"].get<int>() - before["inference_count"].get<int>(), 3);
  EXPECT_GE(after["execution_count"].get<int>() - before["execution_count"].get<int>(), 1);
  EXPECT_EQ(after["inference_stats"]["success"]["count"].get<int>() -
                before["inference_stats"]["success"]["count"].get<int>(),
            3);
  EXPECT_GT(after["inference_stats"]["compute_infer"]["ns"].get<uint64_t>(),
            before["inference_stats"]["compute_infer"]["ns"].get<uint64_t>());
  EXPECT_GT(after["last_inference"].get<int64_t>(), 0);
  json all = GetJson("/v2/models/stats");
  EXPECT_EQ(all["model_stats"].size(), 4u);
}

// version_policy (Triton's): `all` serves versions 1 and 3 side by side, each reachable
// under /versions/{v}; the unversioned routes use the newest; a reload that changes the
// policy to {specific: [1]} leaves only version 1.
TEST(V2VersionPolicyTest, AllVersionsServeSideBySide) {
  testing::TempDir tmp;
  testing::CopyModel("versioned", tmp.path() / "repo");
  const std::filesystem::path yaml = tmp.path() / "repo" / "versioned" / "model.yaml";
  testing::WriteFile(yaml, testing::ReadFile(yaml) + "version_policy: all\n");
  std::unique_ptr<Server> server =
      testing::StartServer(tmp.path(), "model_repository: repo\nmodel_control: {mode: explicit}\n");
  ASSERT_NE(server, nullptr);
  HttpClient client;
  ASSERT_TRUE(client.Connect("127.0.0.1", server->port()).ok());
  auto get = [&](const std::string& target, const std::string& method = "GET") {
    StatusOr<HttpResponse> r = client.Send(method, target, "", {});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : HttpResponse{};
  };
  EXPECT_EQ(json::parse(get("/v2/models/versioned").body)["versions"], json::array({"1", "3"}));
  EXPECT_EQ(get("/v2/models/versioned/versions/1/ready").status, 200);
  EXPECT_EQ(get("/v2/models/versioned/versions/3/ready").status, 200);
  EXPECT_EQ(json::parse(get("/v2/models/versioned/config").body)["version"], 3);
  // The policy changes: a reload applies it.
  std::string text = testing::ReadFile(yaml);
  text.replace(text.find("version_policy: all"), std::string("version_policy: all").size(),
               "version_policy: {specific: [1]}");
  testing::WriteFile(yaml, text);
  EXPECT_EQ(get("/v2/repository/models/versioned/load", "POST").status, 200);
  EXPECT_EQ(json::parse(get("/v2/models/versioned").body)["versions"], json::array({"1"}));
  EXPECT_EQ(get("/v2/models/versioned/versions/3/ready").status, 404);
  server->Stop();
}

}  // namespace
}  // namespace infera
