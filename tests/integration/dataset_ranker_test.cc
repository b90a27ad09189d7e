// active_learning/dataset_ranker (RankImages) on the real tiny_unet and a real blob store,
// without a server: the bounds (max_images, the time budget: the rest unscored and
// truncated), an unreadable image reported in `failed`, a model strategy without a model,
// and the model-free strategies.
#include "active_learning/dataset_ranker.h"

#include <gtest/gtest.h>

#include <span>

#include "imaging/codec.h"
#include "models/model.h"
#include "support/status_matchers.h"
#include "support/test_env.h"

namespace infera {
namespace {

class DatasetRankerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::CopyModel("tiny_unet", tmp_.path() / "repo");
    StatusOr<ModelConfig> config = LoadModelFolder(tmp_.path() / "repo" / "tiny_unet");
    ASSERT_TRUE(config.ok()) << config.status();
    StatusOr<std::shared_ptr<Model>> model = Model::Load(*config);
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = *model;
    auto blobs = OpenFsBlobStore(tmp_.path() / "blobs");
    ASSERT_TRUE(blobs.ok()) << blobs.status();
    blobs_ = std::move(*blobs);
    // Five flat images, brighter and brighter: 0, 40, ..., 160 (115 is tiny_unet's
    // threshold: the closer, the more uncertain).
    for (int i = 0; i < 5; ++i) {
      Image image = MakeImage(32, 32, 1, PixelType::kUInt8);
      std::fill(image.pixels<uint8_t>(), image.pixels<uint8_t>() + 32 * 32,
                static_cast<uint8_t>(40 * i));
      ASSERT_OK_AND_ASSIGN(std::vector<std::byte> png, EncodePng(image));
      Add("flat" + std::to_string(40 * i) + ".png", png);
    }
  }

  void Add(const std::string& name, std::span<const std::byte> bytes) {
    StatusOr<BlobInfo> blob = blobs_->Put(bytes);
    ASSERT_TRUE(blob.ok()) << blob.status();
    FileRecord f;
    f.id = static_cast<int64_t>(files_.size()) + 100;
    f.filename = name;
    f.sha256 = blob->sha256;
    f.size = blob->size;
    files_.push_back(f);
  }

  RankRequest Request(RankStrategy strategy) {
    RankRequest r;
    r.strategy = strategy;
    r.model = model_;
    r.params = nlohmann::json{{"threshold", 0.5}, {"output_is_probability", false}};
    r.candidates = files_;
    r.request_id = "test";
    return r;
  }

  testing::TempDir tmp_;
  std::shared_ptr<Model> model_;
  std::unique_ptr<BlobStore> blobs_;
  std::vector<FileRecord> files_;
  ImagePipeline pipeline_{ImagePipeline::Options{.threads = 2}};
};

TEST_F(DatasetRankerTest, ScoresEveryCandidateWithinTheBounds) {
  ASSERT_OK_AND_ASSIGN(RankResult r,
                       RankImages(Request(RankStrategy::kUncertainty), *blobs_, pipeline_, {}));
  EXPECT_EQ(r.candidates, 5);
  ASSERT_EQ(r.images.size(), 5u);
  EXPECT_EQ(r.unscored, 0);
  EXPECT_FALSE(r.truncated);
  // The image nearest the threshold first, the darkest last.
  EXPECT_EQ(r.images.front().filename, "flat120.png");
  EXPECT_EQ(r.images.back().filename, "flat0.png");
  for (size_t i = 1; i < r.images.size(); ++i) {
    EXPECT_GE(r.images[i - 1].score, r.images[i].score);
  }
}

TEST_F(DatasetRankerTest, MaxImagesScoresTheFirstInDatasetOrder) {
  RankOptions options;
  options.max_images = 2;
  ASSERT_OK_AND_ASSIGN(RankResult r,
                       RankImages(Request(RankStrategy::kTta), *blobs_, pipeline_, options));
  ASSERT_EQ(r.images.size(), 2u);
  EXPECT_EQ(r.unscored, 3);
  EXPECT_TRUE(r.truncated);
  for (const ScoredImage& s : r.images) EXPECT_LT(s.position, 2);
}

TEST_F(DatasetRankerTest, AnExhaustedTimeBudgetLeavesTheRestUnscored) {
  RankOptions options;
  options.time_budget = std::chrono::milliseconds(0);
  ASSERT_OK_AND_ASSIGN(
      RankResult r, RankImages(Request(RankStrategy::kUncertainty), *blobs_, pipeline_, options));
  EXPECT_TRUE(r.images.empty());
  EXPECT_EQ(r.unscored, 5);
  EXPECT_TRUE(r.truncated);
  EXPECT_TRUE(r.failed.empty());
}

TEST_F(DatasetRankerTest, AnUnreadableImageIsReportedAndLeftOut) {
  const std::string junk = "not an image at all";
  Add("junk.png", std::as_bytes(std::span(junk.data(), junk.size())));
  ASSERT_OK_AND_ASSIGN(RankResult r,
                       RankImages(Request(RankStrategy::kUncertainty), *blobs_, pipeline_, {}));
  EXPECT_EQ(r.images.size(), 5u);
  ASSERT_EQ(r.failed.size(), 1u);
  EXPECT_EQ(r.failed[0].filename, "junk.png");
  EXPECT_FALSE(r.failed[0].error.empty());
}

TEST_F(DatasetRankerTest, ModelStrategiesNeedAModelTheOthersDoNot) {
  RankRequest no_model = Request(RankStrategy::kUncertainty);
  no_model.model = nullptr;
  StatusOr<RankResult> refused = RankImages(no_model, *blobs_, pipeline_, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);

  RankRequest first = Request(RankStrategy::kFirst);
  first.model = nullptr;
  ASSERT_OK_AND_ASSIGN(RankResult r, RankImages(first, *blobs_, pipeline_, {}));
  ASSERT_EQ(r.images.size(), 5u);
  for (size_t i = 0; i < r.images.size(); ++i) EXPECT_EQ(r.images[i].file_id, files_[i].id);

  RankRequest random = Request(RankStrategy::kRandom);
  random.seed = 9;
  ASSERT_OK_AND_ASSIGN(RankResult a, RankImages(random, *blobs_, pipeline_, {}));
  ASSERT_OK_AND_ASSIGN(RankResult b, RankImages(random, *blobs_, pipeline_, {}));
  ASSERT_EQ(a.images.size(), 5u);
  for (size_t i = 0; i < a.images.size(); ++i) {
    EXPECT_EQ(a.images[i].file_id, b.images[i].file_id);
    EXPECT_EQ(a.images[i].score, RandomScore(9, a.images[i].file_id));
  }
}

}  // namespace
}  // namespace infera
