// Loading real TorchScript models: engine failures become Status values that name the
// model and say what went wrong, at load (warm-up) or at request time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/http_client.h"
#include "common/base64.h"
#include "models/model.h"
#include "support/child_process.h"
#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// gray_cls (a 1-channel network) configured as if it took RGB input.
fs::path MisconfiguredGrayModel(const testing::TempDir& tmp, bool warmup) {
  testing::CopyModel("gray_cls", tmp.path() / "repo");
  const fs::path yaml = tmp.path() / "repo" / "gray_cls" / "model.yaml";
  testing::WriteFile(yaml,
                     std::string("input: {color: rgb, size: [32, 32]}\nlabels: labels.txt\n") +
                         "warmup: " + (warmup ? "true" : "false") + "\n");
  return tmp.path() / "repo" / "gray_cls";
}

TEST(ModelLoadTest, WarmupCatchesAModelThatRejectsItsConfiguredInput) {
  testing::TempDir tmp;
  StatusOr<ModelConfig> config = LoadModelFolder(MisconfiguredGrayModel(tmp, true));
  ASSERT_TRUE(config.ok()) << config.status();
  StatusOr<std::shared_ptr<Model>> model = Model::Load(*config);
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("model 'gray_cls'"));
  EXPECT_THAT(model.status().message(), HasSubstr("warm-up with a batch of 1 failed"));
  EXPECT_THAT(model.status().message(), HasSubstr("channels"));
  // One readable line, not a C++ backtrace.
  EXPECT_EQ(model.status().message().find('\n'), std::string::npos);
}

TEST(ModelLoadTest, EngineErrorAtRequestTimeIsAJson500NamingTheModel) {
  testing::TempDir tmp;
  MisconfiguredGrayModel(tmp, false);
  auto server = testing::StartServer(tmp.path(), "model_repository: repo\n");
  ASSERT_NE(server, nullptr);
  HttpClient client;
  ASSERT_TRUE(client.Connect("127.0.0.1", server->port()).ok());
  const std::string png = testing::ReadFile(testing::TestModelsDir() / "images" / "gray.png");
  auto r = client.Send("POST", "/predict/gray_cls",
                       "{\"image\":\"" + Base64Encode(png.data(), png.size()) + "\"}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  nlohmann::json body = nlohmann::json::parse(r->body);
  EXPECT_THAT(body["error"].get<std::string>(), HasSubstr("model 'gray_cls' failed"));
  // The server keeps serving.
  auto health = client.Send("GET", "/health");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
}

TEST(ModelLoadTest, CorruptArtifactIsALoadErrorNamingTheFile) {
  testing::TempDir tmp;
  testing::CopyModel("tiny_cls", tmp.path() / "repo");
  const fs::path pt = tmp.path() / "repo" / "tiny_cls" / "1" / "model.pt";
  testing::WriteFile(pt, "this is not a TorchScript archive");
  StatusOr<ModelConfig> config = LoadModelFolder(tmp.path() / "repo" / "tiny_cls");
  ASSERT_TRUE(config.ok());
  StatusOr<std::shared_ptr<Model>> model = Model::Load(*config);
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(), HasSubstr("cannot load TorchScript file " + pt.string()));
}

TEST(ModelLoadTest, DictOutputWithAnUnknownNameIsReported) {
  testing::TempDir tmp;
  testing::CopyModel("dict_out", tmp.path() / "repo");
  testing::ReplaceInFile(tmp.path() / "repo" / "dict_out" / "model.yaml", "outputs: [logits]",
                         "outputs: [scores]");
  StatusOr<ModelConfig> config = LoadModelFolder(tmp.path() / "repo" / "dict_out");
  ASSERT_TRUE(config.ok()) << config.status();
  StatusOr<std::shared_ptr<Model>> model = Model::Load(*config);
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("no output named 'scores'"));
  EXPECT_THAT(model.status().message(), HasSubstr("logits"));
}

