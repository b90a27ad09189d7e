// The gRPC API (inference.GRPCInferenceService, proto/grpc_service.proto) end to end: a
// real server with server.grpc_port: 0, real test models, a C++ client built from the
// same .proto. Every RPC; typed and raw tensors; values byte-equal to HTTP /v2's for
// the same input; errors and their codes; concurrent clients each getting their own
// results; auth off (the suite) and on (GrpcAuthTest); model control (explicit mode).
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <proto/grpc_service.grpc.pb.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "imaging/codec.h"
#include "imaging/preprocess.h"
#include "server/server.h"
#include "support/otlp_receiver.h"
#include "support/server_fixture.h"

namespace infera {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

// The image as tiny_cls's input tensor [1,3,64,64].
std::vector<float> Preprocessed(const std::string& file) {
  const std::string bytes = testing::ReadFile(testing::TestModelsDir() / "images" / file);
  auto image =
      DecodeImage(std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
  InputSpec spec;
  spec.size = std::pair<int, int>{64, 64};
  auto tensor = ImageToTensor(*image, spec);
  return std::vector<float>(tensor->data_as<float>(),
                            tensor->data_as<float>() + tensor->num_elements());
}

std::unique_ptr<inference::GRPCInferenceService::Stub> Connect(uint16_t port) {
  return inference::GRPCInferenceService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
}

// A context with a 30 s deadline (every call bounded in time) and optional metadata.
std::unique_ptr<grpc::ClientContext> Context(const std::string& authorization = "") {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!authorization.empty()) ctx->AddMetadata("authorization", authorization);
  return ctx;
}

// A tiny_cls request with `values` ([batch,3,64,64]) as typed fp32_contents.
inference::ModelInferRequest TypedRequest(const std::vector<float>& values, int64_t batch = 1) {
  inference::ModelInferRequest req;
  req.set_model_name("tiny_cls");
  auto* in = req.add_inputs();
  in->set_name("input");
  in->set_datatype("FP32");
  for (int64_t d : {batch, int64_t{3}, int64_t{64}, int64_t{64}}) in->add_shape(d);
  in->mutable_contents()->mutable_fp32_contents()->Add(values.begin(), values.end());
  return req;
}

inference::ModelInferRequest RawRequest(const std::vector<float>& values, int64_t batch = 1) {
  inference::ModelInferRequest req = TypedRequest({}, batch);
  req.mutable_inputs(0)->clear_contents();
  req.add_raw_input_contents(
      std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  return req;
}

std::vector<float> RawFloats(const std::string& bytes) {
  std::vector<float> out(bytes.size() / sizeof(float));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
  return out;
}

class GrpcTest : public testing::ServerFixture {
 protected:
  static void SetUpTestSuite() {
    StartSuiteServer({"tiny_cls", "tuple_out", "versioned"},
                     "server: {grpc_port: 0, max_body_mb: 2}\n");
  }
  static void TearDownTestSuite() { StopSuiteServer(); }
  void SetUp() override {
    ServerFixture::SetUp();
    ASSERT_NE(server()->grpc_port(), 0);
    stub_ = Connect(server()->grpc_port());
    input_ = Preprocessed("disk.png");
  }

  // HTTP /v2's answer for `values` (binary data extension: the exact output bytes).
  std::vector<float> HttpLogits(const std::vector<float>& values, int64_t batch = 1) {
    json header = {{"inputs",
                    {{{"name", "input"},
                      {"shape", {batch, 3, 64, 64}},
                      {"datatype", "FP32"},
                      {"parameters", {{"binary_data_size", values.size() * 4}}}}}},
                   {"parameters", {{"binary_data_output", true}}}};
    const std::string h = header.dump();
    std::string body = h + std::string(reinterpret_cast<const char*>(values.data()),
                                       values.size() * sizeof(float));
    HttpResponse r = Post("/v2/models/tiny_cls/infer", body,
                          {{"Inference-Header-Content-Length", std::to_string(h.size())}});
    EXPECT_EQ(r.status, 200) << r.body;
    const size_t length = std::stoul(r.headers["inference-header-content-length"]);
    return RawFloats(r.body.substr(length));
  }

  grpc::Status Infer(const inference::ModelInferRequest& req, inference::ModelInferResponse* res,
                     const std::string& authorization = "") {
    return stub_->ModelInfer(Context(authorization).get(), req, res);
  }

  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
  std::vector<float> input_;
};

TEST_F(GrpcTest, HealthAndServerMetadata) {
  inference::ServerLiveResponse live;
  ASSERT_TRUE(stub_->ServerLive(Context().get(), {}, &live).ok());
  EXPECT_TRUE(live.live());
  inference::ServerReadyResponse ready;
  ASSERT_TRUE(stub_->ServerReady(Context().get(), {}, &ready).ok());
  EXPECT_TRUE(ready.ready());
  inference::ServerMetadataResponse meta;
  ASSERT_TRUE(stub_->ServerMetadata(Context().get(), {}, &meta).ok());
  const json http = json::parse(Get("/v2").body);
  EXPECT_EQ(meta.name(), http["name"]);
  EXPECT_EQ(meta.version(), http["version"]);
  EXPECT_EQ(std::vector<std::string>(meta.extensions().begin(), meta.extensions().end()),
            http["extensions"].get<std::vector<std::string>>());
}

TEST_F(GrpcTest, ModelReadyMetadataConfigAsHttp) {
  inference::ModelReadyRequest ready_req;
  ready_req.set_name("tiny_cls");
  inference::ModelReadyResponse ready;
  ASSERT_TRUE(stub_->ModelReady(Context().get(), ready_req, &ready).ok());
  EXPECT_TRUE(ready.ready());
  ready_req.set_name("nope");
  grpc::Status s = stub_->ModelReady(Context().get(), ready_req, &ready);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);

  inference::ModelMetadataRequest meta_req;
  meta_req.set_name("tiny_cls");
  inference::ModelMetadataResponse meta;
  ASSERT_TRUE(stub_->ModelMetadata(Context().get(), meta_req, &meta).ok());
  const json http = json::parse(Get("/v2/models/tiny_cls").body);
  EXPECT_EQ(meta.name(), "tiny_cls");
  EXPECT_EQ(meta.platform(), http["platform"]);
  ASSERT_EQ(meta.versions_size(), 1);
  EXPECT_EQ(meta.versions(0), "1");
  ASSERT_EQ(meta.inputs_size(), 1);
  EXPECT_EQ(meta.inputs(0).name(), http["inputs"][0]["name"]);
  EXPECT_EQ(meta.inputs(0).datatype(), http["inputs"][0]["datatype"]);
  EXPECT_EQ(std::vector<int64_t>(meta.inputs(0).shape().begin(), meta.inputs(0).shape().end()),
            http["inputs"][0]["shape"].get<std::vector<int64_t>>());
  ASSERT_EQ(meta.outputs_size(), 1);
  EXPECT_EQ(meta.outputs(0).name(), "output0");

  inference::ModelConfigRequest config_req;
  config_req.set_name("tiny_cls");
  inference::ModelConfigResponse config;
  ASSERT_TRUE(stub_->ModelConfig(Context().get(), config_req, &config).ok());
  const json http_config = json::parse(Get("/v2/models/tiny_cls/config").body);
  EXPECT_EQ(config.config().name(), "tiny_cls");
  EXPECT_EQ(config.config().max_batch_size(), http_config["batching"]["max_batch_size"]);
  ASSERT_EQ(config.config().input_size(), 1);
  EXPECT_EQ(config.config().input(0).data_type(), inference::TYPE_FP32);
  EXPECT_EQ(config.config().input(0).dims_size(), 3);  // without the batch dimension
  EXPECT_EQ(json::parse(config.config().parameters().at("infera_config").string_value())["name"],
            "tiny_cls");

  // Versions: as HTTP's /versions/{v}.
  meta_req.set_name("versioned");
  meta_req.set_version("3");
  ASSERT_TRUE(stub_->ModelMetadata(Context().get(), meta_req, &meta).ok());
  meta_req.set_version("9");
  EXPECT_EQ(stub_->ModelMetadata(Context().get(), meta_req, &meta).error_code(),
            grpc::StatusCode::NOT_FOUND);
  meta_req.set_version("x");
  s = stub_->ModelMetadata(Context().get(), meta_req, &meta);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("version must be a positive integer"));
  config_req.set_name("nope");
  s = stub_->ModelConfig(Context().get(), config_req, &config);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("unknown model 'nope'"));
}

