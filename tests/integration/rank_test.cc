// Active learning on the real server (POST /api/datasets/{id}/rank) with the real test
// models: uncertainty orders a certain blank image, a clear blobs image and an ambiguous
// grey under tiny_unet as their entropies say; tta's flipped predictions; images
// annotated in a set are skipped; first and random are deterministic; a classifier, a
// multiclass segmenter and cellpose_tiny (cell probability + flow error) are scored;
// ownership as datasets (another user 404, an admin sees), a set of another dataset 400.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "imaging/codec.h"
#include "support/auth_server_fixture.h"
#include "support/multipart_body.h"

namespace infera::testing {
namespace {

using json = nlohmann::json;

constexpr const char* kAdminPassword = "rank-admin-password";

std::string Png(const Image& image) {
  auto bytes = EncodePng(image);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  if (!bytes.ok()) return "";
  return std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size());
}

// A uniform 1-channel 8-bit PNG.
std::string FlatPng(int width, int height, uint8_t value) {
  Image image = MakeImage(width, height, 1, PixelType::kUInt8);
  std::fill(image.pixels<uint8_t>(), image.pixels<uint8_t>() + width * height, value);
  return Png(image);
}

class RankTest : public AuthServerFixture {
 protected:
  static void SetUpTestSuite() {
    StartSuiteServerWithUsers({"tiny_unet", "tiny_multiclass", "tiny_cls", "cellpose_tiny"},
                              "auth: {enabled: true, access_ttl_s: 600}\n", kAdminPassword);
  }
  static void TearDownTestSuite() { StopSuiteServer(); }

  static json JsonOf(const HttpResponse& r) { return json::parse(r.body, nullptr, false); }

  // A dataset of bob's with `files` (name -> bytes), uploaded in this order; file ids by
  // name in *ids.
  int64_t Dataset(const std::vector<std::pair<std::string, std::string>>& files,
                  std::map<std::string, int64_t>* ids) {
    HttpResponse d = As(bob_, "POST", "/api/datasets", json{{"name", "to rank"}}.dump());
    EXPECT_EQ(d.status, 201) << d.body;
    const int64_t id = JsonOf(d)["id"];
    for (const auto& [name, bytes] : files) {
      HttpResponse up =
          As(bob_, "POST", "/api/datasets/" + std::to_string(id) + "/files",
             MultipartBody({{"files", name, bytes}}), {{"Content-Type", MultipartContentType()}});
      EXPECT_EQ(up.status, 201) << up.body;
      const json uploaded = JsonOf(up);
      for (const json& f : uploaded["files"]) (*ids)[f["filename"].get<std::string>()] = f["id"];
    }
    return id;
  }

  HttpResponse Rank(const std::string& token, int64_t dataset, const json& body) {
    return As(token, "POST", "/api/datasets/" + std::to_string(dataset) + "/rank", body.dump());
  }
  json RankOk(int64_t dataset, const json& body) {
    HttpResponse r = Rank(bob_, dataset, body);
    EXPECT_EQ(r.status, 200) << r.body;
    return JsonOf(r);
  }

  static std::vector<std::string> Order(const json& ranking) {
    std::vector<std::string> names;
    for (const json& image : ranking["images"]) names.push_back(image["filename"]);
    return names;
  }
  static std::map<std::string, json> ByName(const json& ranking) {
    std::map<std::string, json> out;
    for (const json& image : ranking["images"]) out[image["filename"]] = image;
    return out;
  }

