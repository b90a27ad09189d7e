// Open Inference Protocol conformance: POST .../infer with JSON tensors, the binary
// tensor data extension and raw bodies, and every error path — expectations from the
// protocol text (shared/reference/open-inference-protocol.md b.3-b.9); model outputs
// checked against PyTorch's own logits (expected.json).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "absl/strings/str_split.h"
#include "api/http_client.h"
#include "imaging/codec.h"
#include "imaging/preprocess.h"
#include "support/server_fixture.h"

namespace infera {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
namespace fs = std::filesystem;

class V2InferTest : public testing::ServerFixture {
 protected:
  static void SetUpTestSuite() { StartSuiteServer({"tiny_cls", "tuple_out", "versioned"}); }
  static void TearDownTestSuite() { StopSuiteServer(); }
  void SetUp() override {
    ServerFixture::SetUp();
    input_ = Preprocessed("disk.png");
    json expected = json::parse(testing::ReadFile(testing::TestModelsDir() / "expected.json"));
    for (const auto& c : expected["cases"]) {
      if (c["model"] == "tiny_cls" && c["image"] == "images/disk.png") {
        logits_ = c["logits"].get<std::vector<float>>();
      }
    }
    ASSERT_EQ(logits_.size(), 3u);
  }

  // The image as tiny_cls's input tensor [1,3,64,64] (preprocessing is checked against
  // torch in tests/imaging).
  static std::vector<float> Preprocessed(const std::string& file) {
    const std::string bytes = testing::ReadFile(testing::TestModelsDir() / "images" / file);
    auto image =
        DecodeImage(std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
    InputSpec spec;
    spec.size = std::pair<int, int>{64, 64};
    auto tensor = ImageToTensor(*image, spec);
    return std::vector<float>(tensor->data_as<float>(),
                              tensor->data_as<float>() + tensor->num_elements());
  }

  json InputJson(const std::vector<float>& data, json shape = json::array({1, 3, 64, 64}),
                 const std::string& name = "input", const std::string& datatype = "FP32") {
    return {{"name", name}, {"shape", shape}, {"datatype", datatype}, {"data", data}};
  }
  void ExpectLogits(const float* got, size_t n) {
    ASSERT_EQ(n, logits_.size());
    for (size_t i = 0; i < n; ++i) EXPECT_NEAR(got[i], logits_[i], 1e-4) << i;
  }

  std::vector<float> input_;
  std::vector<float> logits_;
};

TEST_F(V2InferTest, JsonTensorsInAndOutMatchPyTorch) {
  json req = {{"id", "42"}, {"inputs", {InputJson(input_)}}};
  HttpResponse r = Post("/v2/models/tiny_cls/infer", req.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  json body = json::parse(r.body);
  EXPECT_EQ(body["model_name"], "tiny_cls");
  EXPECT_EQ(body["model_version"], "1");
  EXPECT_EQ(body["id"], "42");
  ASSERT_EQ(body["outputs"].size(), 1u);
  const json& out = body["outputs"][0];
  EXPECT_EQ(out["name"], "output0");
  EXPECT_EQ(out["datatype"], "FP32");
  EXPECT_EQ(out["shape"], json::array({1, 3}));
  std::vector<float> got = out["data"].get<std::vector<float>>();
  ExpectLogits(got.data(), got.size());
}

TEST_F(V2InferTest, NestedDataIsAccepted) {
  json nested = json::array();
  json channel_rows;
  for (int c = 0; c < 3; ++c) {
    json rows = json::array();
    for (int y = 0; y < 64; ++y) {
      rows.push_back(std::vector<float>(input_.begin() + (c * 64 + y) * 64,
                                        input_.begin() + (c * 64 + y + 1) * 64));
    }
    nested.push_back(rows);
  }
  json req = {{"inputs",
               {{{"name", "input"},
                 {"shape", {1, 3, 64, 64}},
                 {"datatype", "FP32"},
                 {"data", json::array({nested})}}}}};
  HttpResponse r = Post("/v2/models/tiny_cls/infer", req.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  std::vector<float> got = json::parse(r.body)["outputs"][0]["data"].get<std::vector<float>>();
  ExpectLogits(got.data(), got.size());
}

TEST_F(V2InferTest, BinaryTensorDataExtension) {
  json header = {{"inputs",
                  {{{"name", "input"},
                    {"shape", {1, 3, 64, 64}},
                    {"datatype", "FP32"},
                    {"parameters", {{"binary_data_size", input_.size() * 4}}}}}},
                 {"outputs", {{{"name", "output0"}, {"parameters", {{"binary_data", true}}}}}}};
  const std::string json_part = header.dump();
  std::string body = json_part;
  body.append(reinterpret_cast<const char*>(input_.data()), input_.size() * 4);
  HttpResponse r = Post("/v2/models/tiny_cls/infer", body,
                        {{"inference-header-content-length", std::to_string(json_part.size())}});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(r.headers.count("inference-header-content-length"));
  const size_t n = std::stoul(r.headers["inference-header-content-length"]);
  ASSERT_LE(n, r.body.size());
  json out = json::parse(r.body.substr(0, n))["outputs"][0];
  EXPECT_EQ(out["parameters"]["binary_data_size"], 12);
  EXPECT_FALSE(out.contains("data"));
  ASSERT_EQ(r.body.size() - n, 12u);
  float got[3];
  std::memcpy(got, r.body.data() + n, 12);
  ExpectLogits(got, 3);
}

TEST_F(V2InferTest, RawBinaryBodyForASingleInputModel) {
  std::string body(reinterpret_cast<const char*>(input_.data()), input_.size() * 4);
  HttpResponse r =
      Post("/v2/models/tiny_cls/infer", body, {{"inference-header-content-length", "0"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const size_t n = std::stoul(r.headers["inference-header-content-length"]);
  ASSERT_EQ(r.body.size() - n, 12u);  // all outputs come back binary
  float got[3];
  std::memcpy(got, r.body.data() + n, 12);
  ExpectLogits(got, 3);
  ExpectError(
      Post("/v2/models/tiny_cls/infer", body.substr(4), {{"inference-header-content-length", "0"}}),
      400, "");
}

TEST_F(V2InferTest, BatchOfTwoInOneRequest) {
  std::vector<float> two = input_;
  const std::vector<float> square = Preprocessed("square.png");
  two.insert(two.end(), square.begin(), square.end());
  json req = {{"inputs", {InputJson(two, json::array({2, 3, 64, 64}))}}};
  HttpResponse r = Post("/v2/models/tiny_cls/infer", req.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json out = json::parse(r.body)["outputs"][0];
  EXPECT_EQ(out["shape"], json::array({2, 3}));
  std::vector<float> got = out["data"].get<std::vector<float>>();
  ExpectLogits(got.data(), 3);
  EXPECT_GT(got[4], got[3]);  // the square is class 1
}

TEST_F(V2InferTest, RequestedOutputsSubset) {
  json req = {{"inputs", {InputJson(input_)}}, {"outputs", {{{"name", "output1"}}}}};
  HttpResponse r = Post("/v2/models/tuple_out/infer", req.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  ASSERT_EQ(body["outputs"].size(), 1u);
  EXPECT_EQ(body["outputs"][0]["name"], "output1");
  json all = json::parse(
      Post("/v2/models/tuple_out/infer", json{{"inputs", {InputJson(input_)}}}.dump()).body);
  EXPECT_EQ(all["outputs"].size(), 2u);
  req["outputs"] = {{{"name", "scores"}}};
  ExpectError(Post("/v2/models/tuple_out/infer", req.dump()), 400, "unknown output 'scores'");
}

TEST_F(V2InferTest, VersionedInferAndUnknownModelOrVersion) {
  json req = {{"inputs", {InputJson(input_)}}};
  HttpResponse r = Post("/v2/models/versioned/versions/3/infer", req.dump());
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["model_version"], "3");
  ExpectError(Post("/v2/models/versioned/versions/2/infer", req.dump()), 404, "no loaded version");
  ExpectError(Post("/v2/models/nope/infer", req.dump()), 404, "unknown model 'nope'");
  auto get = client_.Send("GET", "/v2/models/tiny_cls/infer");
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->status, 405);
}

TEST_F(V2InferTest, MismatchesAre400NamingTheTensor) {
  const std::string target = "/v2/models/tiny_cls/infer";
  ExpectError(Post(target, "{\"inputs\": ["), 400, "");
  ExpectError(Post(target, "{}"), 400, "inputs");
  ExpectError(
      Post(target, json{{"inputs", {InputJson(input_, json::array({1, 3, 32, 128}))}}}.dump()), 400,
      "input 'input': shape [1,3,32,128] does not match");
  ExpectError(
      Post(target, json{{"inputs", {InputJson(input_, json::array({1, 3, 64, 65}))}}}.dump()), 400,
      "input 'input'");
  ExpectError(
      Post(
          target,
          json{{"inputs", {InputJson({1.0f, 2.0f}, json::array({1, 2}), "input", "FP64")}}}.dump()),
      400, "datatype FP64");
  ExpectError(
      Post(target, json{{"inputs", {InputJson(input_, json::array({1, 3, 64, 64}), "x")}}}.dump()),
      400, "unexpected input 'x'");
  ExpectError(
      Post(target,
           json{{"inputs",
                 {InputJson(input_), InputJson(input_, json::array({1, 3, 64, 64}), "extra")}}}
               .dump()),
      400, "unexpected input 'extra'");
  std::vector<float> short_data(input_.begin(), input_.end() - 1);
  ExpectError(Post(target, json{{"inputs", {InputJson(short_data)}}}.dump()), 400, "input 'input'");
  std::vector<float> nine(9 * 3 * 64 * 64, 0.0f);
  ExpectError(Post(target, json{{"inputs", {InputJson(nine, json::array({9, 3, 64, 64}))}}}.dump()),
              400, "batch of 9");
  // Binary size that does not match the shape.
  json header = {{"inputs",
                  {{{"name", "input"},
                    {"shape", {1, 3, 64, 64}},
                    {"datatype", "FP32"},
                    {"parameters", {{"binary_data_size", 16}}}}}}};
  const std::string h = header.dump();
  ExpectError(Post(target, h + std::string(16, '\0'),
                   {{"inference-header-content-length", std::to_string(h.size())}}),
              400, "input 'input'");
  ExpectError(Post(target, h, {{"inference-header-content-length", "99999999"}}), 400, "");
}

TEST_F(V2InferTest, ParametersAreValidated) {
  const std::string target = "/v2/models/tiny_cls/infer";
  json req = {{"inputs", {InputJson(input_)}}};
  req["parameters"] = {{"priority", -1}};
  ExpectError(Post(target, req.dump()), 400, "priority");
  req["parameters"] = {{"timeout", "soon"}};
  ExpectError(Post(target, req.dump()), 400, "timeout");
  req["parameters"] = {{"priority", 1}, {"timeout", 10'000'000}};
  EXPECT_EQ(Post(target, req.dump()).status, 200);
  req["parameters"] = json::object();
  for (const json& bad : {json(0), json(-2), json("2"), json(1.5)}) {
    req["outputs"] = {{{"name", "output0"}, {"parameters", {{"classification", bad}}}}};
    ExpectError(Post(target, req.dump()), 400, "classification");
  }
}

// The classification extension (protocol: "classification" output parameter): the top N
// as BYTES "value:index:label", best first, per batch row; values as PyTorch's logits.
TEST_F(V2InferTest, ClassificationExtensionAnswersTopNWithLabels) {
  const std::vector<std::string> labels = {"disk", "square", "stripes"};
  std::vector<float> two = input_;
  const std::vector<float> square = Preprocessed("square.png");
  two.insert(two.end(), square.begin(), square.end());
  json req = {{"inputs", {InputJson(two, json::array({2, 3, 64, 64}))}},
              {"outputs", {{{"name", "output0"}, {"parameters", {{"classification", 2}}}}}}};
  HttpResponse r = Post("/v2/models/tiny_cls/infer", req.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const json out = json::parse(r.body)["outputs"][0];
  EXPECT_EQ(out["name"], "output0");
  EXPECT_EQ(out["datatype"], "BYTES");
  EXPECT_EQ(out["shape"], json::array({2, 2}));
  const std::vector<std::string> data = out["data"].get<std::vector<std::string>>();
  ASSERT_EQ(data.size(), 4u);
  // Row 0 is disk.png: its best class is disk, with PyTorch's logit.
  size_t best = 0;
  for (size_t k = 1; k < logits_.size(); ++k) {
    if (logits_[k] > logits_[best]) best = k;
  }
  const std::vector<std::string> first = absl::StrSplit(data[0], ':');
  ASSERT_EQ(first.size(), 3u) << data[0];
  EXPECT_NEAR(std::stod(first[0]), logits_[best], 1e-4);
  EXPECT_EQ(first[1], std::to_string(best));
  EXPECT_EQ(first[2], labels[best]);
  EXPECT_EQ(first[2], "disk");
  const std::vector<std::string> second = absl::StrSplit(data[1], ':');
  ASSERT_EQ(second.size(), 3u);
  EXPECT_GE(std::stod(first[0]), std::stod(second[0]));    // best first
  EXPECT_THAT(data[2], ::testing::EndsWith(":1:square"));  // row 1 is square.png
  // More than there are classes: all of them.
  req["outputs"][0]["parameters"]["classification"] = 10;
  r = Post("/v2/models/tiny_cls/infer", req.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["outputs"][0]["shape"], json::array({2, 3}));
  // With the binary extension: length-prefixed strings after the JSON header.
  req["outputs"][0]["parameters"] = {{"classification", 1}, {"binary_data", true}};
  r = Post("/v2/models/tiny_cls/infer", req.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const size_t header = std::stoul(r.headers["inference-header-content-length"]);
  const json h = json::parse(r.body.substr(0, header));
  const std::string binary = r.body.substr(header);
  EXPECT_EQ(h["outputs"][0]["parameters"]["binary_data_size"], binary.size());
  uint32_t length = 0;
  std::memcpy(&length, binary.data(), 4);
  EXPECT_EQ(binary.substr(4, length), data[0]);
}

// BYTES input: encoded images, preprocessed as /predict does (protocol b.6 BYTES).
TEST_F(V2InferTest, BytesInputsAreEncodedImages) {
  const std::string disk = testing::ReadFile(testing::TestModelsDir() / "images" / "disk.png");
  // JSON strings must be UTF-8: PNG bytes go through the binary extension.
  std::string element(4, '\0');
  const auto n = static_cast<uint32_t>(disk.size());
  std::memcpy(element.data(), &n, 4);
  element += disk;
  json header = {{"inputs",
                  {{{"name", "input"},
                    {"shape", {1}},
                    {"datatype", "BYTES"},
                    {"parameters", {{"binary_data_size", element.size()}}}}}}};
  const std::string h = header.dump();
  HttpResponse r = Post("/v2/models/tiny_cls/infer", h + element,
                        {{"inference-header-content-length", std::to_string(h.size())}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json out = json::parse(r.body)["outputs"][0];
  EXPECT_EQ(out["shape"], json::array({1, 3}));
  std::vector<float> got = out["data"].get<std::vector<float>>();
  ExpectLogits(got.data(), got.size());
  // Not an image, or a bad shape: 400 naming the element.
  header["inputs"][0]["parameters"]["binary_data_size"] = 4 + 5;
  const std::string h2 = header.dump();
  ExpectError(Post("/v2/models/tiny_cls/infer", h2 + std::string("\x05\0\0\0", 4) + "hello",
                   {{"inference-header-content-length", std::to_string(h2.size())}}),
              400, "BYTES element 0");
  json text = {
      {"inputs",
       {{{"name", "input"}, {"shape", {1, 2}}, {"datatype", "BYTES"}, {"data", {"a", "b"}}}}}};
  ExpectError(Post("/v2/models/tiny_cls/infer", text.dump()), 400, "[N] or [N, 1]");
  text["inputs"][0]["name"] = "other";
  ExpectError(Post("/v2/models/tiny_cls/infer", text.dump()), 400, "unexpected input 'other'");
}

TEST(V2InferTimeoutTest, TimeoutParameterExpiresQueuedRequests) {
  testing::TempDir tmp;
  testing::CopyModel("slow_model", tmp.path() / "repo");
  auto server = testing::StartServer(tmp.path(), "model_repository: repo\n");
  ASSERT_NE(server, nullptr);
  std::vector<float> zeros(3 * 64 * 64, 0.0f);
  json req = {
      {"inputs",
       {{{"name", "input"}, {"shape", {1, 3, 64, 64}}, {"datatype", "FP32"}, {"data", zeros}}}},
      {"parameters", {{"timeout", 1000}}}};  // 1 ms
  const std::string body = req.dump();
  std::vector<int> codes(8, 0);
  std::vector<std::string> bodies(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      HttpClient client;
      if (!client.Connect("127.0.0.1", server->port()).ok()) return;
      auto r = client.Send("POST", "/v2/models/slow_model/infer", body);
      if (r.ok()) {
        codes[static_cast<size_t>(i)] = r->status;
        bodies[static_cast<size_t>(i)] = r->body;
      }
    });
  }
  for (auto& t : threads) t.join();
  int timed_out = 0;
  for (int i = 0; i < 8; ++i) {
    EXPECT_TRUE(codes[i] == 200 || codes[i] == 503) << codes[i];
    if (codes[i] == 503 && bodies[i].find("timed out") != std::string::npos) ++timed_out;
  }
  // The slow model takes ~50 ms a batch of 2: with 8 simultaneous requests and a 1 ms
  // timeout, at least the last ones expire in the queue.
  EXPECT_GE(timed_out, 1);
}

}  // namespace
}  // namespace infera