TEST_F(GrpcTest, TypedTensorsGiveHttpsValuesInRawOutputs) {
  inference::ModelInferRequest req = TypedRequest(input_);
  req.set_id("42");
  inference::ModelInferResponse res;
  grpc::Status s = Infer(req, &res);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(res.model_name(), "tiny_cls");
  EXPECT_EQ(res.model_version(), "1");
  EXPECT_EQ(res.id(), "42");
  ASSERT_EQ(res.outputs_size(), 1);
  EXPECT_EQ(res.outputs(0).name(), "output0");
  EXPECT_EQ(res.outputs(0).datatype(), "FP32");
  EXPECT_EQ(std::vector<int64_t>(res.outputs(0).shape().begin(), res.outputs(0).shape().end()),
            (std::vector<int64_t>{1, 3}));
  ASSERT_EQ(res.raw_output_contents_size(), 1);  // Triton's default for gRPC
  EXPECT_EQ(RawFloats(res.raw_output_contents(0)), HttpLogits(input_));
}

TEST_F(GrpcTest, RawTensorsAndTypedOutputsOnRequest) {
  std::vector<float> two = input_;
  const std::vector<float> square = Preprocessed("square.png");
  two.insert(two.end(), square.begin(), square.end());
  inference::ModelInferRequest req = RawRequest(two, 2);
  (*req.mutable_parameters())["binary_data_output"].set_bool_param(false);
  inference::ModelInferResponse res;
  grpc::Status s = Infer(req, &res);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(res.raw_output_contents_size(), 0);
  ASSERT_EQ(res.outputs_size(), 1);
  const auto& got = res.outputs(0).contents().fp32_contents();
  EXPECT_EQ(std::vector<float>(got.begin(), got.end()), HttpLogits(two, 2));
}

TEST_F(GrpcTest, ClassificationAsHttp) {
  inference::ModelInferRequest req = TypedRequest(input_);
  auto* out = req.add_outputs();
  out->set_name("output0");
  (*out->mutable_parameters())["classification"].set_int64_param(2);
  (*out->mutable_parameters())["binary_data"].set_bool_param(false);
  inference::ModelInferResponse res;
  grpc::Status s = Infer(req, &res);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(res.outputs_size(), 1);
  EXPECT_EQ(res.outputs(0).datatype(), "BYTES");
  const json http_req = {
      {"inputs",
       {{{"name", "input"}, {"shape", {1, 3, 64, 64}}, {"datatype", "FP32"}, {"data", input_}}}},
      {"outputs", {{{"name", "output0"}, {"parameters", {{"classification", 2}}}}}}};
  HttpResponse http = Post("/v2/models/tiny_cls/infer", http_req.dump());
  ASSERT_EQ(http.status, 200) << http.body;
  const std::vector<std::string> got(res.outputs(0).contents().bytes_contents().begin(),
                                     res.outputs(0).contents().bytes_contents().end());
  EXPECT_EQ(got, json::parse(http.body)["outputs"][0]["data"].get<std::vector<std::string>>());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_THAT(got[0], ::testing::EndsWith(":disk"));
  // Raw (the default): 4-byte length-prefixed strings.
  out->mutable_parameters()->erase("binary_data");
  ASSERT_TRUE(Infer(req, &res).ok());
  ASSERT_EQ(res.raw_output_contents_size(), 1);
  const std::string& raw = res.raw_output_contents(0);
  uint32_t length = 0;
  std::memcpy(&length, raw.data(), 4);
  EXPECT_EQ(raw.substr(4, length), got[0]);
}

