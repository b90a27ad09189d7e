// POST /api/models/upload on the real server with real TorchScript models: a new model
// from form fields or a model.yaml, a new version of a served model, and every refusal
// (unknown runner, a file that is not a model, an existing version, bad fields) leaving
// the repository and the serving model exactly as they were.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "support/multipart_body.h"
#include "support/server_fixture.h"

namespace infera::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using json = nlohmann::json;

class ModelUploadTest : public ServerFixture {
 protected:
  static void SetUpTestSuite() { StartSuiteServer({"tiny_cls", "tiny_unet"}); }
  static void TearDownTestSuite() { StopSuiteServer(); }

  static fs::path Repo() { return fs::path(server()->model_repository()); }
  static std::string Artifact(const std::string& model) {
    return ReadFile(TestModelsDir() / "repo" / model / "1" / "model.pt");
  }

  HttpResponse Upload(const std::vector<FormPart>& parts) {
    return Post("/api/models/upload", MultipartBody(parts),
                {{"Content-Type", MultipartContentType()}});
  }

  json Predict(const std::string& model, const std::string& image) {
    const std::string png = ReadFile(TestModelsDir() / "images" / image);
    HttpResponse r =
        Post("/predict/" + model, json{{"image", Base64Encode(png.data(), png.size())}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }

  json ListedModel(const std::string& name) {
    HttpResponse r = Get("/api/models");
    EXPECT_EQ(r.status, 200);
    const json list = json::parse(r.body);
    for (const json& m : list["models"]) {
      if (m["name"] == name) return m;
    }
    return json();
  }
};

TEST_F(ModelUploadTest, NewModelFromFormFieldsServesLikeTheOriginal) {
  HttpResponse r = Upload({{"name", "", "uploaded_unet"},
                           {"runner_name", "", "binary_sigmoid"},
                           {"description", "", "a U-Net sent over HTTP"},
                           {"input.size", "", "[64, 64]"},
                           {"input.color", "", "gray"},
                           {"input.scale", "", "0.00392156862745098"},
                           {"input.mean", "", "[0.0]"},
                           {"input.std", "", "[1.0]"},
                           {"batching.max_batch_size", "", "4"},
                           {"model", "unet.pt", Artifact("tiny_unet")}});
  ASSERT_EQ(r.status, 201) << r.body;
  json entry = json::parse(r.body);
  EXPECT_EQ(entry["name"], "uploaded_unet");
  EXPECT_EQ(entry["runner_name"], "binary_sigmoid");
  EXPECT_EQ(entry["description"], "a U-Net sent over HTTP");
  EXPECT_EQ(entry["versions"],
            json::array(
                {{{"version", 1}, {"active", true}, {"parent", nullptr}, {"training", nullptr}}}));
  EXPECT_EQ(entry["ready"], true);
  EXPECT_TRUE(entry["params_schema"].contains("properties")) << entry.dump();
  EXPECT_TRUE(fs::is_regular_file(Repo() / "uploaded_unet" / "1" / "model.pt"));
  EXPECT_THAT(ReadFile(Repo() / "uploaded_unet" / "model.yaml"), HasSubstr("binary_sigmoid"));
  EXPECT_EQ(ListedModel("uploaded_unet")["ready"], true);
  // Same weights, same config: the same mask, byte for byte.
  json uploaded = Predict("uploaded_unet", "blobs.png");
  json original = Predict("tiny_unet", "blobs.png");
  ASSERT_TRUE(uploaded.contains("mask")) << uploaded.dump();
  EXPECT_EQ(uploaded["mask"], original["mask"]);
}

TEST_F(ModelUploadTest, ModelYamlAndLabelsFromTheForm) {
  std::string yaml = ReadFile(TestModelsDir() / "repo" / "tiny_cls" / "model.yaml");
  yaml.replace(yaml.find("labels: labels.txt"), 18, "");  // labels come as a form field
  HttpResponse r = Upload({{"name", "", "renamed_cls"},
                           {"runner_name", "", "classify"},
                           {"model_yaml", "model.yaml", yaml},
                           {"labels", "", "round\nboxy\nstriped\n"},
                           {"model", "m.pt", Artifact("tiny_cls")}});
  ASSERT_EQ(r.status, 201) << r.body;
  json body = Predict("renamed_cls", "disk.png");
  ASSERT_TRUE(body.contains("predictions")) << body.dump();
  EXPECT_EQ(body["predictions"][0]["label"], "round");
}

TEST_F(ModelUploadTest, NewVersionOfAServedModelReplacesIt) {
  HttpResponse r = Upload(
      {{"name", "", "tiny_cls"},
       {"runner_name", "", "classify"},
       {"model_yaml", "model.yaml", ReadFile(TestModelsDir() / "repo" / "tiny_cls" / "model.yaml")},
       {"labels", "labels.txt", "disk\nsquare\nstripes\n"},
       {"model", "model.pt", Artifact("tiny_cls")}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json::parse(r.body)["version"], 2);
  EXPECT_EQ(Predict("tiny_cls", "disk.png")["version"], 2);
  // An explicit existing version is refused; nothing changes.
  ExpectError(Upload({{"name", "", "tiny_cls"},
                      {"runner_name", "", "classify"},
                      {"version", "", "2"},
                      {"model", "model.pt", Artifact("tiny_cls")}}),
              409, "already has a version 2");
  EXPECT_EQ(Predict("tiny_cls", "disk.png")["version"], 2);
}

TEST_F(ModelUploadTest, AFileThatIsNotAModelChangesNothing) {
  const std::string yaml_before = ReadFile(Repo() / "tiny_unet" / "model.yaml");
  ExpectError(Upload({{"name", "", "tiny_unet"},
                      {"runner_name", "", "multiclass_argmax"},
                      {"model", "model.pt", "this is not a TorchScript archive"}}),
              400, "did not load");
  EXPECT_EQ(ReadFile(Repo() / "tiny_unet" / "model.yaml"), yaml_before);
  EXPECT_FALSE(fs::exists(Repo() / "tiny_unet" / "2"));
  EXPECT_EQ(ListedModel("tiny_unet")["runner_name"], "binary_sigmoid");
  EXPECT_TRUE(Predict("tiny_unet", "blobs.png").contains("mask"));
  // A new name: no folder is left behind, and the model is not listed.
  ExpectError(Upload({{"name", "", "broken"},
                      {"runner_name", "", "classify"},
                      {"model", "model.pt", "garbage"}}),
              400, "did not load");
  EXPECT_FALSE(fs::exists(Repo() / "broken"));
  EXPECT_TRUE(ListedModel("broken").is_null());
}

TEST_F(ModelUploadTest, RefusesBadUploadsWithReasons) {
  const std::string pt = Artifact("tiny_cls");
  HttpResponse unknown =
      Upload({{"name", "", "x1"}, {"runner_name", "", "watershed"}, {"model", "m.pt", pt}});
  ExpectError(unknown, 400, "Available runners: [");
  EXPECT_THAT(unknown.body, HasSubstr("binary_sigmoid"));
  ExpectError(Upload({{"name", "", "x2"}, {"model", "m.pt", pt}}), 400,
              "'runner_name' is required");
  ExpectError(Upload({{"runner_name", "", "classify"}, {"model", "m.pt", pt}}), 400,
              "'name' is required");
  ExpectError(Upload({{"name", "", "x3"}, {"runner_name", "", "classify"}}), 400,
              "'model' (the TorchScript .pt file) is required");
  ExpectError(
      Upload({{"name", "", "../etc"}, {"runner_name", "", "classify"}, {"model", "m.pt", pt}}), 400,
      "invalid model name");
  ExpectError(Upload({{"name", "", "x4"},
                      {"runner_name", "", "classify"},
                      {"colour", "", "red"},
                      {"model", "m.pt", pt}}),
              400, "unknown form field 'colour'");
  ExpectError(Upload({{"name", "", "x5"},
                      {"runner_name", "", "classify"},
                      {"input.size", "", "banana"},
                      {"model", "m.pt", pt}}),
              400, "size");
  ExpectError(Upload({{"name", "", "x6"},
                      {"runner_name", "", "classify"},
                      {"model_yaml", "model.yaml", "version: 3\n"},
                      {"model", "m.pt", pt}}),
              400, "'version' cannot be set");
  ExpectError(Upload({{"name", "", "x7"},
                      {"runner_name", "", "classify"},
                      {"model_yaml", "model.yaml", "input: [unclosed\n"},
                      {"model", "m.pt", pt}}),
              400, "not valid YAML");
  ExpectError(Upload({{"name", "", "x8"}, {"name", "", "x9"}}), 400, "given twice");
  ExpectError(Post("/api/models/upload", "{}", {{"Content-Type", "application/json"}}), 400,
              "multipart");
  for (const char* name : {"x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "etc"}) {
    EXPECT_FALSE(fs::exists(Repo() / name)) << name;
  }
}

}  // namespace
}  // namespace infera::testing