// LibTorch's own warnings (TORCH_WARN) are infera log lines naming the model, not c10's
// raw "W... Resize.cpp:17] Warning: ..." lines between them: clamp_net's optimised graph,
// which torch 1.13 miscomputes, makes it warn at load that an output was resized.
TEST(ModelLoadTest, LibTorchWarningsAreInferaLogLines) {
  testing::TempDir tmp;
  const testing::RunResult r =
      testing::RunToExit({testing::InferaBinary().string(), "infer", "--repository",
                          (testing::TestModelsDir() / "repo").string(), "--model", "clamp_net",
                          "--input", (testing::TestModelsDir() / "images" / "disk.png").string(),
                          "--output", (tmp.path() / "out").string()},
                         std::chrono::seconds(120));
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("level=warning event=torch_warning model=clamp_net "
                               "source=Resize.cpp:17 message=\"An output with one or more "
                               "elements was resized"));
  // Every line on stderr is infera's: a log line, or the command's own progress.
  size_t start = 0;
  while (start < r.err.size()) {
    size_t end = r.err.find('\n', start);
    if (end == std::string::npos) end = r.err.size();
    const std::string line = r.err.substr(start, end - start);
    EXPECT_TRUE(line.rfind("ts=", 0) == 0 || line.rfind("infer: ", 0) == 0) << line;
    start = end + 1;
  }
}

TEST(ModelLoadTest, OutputPositionsForADictAreRefused) {
  testing::TempDir tmp;
  testing::CopyModel("dict_out", tmp.path() / "repo");
  testing::ReplaceInFile(tmp.path() / "repo" / "dict_out" / "model.yaml", "outputs: [logits]",
                         "outputs: {logits: 0}");
  StatusOr<ModelConfig> config = LoadModelFolder(tmp.path() / "repo" / "dict_out");
  ASSERT_TRUE(config.ok()) << config.status();
  StatusOr<std::shared_ptr<Model>> model = Model::Load(*config);
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(),
              HasSubstr("returns a GenericDict; outputs: {name: position} applies to a tuple"));
}

// cellpose_traced_flows_second returns ([feature maps], flows, style) and says where
// the flows are with `outputs: {flows: 1, style: 2}`; `replacement` is written instead.
StatusOr<std::shared_ptr<Model>> LoadFlowsSecondWith(const std::string& replacement) {
  testing::TempDir tmp;
  testing::CopyModel("cellpose_traced_flows_second", tmp.path() / "repo");
  const fs::path dir = tmp.path() / "repo" / "cellpose_traced_flows_second";
  testing::ReplaceInFile(dir / "model.yaml", "outputs: {flows: 1, style: 2}", replacement);
  StatusOr<ModelConfig> config = LoadModelFolder(dir);
  if (!config.ok()) return config.status();
  return Model::Load(*config);
}

TEST(ModelLoadTest, TupleWhoseFirstElementIsNoTensorAsksForOutputsByPosition) {
  StatusOr<std::shared_ptr<Model>> model = LoadFlowsSecondWith("");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("output #0 is a GenericList, not a tensor"));
  EXPECT_THAT(model.status().message(), HasSubstr("outputs: {flows: 1}"));
}

TEST(ModelLoadTest, OutputsNamingANonTensorPositionAreRefused) {
  StatusOr<std::shared_ptr<Model>> model = LoadFlowsSecondWith("outputs: [features, flows]");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(),
              HasSubstr("output #0 ('features') is a GenericList, not a tensor"));
  EXPECT_THAT(model.status().message(), HasSubstr("outputs: {name: position, ...}"));

  model = LoadFlowsSecondWith("outputs: {flows: 1, features: 0}");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(),
              HasSubstr("output #0 ('features') is a GenericList, not a tensor"));

  model = LoadFlowsSecondWith("outputs: {flows: 3}");
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(),
              HasSubstr("returns 3 outputs but its config puts 'flows' at position 3"));
}

}  // namespace
}  // namespace infera