TEST_F(GrpcTest, BytesInputsAreEncodedImages) {
  const std::string disk = testing::ReadFile(testing::TestModelsDir() / "images" / "disk.png");
  inference::ModelInferRequest req;
  req.set_model_name("tiny_cls");
  auto* in = req.add_inputs();
  in->set_name("input");
  in->set_datatype("BYTES");
  in->add_shape(1);
  in->mutable_contents()->add_bytes_contents(disk);
  inference::ModelInferResponse res;
  grpc::Status s = Infer(req, &res);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(RawFloats(res.raw_output_contents(0)), HttpLogits(input_));
  // The same image in raw form (length-prefixed).
  in->clear_contents();
  std::string element(4, '\0');
  const auto n = static_cast<uint32_t>(disk.size());
  std::memcpy(element.data(), &n, 4);
  req.add_raw_input_contents(element + disk);
  ASSERT_TRUE(Infer(req, &res).ok());
  EXPECT_EQ(RawFloats(res.raw_output_contents(0)), HttpLogits(input_));
}

TEST_F(GrpcTest, ErrorsHaveTheirCodes) {
  auto expect = [&](const inference::ModelInferRequest& req, grpc::StatusCode code,
                    const std::string& text) {
    inference::ModelInferResponse res;
    grpc::Status s = Infer(req, &res);
    EXPECT_EQ(s.error_code(), code) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr(text));
  };
  inference::ModelInferRequest req = TypedRequest(input_);
  req.set_model_name("nope");
  expect(req, grpc::StatusCode::NOT_FOUND, "unknown model 'nope'");
  req = TypedRequest(std::vector<float>(10, 0.0f));
  expect(req, grpc::StatusCode::INVALID_ARGUMENT, "needs 12288 values in fp32_contents, got 10");
  req = TypedRequest(input_);
  req.mutable_inputs(0)->mutable_contents()->add_int_contents(1);
  expect(req, grpc::StatusCode::INVALID_ARGUMENT, "not int_contents");
  req = TypedRequest(input_);
  req.mutable_inputs(0)->set_datatype("float32");
  expect(req, grpc::StatusCode::INVALID_ARGUMENT, "unknown datatype 'float32'");
  req = TypedRequest(input_);
  req.add_raw_input_contents("xxxx");
  expect(req, grpc::StatusCode::INVALID_ARGUMENT, "exclusive");
  req = RawRequest(input_);
  req.mutable_raw_input_contents(0)->resize(100);
  expect(req, grpc::StatusCode::INVALID_ARGUMENT, "needs 49152 bytes, got 100");
  req = RawRequest(input_);
  req.mutable_inputs(0)->set_datatype("FP64");
  req.mutable_raw_input_contents(0)->resize(3 * 64 * 64 * 8);
  expect(req, grpc::StatusCode::INVALID_ARGUMENT, "datatype FP64 does not match");  // the core's
  req = TypedRequest(input_);
  req.mutable_inputs(0)->set_name("other");
  expect(req, grpc::StatusCode::INVALID_ARGUMENT, "'other'");
  req = TypedRequest(input_);
  req.add_outputs()->set_name("nope");
  expect(req, grpc::StatusCode::INVALID_ARGUMENT, "'nope'");
  req = TypedRequest(input_);
  (*req.mutable_parameters())["priority"].set_string_param("high");
  expect(req, grpc::StatusCode::INVALID_ARGUMENT, "priority");
  req = TypedRequest(input_);
  (*req.mutable_parameters())["timeout"];  // no value
  expect(req, grpc::StatusCode::INVALID_ARGUMENT, "parameter 'timeout' has no value");
  req = RawRequest(input_);
  req.mutable_inputs(0)->set_datatype("FP16");
  req.mutable_raw_input_contents(0)->resize(3 * 64 * 64 * 2);
  expect(req, grpc::StatusCode::INVALID_ARGUMENT, "input 'input'");
  req = TypedRequest({}, 1);
  req.mutable_inputs(0)->set_datatype("FP16");
  expect(req, grpc::StatusCode::INVALID_ARGUMENT, "FP16 has no typed contents");
  // Over server.max_body_mb (2 MiB): refused before decoding.
  req = RawRequest(std::vector<float>(3 * 64 * 64 * 50, 0.0f), 50);  // 2.4 MiB
  expect(req, grpc::StatusCode::RESOURCE_EXHAUSTED, "");
  // The service is still fine afterwards.
  inference::ModelInferResponse res;
  EXPECT_TRUE(Infer(TypedRequest(input_), &res).ok());
}