  // black: every pixel certainly background; blobs: bright blobs on dark (certain inside
  // and out, doubtful on the edges); grey115: brightness 0.45, tiny_unet's threshold.
  int64_t UnetDataset(std::map<std::string, int64_t>* ids) {
    return Dataset({{"black.png", FlatPng(64, 64, 0)},
                    {"blobs.png", ReadFile(TestModelsDir() / "images" / "blobs.png")},
                    {"grey115.png", FlatPng(64, 64, 115)}},
                   ids);
  }
};

TEST_F(RankTest, UncertaintyRanksByMeanPixelEntropyUnderTinyUnet) {
  std::map<std::string, int64_t> ids;
  const int64_t dataset = UnetDataset(&ids);
  const json r = RankOk(dataset, {{"model_id", "tiny_unet"}, {"strategy", "uncertainty"}});
  EXPECT_EQ(r["strategy"], "uncertainty");
  EXPECT_EQ(r["model"]["name"], "tiny_unet");
  EXPECT_EQ(r["model"]["runner"], "binary_sigmoid");
  EXPECT_EQ(r["candidates"], 3);
  EXPECT_EQ(r["scored"], 3);
  EXPECT_EQ(r["truncated"], false);
  EXPECT_TRUE(r["failed"].empty()) << r.dump();
  ASSERT_EQ(Order(r), (std::vector<std::string>{"grey115.png", "blobs.png", "black.png"}))
      << r.dump();
  const auto images = ByName(r);
  // Entropy in nats: the ambiguous grey is near ln 2, the blank image near 0.
  EXPECT_NEAR(images.at("grey115.png")["score"].get<double>(), std::log(2.0), 0.05);
  EXPECT_LT(images.at("black.png")["score"].get<double>(), 0.1);
  EXPECT_GT(images.at("blobs.png")["score"].get<double>(),
            images.at("black.png")["score"].get<double>());
  EXPECT_EQ(images.at("blobs.png")["file"], ids.at("blobs.png"));
  EXPECT_DOUBLE_EQ(images.at("blobs.png")["details"]["entropy"].get<double>(),
                   images.at("blobs.png")["score"].get<double>());
  for (size_t i = 0; i < r["images"].size(); ++i) EXPECT_EQ(r["images"][i]["rank"], i + 1);
  // The same request gives the same numbers.
  EXPECT_EQ(RankOk(dataset, {{"model_id", "tiny_unet"}, {"strategy", "uncertainty"}})["images"],
            r["images"]);
  // limit keeps the best.
  const json top =
      RankOk(dataset, {{"model_id", "tiny_unet"}, {"strategy", "uncertainty"}, {"limit", 1}});
  ASSERT_EQ(top["images"].size(), 1u);
  EXPECT_EQ(top["images"][0]["filename"], "grey115.png");
  // Runner params are the runner's: one it refuses is a 400 naming it.
  HttpResponse bad = Rank(
      bob_, dataset,
      {{"model_id", "tiny_unet"}, {"strategy", "uncertainty"}, {"params", {{"threshold", 7}}}});
  ExpectError(bad, 400, "threshold");
}

TEST_F(RankTest, TtaComparesFlippedPredictions) {
  std::map<std::string, int64_t> ids;
  const int64_t dataset = UnetDataset(&ids);
  const json r = RankOk(dataset, {{"model_id", "tiny_unet"}, {"strategy", "tta"}});
  EXPECT_EQ(r["strategy"], "tta");
  ASSERT_EQ(r["images"].size(), 3u) << r.dump();
  const auto images = ByName(r);
  for (const auto& [name, image] : images) {
    const double s = image["score"];
    EXPECT_GE(s, 0.0) << name;
    EXPECT_LE(s, 1.0) << name;
    EXPECT_DOUBLE_EQ(image["details"]["disagreement"].get<double>(), s);
  }
  // A blank image is predicted the same whichever way it is flipped; the blobs are not
  // symmetric, and tiny_unet's random 3x3 channels are not either.
  EXPECT_LT(images.at("black.png")["score"].get<double>(), 1e-3);
  EXPECT_GT(images.at("blobs.png")["score"].get<double>(),
            images.at("black.png")["score"].get<double>());
}

TEST_F(RankTest, ImagesAnnotatedInTheSetAreSkipped) {
  std::map<std::string, int64_t> ids;
  const int64_t dataset = UnetDataset(&ids);
  HttpResponse s =
      As(bob_, "POST", "/api/datasets/" + std::to_string(dataset) + "/annotations",
         json{{"name", "truth"}, {"kind", "semantic"}, {"labels", {{{"id", 1}, {"name", "blob"}}}}}
             .dump());
  ASSERT_EQ(s.status, 201) << s.body;
  const int64_t set = JsonOf(s)["id"];
  // Before any mask nothing is skipped.
  json r =
      RankOk(dataset,
             {{"model_id", "tiny_unet"}, {"strategy", "uncertainty"}, {"annotation_set_id", set}});
  EXPECT_EQ(r["skipped_annotated"], 0);
  EXPECT_EQ(r["images"][0]["filename"], "grey115.png");
  // The best image gets a mask: the next ranking starts with the one after it.
  HttpResponse put = As(bob_, "PUT",
                        "/api/annotations/" + std::to_string(set) + "/images/" +
                            std::to_string(ids.at("grey115.png")) + "/mask",
                        FlatPng(64, 64, 0), {{"Content-Type", "image/png"}});
  ASSERT_EQ(put.status, 201) << put.body;
  r = RankOk(dataset,
             {{"model_id", "tiny_unet"}, {"strategy", "uncertainty"}, {"annotation_set_id", set}});
  EXPECT_EQ(r["skipped_annotated"], 1);
  EXPECT_EQ(r["candidates"], 2);
  EXPECT_EQ(r["annotation_set_id"], set);
  EXPECT_EQ(Order(r), (std::vector<std::string>{"blobs.png", "black.png"}));
  // The model-free strategies skip it too.
  r = RankOk(dataset, {{"strategy", "first"}, {"annotation_set_id", set}});
  EXPECT_EQ(Order(r), (std::vector<std::string>{"black.png", "blobs.png"}));
}

TEST_F(RankTest, FirstAndRandomAreDeterministic) {
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 0; i < 8; ++i) {
    files.push_back({"img" + std::to_string(i) + ".png", FlatPng(8, 8, static_cast<uint8_t>(i))});
  }
  std::map<std::string, int64_t> ids;
  const int64_t dataset = Dataset(files, &ids);
  // first: dataset order, no model needed (a model given is echoed).
  json first = RankOk(dataset, {{"strategy", "first"}});
  std::vector<std::string> expected;
  for (const auto& f : files) expected.push_back(f.first);
  EXPECT_EQ(Order(first), expected);
  EXPECT_TRUE(first["model"].is_null());
  first = RankOk(dataset, {{"strategy", "first"}, {"model_id", "tiny_unet"}});
  EXPECT_EQ(first["model"]["name"], "tiny_unet");
  EXPECT_EQ(Order(first), expected);
  // random: the same seed, the same order and keys; another seed, other keys.
  const json a = RankOk(dataset, {{"strategy", "random"}, {"seed", 42}});
  const json b = RankOk(dataset, {{"strategy", "random"}, {"seed", 42}});
  const json c = RankOk(dataset, {{"strategy", "random"}, {"seed", 43}});
  EXPECT_EQ(a["images"], b["images"]);
  EXPECT_EQ(a["seed"], 42);
  EXPECT_NE(a["images"], c["images"]);
  ASSERT_EQ(a["images"].size(), 8u);
  for (size_t i = 1; i < a["images"].size(); ++i) {
    EXPECT_GE(a["images"][i - 1]["score"].get<double>(), a["images"][i]["score"].get<double>());
  }
  // No seed is seed 0.
  EXPECT_EQ(RankOk(dataset, {{"strategy", "random"}})["images"],
            RankOk(dataset, {{"strategy", "random"}, {"seed", 0}})["images"]);
}

