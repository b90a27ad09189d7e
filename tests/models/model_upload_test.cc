#include "models/model_upload.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace infera {
namespace {

using ::testing::HasSubstr;

ModelUpload Basic() {
  ModelUpload u;
  u.name = "cells";
  u.runner = "binary_sigmoid";
  return u;
}

YAML::Node Built(const ModelUpload& u) {
  StatusOr<std::string> text = BuildUploadYaml(u);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? YAML::Load(*text) : YAML::Node();
}

std::string Error(const ModelUpload& u) {
  StatusOr<std::string> text = BuildUploadYaml(u);
  EXPECT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument);
  return text.ok() ? ""
                   : std::string(text.status().message().data(), text.status().message().size());
}

TEST(ModelUploadTest, DottedFieldsBecomeNestedKeys) {
  ModelUpload u = Basic();
  u.fields["input.size"] = "[512, 256]";
  u.fields["input.color"] = "gray";
  u.fields["batching.max_batch_size"] = "4";
  u.fields["warmup"] = "false";
  YAML::Node y = Built(u);
  EXPECT_EQ(y["name"].as<std::string>(), "cells");
  EXPECT_EQ(y["runner"].as<std::string>(), "binary_sigmoid");
  EXPECT_EQ(y["input"]["size"][0].as<int>(), 512);
  EXPECT_EQ(y["input"]["size"][1].as<int>(), 256);
  EXPECT_EQ(y["input"]["color"].as<std::string>(), "gray");
  EXPECT_EQ(y["batching"]["max_batch_size"].as<int>(), 4);
  EXPECT_FALSE(y["warmup"].as<bool>());
  EXPECT_FALSE(y["labels"].IsDefined());
}

TEST(ModelUploadTest, FieldsAndFormValuesOverrideTheUploadedYaml) {
  ModelUpload u = Basic();
  u.yaml_text = "runner: classify\ndescription: old\ninput: {size: [64, 64], color: rgb}\n";
  u.fields["input.color"] = "gray";
  u.description = "new";
  u.labels = "/tmp/labels-upload.txt";
  YAML::Node y = Built(u);
  EXPECT_EQ(y["runner"].as<std::string>(), "binary_sigmoid");
  EXPECT_EQ(y["description"].as<std::string>(), "new");
  EXPECT_EQ(y["input"]["size"][0].as<int>(), 64);  // kept from the YAML
  EXPECT_EQ(y["input"]["color"].as<std::string>(), "gray");
  EXPECT_EQ(y["labels"].as<std::string>(), "labels.txt");
}

TEST(ModelUploadTest, RefusesWhatTheLoaderWouldAndWhatAnUploadMustNotSet) {
  ModelUpload u = Basic();
  u.runner = "nope";
  EXPECT_THAT(Error(u), HasSubstr("Available runners: ["));
  u = Basic();
  u.runner = "";
  EXPECT_THAT(Error(u), HasSubstr("'runner_name' is required"));
  u = Basic();
  u.name = "a/b";
  EXPECT_THAT(Error(u), HasSubstr("invalid model name"));
  u = Basic();
  u.yaml_text = "version: 2\n";
  EXPECT_THAT(Error(u), HasSubstr("'version' cannot be set"));
  u = Basic();
  u.yaml_text = "labels: labels.txt\n";
  EXPECT_THAT(Error(u), HasSubstr("no labels file was uploaded"));
  u = Basic();
  u.yaml_text = "- a list\n";
  EXPECT_THAT(Error(u), HasSubstr("expected a mapping"));
  u = Basic();
  u.fields["input.size"] = "[1, 2";
  EXPECT_THAT(Error(u), HasSubstr("input.size"));
  u = Basic();
  u.fields["input.size"] = "banana";
  EXPECT_THAT(Error(u), HasSubstr("size"));
  u = Basic();
  u.fields["colour"] = "red";
  EXPECT_THAT(Error(u), HasSubstr("colour"));
  u = Basic();
  u.fields["input..size"] = "1";
  EXPECT_THAT(Error(u), HasSubstr("bad model.yaml field"));
  u = Basic();
  u.fields["description.x"] = "1";
  u.yaml_text = "description: text\n";
  EXPECT_THAT(Error(u), HasSubstr("not a mapping"));
}

}  // namespace
}  // namespace infera