TEST_F(GrpcTest, ConcurrentClientsEachGetTheirOwnResults) {
  constexpr int kClients = 8;
  constexpr int kRounds = 5;
  // Each client its own input (the image scaled) and HTTP's answer for it.
  std::vector<std::vector<float>> inputs(kClients);
  std::vector<std::vector<float>> expected(kClients);
  for (int c = 0; c < kClients; ++c) {
    inputs[c] = input_;
    for (float& v : inputs[c]) v *= 0.5f + 0.25f * static_cast<float>(c);
    expected[c] = HttpLogits(inputs[c]);
  }
  std::vector<int> good(kClients, 0);
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      auto stub = Connect(server()->grpc_port());  // its own channel
      for (int r = 0; r < kRounds; ++r) {
        inference::ModelInferRequest req = c % 2 ? RawRequest(inputs[c]) : TypedRequest(inputs[c]);
        req.set_id(std::to_string(c) + "/" + std::to_string(r));
        inference::ModelInferResponse res;
        if (!stub->ModelInfer(Context().get(), req, &res).ok()) continue;
        if (res.id() == req.id() && res.raw_output_contents_size() == 1 &&
            RawFloats(res.raw_output_contents(0)) == expected[c]) {
          ++good[c];
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int c = 0; c < kClients; ++c) EXPECT_EQ(good[c], kRounds) << "client " << c;
  for (int c = 1; c < kClients; ++c) EXPECT_NE(expected[c], expected[0]);
}

TEST_F(GrpcTest, StatisticsAndRepositoryIndex) {
  inference::ModelInferResponse res;
  ASSERT_TRUE(Infer(TypedRequest(input_), &res).ok());
  inference::ModelStatisticsRequest req;
  req.set_name("tiny_cls");
  inference::ModelStatisticsResponse stats;
  ASSERT_TRUE(stub_->ModelStatistics(Context().get(), req, &stats).ok());
  ASSERT_EQ(stats.model_stats_size(), 1);
  const auto& m = stats.model_stats(0);
  const json http = json::parse(Get("/v2/models/tiny_cls/stats").body)["model_stats"][0];
  EXPECT_EQ(m.name(), "tiny_cls");
  EXPECT_EQ(m.version(), "1");
  EXPECT_GE(m.inference_count(), 1u);
  EXPECT_EQ(m.inference_count(), http["inference_count"].get<uint64_t>());
  EXPECT_EQ(m.execution_count(), http["execution_count"].get<uint64_t>());
  EXPECT_EQ(m.inference_stats().success().count(),
            http["inference_stats"]["success"]["count"].get<uint64_t>());
  EXPECT_GT(m.inference_stats().compute_infer().ns(), 0u);
  req.set_name("");
  ASSERT_TRUE(stub_->ModelStatistics(Context().get(), req, &stats).ok());
  EXPECT_EQ(stats.model_stats_size(), 3);  // tiny_cls, tuple_out, versioned

  inference::RepositoryIndexRequest index_req;
  index_req.set_ready(true);
  inference::RepositoryIndexResponse index;
  ASSERT_TRUE(stub_->RepositoryIndex(Context().get(), index_req, &index).ok());
  std::vector<std::string> names;
  for (const auto& row : index.models()) {
    names.push_back(row.name());
    EXPECT_EQ(row.state(), "READY");
  }
  EXPECT_THAT(names, ::testing::IsSupersetOf({"tiny_cls", "tuple_out", "versioned"}));
}

// Model control over gRPC in explicit mode; load parameters are refused.
TEST(GrpcModelControlTest, LoadAndUnload) {
  testing::TempDir tmp;
  testing::CopyModel("tiny_cls", tmp.path() / "repo");
  auto server = testing::StartServer(
      tmp.path(),
      "server: {grpc_port: 0}\nmodel_repository: repo\nmodel_control: {mode: explicit}\n");
  ASSERT_NE(server, nullptr);
  auto stub = Connect(server->grpc_port());
  inference::ModelReadyRequest ready_req;
  ready_req.set_name("tiny_cls");
  inference::ModelReadyResponse ready;
  ASSERT_TRUE(stub->ModelReady(Context().get(), ready_req, &ready).ok());
  EXPECT_TRUE(ready.ready());  // explicit mode loads the repository at start too

  inference::RepositoryModelUnloadRequest unload;
  unload.set_model_name("tiny_cls");
  inference::RepositoryModelUnloadResponse unloaded;
  grpc::Status s = stub->RepositoryModelUnload(Context().get(), unload, &unloaded);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // Unloaded: the repository knows it, so not ready rather than NOT_FOUND.
  ASSERT_TRUE(stub->ModelReady(Context().get(), ready_req, &ready).ok());
  EXPECT_FALSE(ready.ready());
  inference::RepositoryIndexRequest index_req;
  inference::RepositoryIndexResponse index;
  ASSERT_TRUE(stub->RepositoryIndex(Context().get(), index_req, &index).ok());
  ASSERT_EQ(index.models_size(), 1);
  EXPECT_EQ(index.models(0).state(), "UNAVAILABLE");
  inference::ModelInferResponse res;
  s = stub->ModelInfer(Context().get(), TypedRequest(Preprocessed("disk.png")), &res);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);

  inference::RepositoryModelLoadRequest load;
  load.set_model_name("tiny_cls");
  (*load.mutable_parameters())["config"].set_string_param("{}");
  inference::RepositoryModelLoadResponse loaded;
  s = stub->RepositoryModelLoad(Context().get(), load, &loaded);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("'config' is not supported"));
  load.clear_parameters();
  s = stub->RepositoryModelLoad(Context().get(), load, &loaded);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(stub->ModelReady(Context().get(), ready_req, &ready).ok());
  EXPECT_TRUE(ready.ready());
  s = stub->ModelInfer(Context().get(), TypedRequest(Preprocessed("disk.png")), &res);
  EXPECT_TRUE(s.ok()) << s.error_message();
  load.set_model_name("nope");
  s = stub->RepositoryModelLoad(Context().get(), load, &loaded);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
}