TEST_F(RankTest, ClassifierAndMulticlassScoresAreEntropiesOfTheirDistributions) {
  const auto images = TestModelsDir() / "images";
  std::map<std::string, int64_t> ids;
  const int64_t dataset = Dataset({{"disk.png", ReadFile(images / "disk.png")},
                                   {"square.png", ReadFile(images / "square.png")},
                                   {"stripes.png", ReadFile(images / "stripes.png")},
                                   {"rgb_regions.png", ReadFile(images / "rgb_regions.png")},
                                   {"grey.png", FlatPng(64, 64, 128)}},
                                  &ids);
  // Three classes each: entropies between 0 and ln 3 nats.
  for (const char* model : {"tiny_cls", "tiny_multiclass"}) {
    const json r = RankOk(dataset, {{"model_id", model}, {"strategy", "uncertainty"}});
    ASSERT_EQ(r["images"].size(), 5u) << model << " " << r.dump();
    for (const json& image : r["images"]) {
      EXPECT_GE(image["score"].get<double>(), 0.0) << model << " " << image;
      EXPECT_LE(image["score"].get<double>(), std::log(3.0) + 1e-9) << model << " " << image;
    }
    const json t = RankOk(dataset, {{"model_id", model}, {"strategy", "tta"}});
    ASSERT_EQ(t["images"].size(), 5u) << model << " " << t.dump();
    for (const json& image : t["images"]) {
      EXPECT_GE(image["score"].get<double>(), 0.0) << model << " " << image;
      EXPECT_LE(image["score"].get<double>(), 1.0) << model << " " << image;
    }
  }
  // The classifier is sure of the shapes it was trained on, less of a flat grey.
  const auto cls = ByName(RankOk(dataset, {{"model_id", "tiny_cls"}, {"strategy", "uncertainty"}}));
  EXPECT_LT(cls.at("disk.png")["score"].get<double>(), cls.at("grey.png")["score"].get<double>());
}

