#include "training/training_record.h"

#include <gtest/gtest.h>

namespace infera {
namespace {

TEST(TrainingRecordTest, HasTheLineageParamsEpochsAndSplit) {
  TrainingResult result;
  EpochMetrics e0, e1;
  e0.epoch = 0;
  e0.score = 0.4;
  e0.metrics = {{"iou", 0.4}};
  e1.epoch = 1;
  e1.train_loss = 0.7;
  e1.score = 0.8;
  result.epochs = {e0, e1};
  result.best_epoch = 1;
  result.parent_score = 0.4;
  result.best_score = 0.8;
  result.train_names = {"a.png", "b.png"};
  result.val_names = {"c.png"};
  result.seconds = 3;
  result.images_per_second = 12;
  TrainingParams params;
  params.seed = 9;
  const nlohmann::json record =
      TrainingRecordJson(result, params, 2, "binary_sigmoid", {{"images", "/x"}});
  EXPECT_EQ(record["parent_version"], 2);
  EXPECT_EQ(record["runner"], "binary_sigmoid");
  EXPECT_EQ(record["seed"], 9);
  EXPECT_EQ(record["params"], TrainingParamsToJson(params));
  ASSERT_EQ(record["epochs"].size(), 2u);
  EXPECT_EQ(record["epochs"][0]["metrics"]["iou"], 0.4);
  EXPECT_EQ(record["epochs"][1]["train_loss"], 0.7);
  EXPECT_EQ(record["best_epoch"], 1);
  EXPECT_EQ(record["held_back"], false);
  EXPECT_EQ(record["split"]["validation"], nlohmann::json({"c.png"}));
  EXPECT_EQ(record["duration_s"], 3);
  EXPECT_EQ(record["images_per_second"], 12);
  EXPECT_EQ(record["sources"]["images"], "/x");
}

TEST(TrainingRecordTest, HeldBackWhenWorseThanTheParent) {
  TrainingResult result;
  result.parent_score = 0.9;
  result.best_score = 0.85;
  EXPECT_TRUE(HeldBack(result));
  result.best_score = 0.9;
  EXPECT_FALSE(HeldBack(result));
}

}  // namespace
}  // namespace infera