constexpr const char* kAdminPassword = "admin-test-password";

// auth.protect_inference: the `authorization` metadata, as HTTP's Authorization header.
class GrpcAuthTest : public testing::ServerFixture {
 protected:
  static void SetUpTestSuite() {
    ::setenv("INFERA_ADMIN_PASSWORD", kAdminPassword, 1);
    StartSuiteServer({"tiny_cls"},
                     "server: {grpc_port: 0}\nauth: {enabled: true, protect_inference: true}\n");
    ::unsetenv("INFERA_ADMIN_PASSWORD");
  }
  static void TearDownTestSuite() { StopSuiteServer(); }
};

TEST_F(GrpcAuthTest, InferenceNeedsATokenOrKeyAndControlAnAdmin) {
  auto stub = Connect(server()->grpc_port());
  // Health and server metadata stay open.
  inference::ServerLiveResponse live;
  EXPECT_TRUE(stub->ServerLive(Context().get(), {}, &live).ok());
  inference::ServerMetadataResponse meta;
  EXPECT_TRUE(stub->ServerMetadata(Context().get(), {}, &meta).ok());

  inference::ModelInferRequest req = TypedRequest(Preprocessed("disk.png"));
  inference::ModelInferResponse res;
  grpc::Status s = stub->ModelInfer(Context().get(), req, &res);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  s = stub->ModelInfer(Context("Bearer not.a.jwt").get(), req, &res);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  inference::ModelMetadataRequest meta_req;
  meta_req.set_name("tiny_cls");
  inference::ModelMetadataResponse model_meta;
  EXPECT_EQ(stub->ModelMetadata(Context().get(), meta_req, &model_meta).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  HttpResponse login =
      Post("/api/auth/login", json{{"username", "admin"}, {"password", kAdminPassword}}.dump());
  ASSERT_EQ(login.status, 200) << login.body;
  const std::string token = json::parse(login.body)["access_token"];
  s = stub->ModelInfer(Context("Bearer " + token).get(), req, &res);
  EXPECT_TRUE(s.ok()) << s.error_message();
  // An API key works the same way.
  HttpResponse key =
      Post("/api/auth/keys", json{{"name", "grpc"}}.dump(), {{"Authorization", "Bearer " + token}});
  ASSERT_EQ(key.status, 201) << key.body;
  const std::string secret = json::parse(key.body)["key"];
  s = stub->ModelInfer(Context("Bearer " + secret).get(), req, &res);
  EXPECT_TRUE(s.ok()) << s.error_message();
  // Model control needs an admin: none at all is UNAUTHENTICATED.
  inference::RepositoryModelUnloadRequest unload;
  unload.set_model_name("tiny_cls");
  inference::RepositoryModelUnloadResponse unloaded;
  EXPECT_EQ(stub->RepositoryModelUnload(Context().get(), unload, &unloaded).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

// Tracing on gRPC: ModelInfer continues the caller's traceparent metadata (sampled
// parents are traced even at rate 0), answers its own traceparent in the initial
// metadata, and the core's spans (queue wait, compute, the batch) join the call's trace.
TEST(GrpcTracingTest, ModelInferContinuesTheCallersTraceAndAnswersItsTraceparent) {
  testing::OtlpReceiver receiver;
  testing::TempDir dir;
  testing::CopyModel("tiny_cls", dir.path() / "repo");
  std::unique_ptr<Server> server = testing::StartServer(
      dir.path(), "model_repository: repo\nserver: {grpc_port: 0}\ntracing: {endpoint: " +
                      receiver.endpoint() + ", rate: 0.0, service_name: infera-grpc}\n");
  ASSERT_NE(server, nullptr);
  auto stub = Connect(server->grpc_port());
  constexpr char kTrace[] = "4bf92f3577b34da6a3ce929d0e0e4736";
  constexpr char kParent[] = "00f067aa0ba902b7";
  auto ctx = Context();
  ctx->AddMetadata("traceparent", std::string("00-") + kTrace + "-" + kParent + "-01");
  inference::ModelInferResponse response;
  const grpc::Status status =
      stub->ModelInfer(ctx.get(), RawRequest(Preprocessed("disk.png")), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const auto& metadata = ctx->GetServerInitialMetadata();
  auto answered = metadata.find("traceparent");
  ASSERT_NE(answered, metadata.end());
  const std::string traceparent(answered->second.data(), answered->second.size());
  EXPECT_THAT(traceparent, ::testing::StartsWith(std::string("00-") + kTrace + "-"));
  EXPECT_THAT(traceparent, ::testing::EndsWith("-01"));

  const std::string call_name = "inference.GRPCInferenceService/ModelInfer";
  std::vector<testing::ReceivedSpan> spans = receiver.WaitFor([&](const auto& all) {
    bool call = false, compute = false;
    for (const testing::ReceivedSpan& s : all) {
      call = call || s.name() == call_name;
      compute = compute || (s.trace_id() == kTrace && s.name() == "compute");
    }
    return call && compute;
  });
  const testing::ReceivedSpan* call = nullptr;
  for (const testing::ReceivedSpan& s : spans) {
    if (s.name() == call_name) call = &s;
  }
  ASSERT_NE(call, nullptr);
  EXPECT_EQ(call->trace_id(), kTrace);
  EXPECT_EQ(call->parent_span_id(), kParent);
  EXPECT_EQ(traceparent.substr(36, 16), call->span_id());
  EXPECT_EQ(call->service_name, "infera-grpc");
  EXPECT_EQ(call->string_attribute("rpc.system"), "grpc");
  EXPECT_EQ(call->string_attribute("rpc.method"), "ModelInfer");
  EXPECT_EQ(call->string_attribute("infera.model.name"), "tiny_cls");
  bool child = false;
  for (const testing::ReceivedSpan& s : spans) {
    child = child || (s.trace_id() == kTrace && s.parent_span_id() == call->span_id());
  }
  EXPECT_TRUE(child) << "no span of the core is a child of the call's span";
  server->Stop();
}

// A user's token on model control (admin-only whenever auth is on) is PERMISSION_DENIED
// with HTTP's 403 message, and the model stays loaded; the same token may infer.
TEST_F(GrpcAuthTest, AUserTokenOnModelControlIsPermissionDeniedAsHttpAnswers403) {
  auto stub = Connect(server()->grpc_port());
  HttpResponse login =
      Post("/api/auth/login", json{{"username", "admin"}, {"password", kAdminPassword}}.dump());
  ASSERT_EQ(login.status, 200) << login.body;
  const std::string admin = json::parse(login.body)["access_token"];
  HttpResponse created = Post(
      "/api/users",
      json{{"username", "grpc-user"}, {"password", "grpc-user-password"}, {"role", "user"}}.dump(),
      {{"Authorization", "Bearer " + admin}});
  ASSERT_TRUE(created.status == 201 || created.status == 409) << created.body;
  login = Post("/api/auth/login",
               json{{"username", "grpc-user"}, {"password", "grpc-user-password"}}.dump());
  ASSERT_EQ(login.status, 200) << login.body;
  const std::string user = "Bearer " + json::parse(login.body)["access_token"].get<std::string>();

  // HTTP: 403 with its message.
  HttpResponse http =
      Post("/v2/repository/models/tiny_cls/unload", "{}", {{"Authorization", user}});
  EXPECT_EQ(http.status, 403) << http.body;
  const std::string message = json::parse(http.body, nullptr, false).value("error", "");
  EXPECT_EQ(message, "this needs an admin");

  // gRPC: PERMISSION_DENIED with the same message, for unload and load alike.
  inference::RepositoryModelUnloadRequest unload;
  unload.set_model_name("tiny_cls");
  inference::RepositoryModelUnloadResponse unloaded;
  grpc::Status s = stub->RepositoryModelUnload(Context(user).get(), unload, &unloaded);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(s.error_message(), message);
  inference::RepositoryModelLoadRequest load;
  load.set_model_name("tiny_cls");
  inference::RepositoryModelLoadResponse loaded;
  s = stub->RepositoryModelLoad(Context(user).get(), load, &loaded);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();

  // Nothing was unloaded: the user still infers, the model is ready.
  inference::ModelReadyRequest ready_req;
  ready_req.set_name("tiny_cls");
  inference::ModelReadyResponse ready;
  ASSERT_TRUE(stub->ModelReady(Context(user).get(), ready_req, &ready).ok());
  EXPECT_TRUE(ready.ready());
  inference::ModelInferResponse res;
  s = stub->ModelInfer(Context(user).get(), TypedRequest(Preprocessed("disk.png")), &res);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

// Every metadata and control RPC has its server span, as HTTP's requests do: named
// inference.GRPCInferenceService/<method>, OpenTelemetry's rpc.* attributes (system,
// service, method, grpc status code), the caller's traceparent continued (here at rate
// 0: only the propagated sampled context is traced) and the span's own traceparent
// answered; an error ends the span as an error with its code.
TEST(GrpcTracingTest, MetadataAndControlRpcsAreTracedWithRpcAttributes) {
  testing::OtlpReceiver receiver;
  testing::TempDir dir;
  testing::CopyModel("tiny_cls", dir.path() / "repo");
  std::unique_ptr<Server> server =
      testing::StartServer(dir.path(),
                           "model_repository: repo\nmodel_control: {mode: explicit}\n"
                           "server: {grpc_port: 0}\ntracing: {endpoint: " +
                               receiver.endpoint() + ", rate: 0.0, service_name: infera-grpc}\n");
  ASSERT_NE(server, nullptr);
  auto stub = Connect(server->grpc_port());
  constexpr char kTrace[] = "0af7651916cd43dd8448eb211c80319c";

  struct Call {
    std::string method;
    std::string parent;     // the caller's span id sent in traceparent
    grpc::StatusCode code;  // expected
    std::string answered;   // the traceparent the server answered
  };
  std::vector<Call> calls;
  // Runs `rpc` with a traceparent whose parent span id is the call's own.
  auto run = [&](const std::string& method, grpc::StatusCode expected, auto rpc) {
    Call c{method, "", expected, ""};
    char parent[17];
    std::snprintf(parent, sizeof(parent), "%016zx", calls.size() + 0x1000);
    c.parent = parent;
    auto ctx = Context();
    ctx->AddMetadata("traceparent", std::string("00-") + kTrace + "-" + c.parent + "-01");
    const grpc::Status s = rpc(ctx.get());
    EXPECT_EQ(s.error_code(), expected) << method << ": " << s.error_message();
    const auto& metadata = ctx->GetServerInitialMetadata();
    auto it = metadata.find("traceparent");
    EXPECT_NE(it, metadata.end()) << method << " answered no traceparent";
    if (it != metadata.end()) c.answered.assign(it->second.data(), it->second.size());
    calls.push_back(c);
  };
  run("ServerLive", grpc::StatusCode::OK, [&](grpc::ClientContext* ctx) {
    inference::ServerLiveResponse r;
    return stub->ServerLive(ctx, {}, &r);
  });
  run("ServerReady", grpc::StatusCode::OK, [&](grpc::ClientContext* ctx) {
    inference::ServerReadyResponse r;
    return stub->ServerReady(ctx, {}, &r);
  });
  run("ServerMetadata", grpc::StatusCode::OK, [&](grpc::ClientContext* ctx) {
    inference::ServerMetadataResponse r;
    return stub->ServerMetadata(ctx, {}, &r);
  });
  run("ModelReady", grpc::StatusCode::OK, [&](grpc::ClientContext* ctx) {
    inference::ModelReadyRequest q;
    q.set_name("tiny_cls");
    inference::ModelReadyResponse r;
    return stub->ModelReady(ctx, q, &r);
  });
  run("ModelMetadata", grpc::StatusCode::NOT_FOUND, [&](grpc::ClientContext* ctx) {
    inference::ModelMetadataRequest q;
    q.set_name("nope");
    inference::ModelMetadataResponse r;
    return stub->ModelMetadata(ctx, q, &r);
  });
  run("ModelConfig", grpc::StatusCode::OK, [&](grpc::ClientContext* ctx) {
    inference::ModelConfigRequest q;
    q.set_name("tiny_cls");
    inference::ModelConfigResponse r;
    return stub->ModelConfig(ctx, q, &r);
  });
  run("ModelStatistics", grpc::StatusCode::OK, [&](grpc::ClientContext* ctx) {
    inference::ModelStatisticsRequest q;
    q.set_name("tiny_cls");
    inference::ModelStatisticsResponse r;
    return stub->ModelStatistics(ctx, q, &r);
  });
  run("RepositoryIndex", grpc::StatusCode::OK, [&](grpc::ClientContext* ctx) {
    inference::RepositoryIndexResponse r;
    return stub->RepositoryIndex(ctx, {}, &r);
  });
  run("RepositoryModelUnload", grpc::StatusCode::OK, [&](grpc::ClientContext* ctx) {
    inference::RepositoryModelUnloadRequest q;
    q.set_model_name("tiny_cls");
    inference::RepositoryModelUnloadResponse r;
    return stub->RepositoryModelUnload(ctx, q, &r);
  });
  run("RepositoryModelLoad", grpc::StatusCode::OK, [&](grpc::ClientContext* ctx) {
    inference::RepositoryModelLoadRequest q;
    q.set_model_name("tiny_cls");
    inference::RepositoryModelLoadResponse r;
    return stub->RepositoryModelLoad(ctx, q, &r);
  });

  const std::string prefix = "inference.GRPCInferenceService/";
  std::vector<testing::ReceivedSpan> spans = receiver.WaitFor([&](const auto& all) {
    size_t found = 0;
    for (const Call& c : calls) {
      for (const testing::ReceivedSpan& s : all) {
        if (s.name() == prefix + c.method && s.parent_span_id() == c.parent) {
          ++found;
          break;
        }
      }
    }
    return found == calls.size();
  });
  for (const Call& c : calls) {
    const testing::ReceivedSpan* span = nullptr;
    for (const testing::ReceivedSpan& s : spans) {
      if (s.name() == prefix + c.method && s.parent_span_id() == c.parent) span = &s;
    }
    ASSERT_NE(span, nullptr) << "no span for " << c.method;
    EXPECT_EQ(span->trace_id(), kTrace) << c.method;
    EXPECT_EQ(span->service_name, "infera-grpc");
    EXPECT_EQ(span->span.value("kind", 0), 2) << c.method;  // SPAN_KIND_SERVER
    EXPECT_EQ(span->string_attribute("rpc.system"), "grpc") << c.method;
    EXPECT_EQ(span->string_attribute("rpc.service"), "inference.GRPCInferenceService");
    EXPECT_EQ(span->string_attribute("rpc.method"), c.method);
    EXPECT_FALSE(span->string_attribute("infera.request.id").empty()) << c.method;
    const json code = span->attribute("rpc.grpc.status_code");
    ASSERT_TRUE(code.is_object()) << c.method;
    EXPECT_EQ(code.value("intValue", json()).dump(),
              json(std::to_string(static_cast<int>(c.code))).dump())
        << c.method << ": " << code.dump();
    // The answered traceparent names this span, in the caller's trace, sampled.
    ASSERT_EQ(c.answered.size(), 55u) << c.method;
    EXPECT_EQ(c.answered.substr(3, 32), kTrace);
    EXPECT_EQ(c.answered.substr(36, 16), span->span_id()) << c.method;
    EXPECT_EQ(c.answered.substr(53), "01");
    // An error is the span's status (OTLP STATUS_CODE_ERROR = 2).
    const int status = span->span.value("status", json::object()).value("code", 0);
    EXPECT_EQ(status, c.code == grpc::StatusCode::OK ? 0 : 2) << c.method;
  }
  for (const testing::ReceivedSpan& s : spans) {
    if (s.name() == prefix + "ModelMetadata") {
      EXPECT_EQ(s.string_attribute("infera.model.name"), "nope");
    }
  }
  server->Stop();
}

// slow_model (a 50 ms busy-wait per batch) one row per batch with room in its queue:
// several requests ahead of one keep it queued for a few hundred ms.
class GrpcCancelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::CopyModel("slow_model", tmp_.path() / "repo");
    testing::ReplaceInFile(
        tmp_.path() / "repo" / "slow_model" / "model.yaml",
        "batching: {max_batch_size: 2, max_queue_delay_ms: 1, max_queue_size: 4, "
        "default_timeout_ms: 30000}",
        "batching: {max_batch_size: 1, max_queue_delay_ms: 0, max_queue_size: 64, "
        "default_timeout_ms: 30000}");
    server_ = testing::StartServer(tmp_.path(), "model_repository: repo\nserver: {grpc_port: 0}\n");
    ASSERT_NE(server_, nullptr);
    stub_ = Connect(server_->grpc_port());
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  inference::ModelInferRequest SlowRequest() {
    inference::ModelInferRequest req = RawRequest(Preprocessed("disk.png"));
    req.set_model_name("slow_model");
    return req;
  }
  BatcherStats Stats() { return server_->models().Get("slow_model")->batcher().stats(); }

  // The server answers the next calls: readiness, and an inference on the slow model.
  void ExpectHealthy() {
    inference::ServerReadyResponse ready;
    ASSERT_TRUE(stub_->ServerReady(Context().get(), {}, &ready).ok());
    EXPECT_TRUE(ready.ready());
    inference::ModelInferResponse res;
    grpc::Status s = stub_->ModelInfer(Context().get(), SlowRequest(), &res);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(res.raw_output_contents_size(), 1);
  }

  testing::TempDir tmp_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};

// A client that cancels (TryCancel) a ModelInfer still queued behind others: the call
// ends CANCELLED at once, the batcher drops the request from its queue (counted, never
// run: only the others execute), the others complete, and the server answers next calls.
TEST_F(GrpcCancelTest, ACanceledQueuedInferIsDroppedAndTheServerStaysHealthy) {
  constexpr int kAhead = 6;  // ~300 ms of work ahead of the canceled call
  const BatcherStats before = Stats();
  std::mutex mu;
  std::condition_variable cv;
  int finished = 0;
  std::vector<grpc::Status> ahead_status(kAhead);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<inference::ModelInferResponse> responses(kAhead + 1);
  const inference::ModelInferRequest request = SlowRequest();
  for (int i = 0; i < kAhead; ++i) {
    contexts.push_back(Context());
    stub_->async()->ModelInfer(contexts.back().get(), &request, &responses[i],
                               [&, i](grpc::Status s) {
                                 std::lock_guard lock(mu);
                                 ahead_status[i] = std::move(s);
                                 ++finished;
                                 cv.notify_all();
                               });
  }
  // Once the others are queued (the first is running), the last call goes in, then is
  // canceled by its client while it waits.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Stats().enqueued - before.enqueued < static_cast<uint64_t>(kAhead) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(Stats().enqueued - before.enqueued, static_cast<uint64_t>(kAhead));
  contexts.push_back(Context());
  grpc::ClientContext* canceled_ctx = contexts.back().get();
  grpc::Status canceled_status;
  bool canceled_done = false;
  const auto sent = std::chrono::steady_clock::now();
  stub_->async()->ModelInfer(canceled_ctx, &request, &responses[kAhead], [&](grpc::Status s) {
    std::lock_guard lock(mu);
    canceled_status = std::move(s);
    canceled_done = true;
    cv.notify_all();
  });
  while (Stats().enqueued - before.enqueued < static_cast<uint64_t>(kAhead + 1) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(Stats().enqueued - before.enqueued, static_cast<uint64_t>(kAhead + 1));
  canceled_ctx->TryCancel();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_until(lock, deadline, [&] { return canceled_done; }));
    EXPECT_EQ(canceled_status.error_code(), grpc::StatusCode::CANCELLED);
    ASSERT_TRUE(cv.wait_until(lock, deadline + std::chrono::seconds(20),
                              [&] { return finished == kAhead; }));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - sent, std::chrono::seconds(25));
  for (const grpc::Status& s : ahead_status) EXPECT_TRUE(s.ok()) << s.error_message();

  // The cancel reached the queue: dropped there, never executed.
  BatcherStats after = Stats();
  const auto wait_swept = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (after.canceled == before.canceled && std::chrono::steady_clock::now() < wait_swept) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    after = Stats();
  }
  EXPECT_EQ(after.canceled - before.canceled, 1u);
  EXPECT_EQ(after.success - before.success, static_cast<uint64_t>(kAhead));
  EXPECT_EQ(after.inferences - before.inferences, static_cast<uint64_t>(kAhead));
  ExpectHealthy();
}

// A deadline shorter than the model's forward (50 ms busy-wait): the client gets
// DEADLINE_EXCEEDED when it passes; the request either ran (its result discarded) or
// expired in the queue — accounted for either way, nothing left pending — and the
// server answers the next calls. Several at once, to cover both.
TEST_F(GrpcCancelTest, ADeadlineShorterThanTheForwardEndsTheCallAndItsResultIsDiscarded) {
  constexpr int kCalls = 4;
  inference::ServerLiveResponse live;  // the channel connected before the short deadlines
  ASSERT_TRUE(stub_->ServerLive(Context().get(), {}, &live).ok());
  const BatcherStats before = Stats();
  std::vector<std::thread> threads;
  std::vector<grpc::Status> statuses(kCalls);
  const inference::ModelInferRequest request = SlowRequest();
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(20));
      inference::ModelInferResponse res;
      statuses[i] = stub_->ModelInfer(&ctx, request, &res);
    });
  }
  for (std::thread& t : threads) t.join();
  for (const grpc::Status& s : statuses) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  }
  // Every request that reached the batcher leaves it: run (result discarded), expired
  // or dropped — none stays pending.
  BatcherStats after = Stats();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  auto settled = [&] {
    const uint64_t in = after.enqueued - before.enqueued;
    const uint64_t out = (after.success - before.success) + (after.failed - before.failed) +
                         (after.canceled - before.canceled);
    return in == out;
  };
  while (!settled() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    after = Stats();
  }
  EXPECT_GT(after.enqueued - before.enqueued, 0u) << "no call reached the model";
  EXPECT_TRUE(settled()) << "enqueued " << after.enqueued - before.enqueued << ", success "
                         << after.success - before.success << ", failed "
                         << after.failed - before.failed << ", canceled "
                         << after.canceled - before.canceled;
  ExpectHealthy();
}

}  // namespace
}  // namespace infera