TEST_F(RankTest, CellposeCombinesCellProbabilityEntropyAndFlowError) {
  const auto images = TestModelsDir() / "images";
  std::map<std::string, int64_t> ids;
  const std::string cells = ReadFile(images / "cells" / "cells_00.tif");
  const int64_t dataset =
      Dataset({{"blank.png", FlatPng(96, 96, 0)}, {"cells_00.tif", cells}}, &ids);
  const json r = RankOk(dataset, {{"model_id", "cellpose_tiny"},
                                  {"strategy", "uncertainty"},
                                  {"params", {{"channels", {1, 2}}}}});
  ASSERT_EQ(r["images"].size(), 2u) << r.dump();
  const auto by = ByName(r);
  const json& c = by.at("cells_00.tif");
  const json& b = by.at("blank.png");
  // The cells give masks whose flows are checked; a blank image has none.
  EXPECT_GT(c["details"]["masks"].get<int>(), 0) << c;
  EXPECT_GE(c["details"]["flow_error"].get<double>(), 0.0) << c;
  EXPECT_EQ(b["details"]["masks"], 0) << b;
  EXPECT_EQ(b["details"]["flow_error"], 0.0) << b;
  EXPECT_NEAR(c["score"].get<double>(),
              c["details"]["entropy"].get<double>() + c["details"]["flow_error"].get<double>(),
              1e-9);
  EXPECT_EQ(Order(r)[0], "cells_00.tif") << r.dump();
}

TEST_F(RankTest, OwnershipAndSetsOfAnotherDataset) {
  std::map<std::string, int64_t> ids;
  const int64_t dataset = Dataset({{"a.png", FlatPng(8, 8, 1)}}, &ids);
  const int64_t other = Dataset({{"b.png", FlatPng(8, 8, 2)}}, &ids);
  HttpResponse s = As(bob_, "POST", "/api/datasets/" + std::to_string(other) + "/annotations",
                      json{{"name", "elsewhere"}, {"kind", "semantic"}}.dump());
  ASSERT_EQ(s.status, 201) << s.body;
  const int64_t other_set = JsonOf(s)["id"];
  // Another user sees neither the dataset nor the set.
  ExpectError(Rank(eve_, dataset, {{"strategy", "first"}}), 404, "not found");
  HttpResponse e = As(eve_, "POST", "/api/datasets", json{{"name", "eve's"}}.dump());
  ASSERT_EQ(e.status, 201) << e.body;
  const int64_t eves = JsonOf(e)["id"];
  ExpectError(Rank(eve_, eves, {{"strategy", "first"}, {"annotation_set_id", other_set}}), 404,
              "not found");
  // An admin sees bob's dataset.
  EXPECT_EQ(Rank(admin_, dataset, {{"strategy", "first"}}).status, 200);
  // A set of another dataset is the caller's mistake.
  ExpectError(Rank(bob_, dataset, {{"strategy", "first"}, {"annotation_set_id", other_set}}), 400,
              "belongs to dataset");
  // No token: 401.
  EXPECT_EQ(Post("/api/datasets/" + std::to_string(dataset) + "/rank", "{\"strategy\": \"first\"}")
                .status,
            401);
}

}  // namespace
}  // namespace infera::testing
