// Trainer on the test models (build/test-models): tiny_unet (binary_sigmoid, gray 64x64)
// and gray_cls (classify, gray 32x32, 4 classes), on synthetic images made here.
#include "training/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "cellpose/synthetic_cells.h"
#include "models/model_config.h"
#include "runners/runner_registry.h"
#include "support/status_matchers.h"
#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;

// A 64x64 gray image with bright discs (seeded) and its 0/255 mask.
TrainingSample Blobs(int seed) {
  TrainingSample s;
  s.name = "blobs" + std::to_string(seed) + ".png";
  s.image = MakeImage(64, 64, 1, PixelType::kUInt8);
  s.mask = MakeImage(64, 64, 1, PixelType::kUInt8);
  const int cx = 16 + (seed * 13) % 32, cy = 16 + (seed * 7) % 32, r = 6 + seed % 5;
  for (int y = 0; y < 64; ++y) {
    for (int x = 0; x < 64; ++x) {
      const bool in = (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r;
      s.image.pixels<uint8_t>()[y * 64 + x] = static_cast<uint8_t>(in ? 60 : 200 - (x + y) % 7);
      s.mask.pixels<uint8_t>()[y * 64 + x] = in ? 255 : 0;
    }
  }
  return s;
}

std::vector<TrainingSample> BlobSet(int n) {
  std::vector<TrainingSample> samples;
  for (int i = 0; i < n; ++i) samples.push_back(Blobs(i));
  return samples;
}

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(unet_, LoadModelFolder(testing::TestModelsDir() / "repo" / "tiny_unet"));
    runner_ = FindRunner("binary_sigmoid");
    ASSERT_NE(runner_, nullptr);
    params_.epochs = 3;
    params_.batch_size = 2;
    params_.lr = 0.01;
    params_.seed = 3;
  }

  ModelConfig unet_;
  const Runner* runner_ = nullptr;
  TrainingParams params_;
  testing::TempDir dir_;
};

void ExpectInvalid(const StatusOr<std::unique_ptr<Trainer>>& made, const std::string& says) {
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), absl::StatusCode::kInvalidArgument) << made.status();
  EXPECT_NE(std::string(made.status().message()).find(says), std::string::npos)
      << made.status().message() << " should say " << says;
}

TEST_F(TrainerTest, CreateRefusesWhatCannotTrain) {
  ModelConfig onnx = unet_;
  onnx.backend = "onnx";
  ExpectInvalid(Trainer::Create(onnx, *runner_, params_, BlobSet(2), dir_.path()),
                "only torchscript models can be trained");
  ExpectInvalid(
      Trainer::Create(unet_, *FindRunner("custom_tiff"), params_, BlobSet(2), dir_.path()),
      "runners that can: binary_sigmoid, cellpose, classify, multiclass_argmax");
  ExpectInvalid(Trainer::Create(unet_, *runner_, params_, {}, dir_.path()), "no annotated images");
  std::vector<TrainingSample> misfit = BlobSet(2);
  misfit[1].mask = MakeImage(10, 10, 1, PixelType::kUInt8);
  ExpectInvalid(Trainer::Create(unet_, *runner_, params_, misfit, dir_.path()),
                "sample 'blobs1.png': its mask is 10x10 but the image is 64x64");
  TrainingParams freeze = params_;
  freeze.freeze = "decoder";
  ExpectInvalid(Trainer::Create(unet_, *runner_, freeze, BlobSet(2), dir_.path()),
                "freeze 'decoder' matches no parameter of the model (its parameters: enc1.weight");
  freeze.freeze = "e";  // enc1, enc2: head is left
  ASSERT_OK(Trainer::Create(unet_, *runner_, freeze, BlobSet(2), dir_.path()).status());
}

TEST_F(TrainerTest, FreezeEncoderLeavesTheHeadToTrain) {
  TrainingParams p = params_;
  p.freeze = "encoder";
  p.epochs = 1;
  ASSERT_OK_AND_ASSIGN(auto trainer, Trainer::Create(unet_, *runner_, p, BlobSet(4), dir_.path()));
  ASSERT_OK_AND_ASSIGN(TrainingResult result, trainer->Run({}));
  EXPECT_EQ(result.epochs.size(), 2u);
  // Only the head trains: the loss still changes.
  EXPECT_NE(result.epochs[1].val_loss, result.epochs[0].val_loss);
}

TEST_F(TrainerTest, RunsEpochsKeepsTheBestAndCheckpoints) {
  ASSERT_OK_AND_ASSIGN(auto trainer,
                       Trainer::Create(unet_, *runner_, params_, BlobSet(6), dir_.path()));
  std::vector<int> epochs, checkpoints;
  int64_t last_step = 0, steps = 0;
  std::vector<std::string> log;
  TrainingCallbacks callbacks;
  callbacks.on_epoch = [&](const EpochMetrics& m) { epochs.push_back(m.epoch); };
  callbacks.on_checkpoint = [&](int epoch) {
    checkpoints.push_back(epoch);
    EXPECT_TRUE(fs::exists(dir_.path() / "checkpoint.pt"));
  };
  callbacks.on_step = [&](int64_t step, int64_t total) {
    EXPECT_EQ(step, last_step + 1);
    last_step = step;
    steps = total;
  };
  callbacks.log = [&](const std::string& line) { log.push_back(line); };
  ASSERT_OK_AND_ASSIGN(TrainingResult result, trainer->Run(callbacks));
  EXPECT_FALSE(result.stopped);
  EXPECT_EQ(epochs, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(checkpoints, (std::vector<int>{0, 1, 2, 3}));
  // 6 images, validation 0.25 -> 2 validate, 4 train in batches of 2: 2 steps an epoch.
  EXPECT_EQ(result.train_names.size(), 4u);
  EXPECT_EQ(result.val_names.size(), 2u);
  EXPECT_EQ(steps, 6);
  EXPECT_EQ(last_step, 6);
  ASSERT_EQ(result.epochs.size(), 4u);
  EXPECT_EQ(result.epochs[0].train_loss, 0.0);
  EXPECT_TRUE(result.epochs[0].metrics.contains("iou"));
  EXPECT_TRUE(result.epochs[0].metrics.contains("dice"));
  EXPECT_EQ(result.parent_score, result.epochs[0].score);
  double best = -1;
  int best_epoch = -1;
  for (const EpochMetrics& m : result.epochs) {
    if (m.score > best) best = m.score, best_epoch = m.epoch;
  }
  EXPECT_EQ(result.best_epoch, best_epoch);
  EXPECT_EQ(result.best_score, best);
  EXPECT_TRUE(fs::exists(result.artifact));
  EXPECT_GT(fs::file_size(result.artifact), 0u);
  EXPECT_GT(result.images_per_second, 0);
  EXPECT_EQ(log.size(), 4u);
}

TEST_F(TrainerTest, EarlyStoppingAfterPatience) {
  TrainingParams p = params_;
  p.epochs = 50;
  p.lr = 1e-8;  // nothing improves
  p.patience = 2;
  p.augment = false;
  ASSERT_OK_AND_ASSIGN(auto trainer, Trainer::Create(unet_, *runner_, p, BlobSet(4), dir_.path()));
  ASSERT_OK_AND_ASSIGN(TrainingResult result, trainer->Run({}));
  EXPECT_LT(result.epochs.size(), 10u);
  EXPECT_FALSE(result.stopped);
}

TEST_F(TrainerTest, ShouldStopStopsWithinOneBatch) {
  ASSERT_OK_AND_ASSIGN(auto trainer,
                       Trainer::Create(unet_, *runner_, params_, BlobSet(6), dir_.path()));
  int asked = 0, stepped = 0;
  bool stop = false;
  TrainingCallbacks callbacks;
  callbacks.should_stop = [&] {
    ++asked;
    return stop;
  };
  callbacks.on_step = [&](int64_t, int64_t) {
    ++stepped;
    if (stepped == 3) stop = true;  // a cancel arrives during step 3
  };
  ASSERT_OK_AND_ASSIGN(TrainingResult result, trainer->Run(callbacks));
  EXPECT_TRUE(result.stopped);
  EXPECT_TRUE(result.artifact.empty());
  EXPECT_EQ(stepped, 3);                // not one batch more
  ASSERT_EQ(result.epochs.size(), 2u);  // epoch 0 and epoch 1 (2 steps); stopped in epoch 2
  EXPECT_EQ(result.parent_score, result.epochs[0].score);
}

// Interrupted after epoch 1's checkpoint, then run again from the same work folder: the
// same epochs, losses and scores as a run that was never interrupted.
TEST_F(TrainerTest, ResumeFromCheckpointGivesTheUninterruptedResult) {
  testing::TempDir other;
  ASSERT_OK_AND_ASSIGN(auto whole,
                       Trainer::Create(unet_, *runner_, params_, BlobSet(6), other.path()));
  ASSERT_OK_AND_ASSIGN(TrainingResult expected, whole->Run({}));

  {
    ASSERT_OK_AND_ASSIGN(auto first,
                         Trainer::Create(unet_, *runner_, params_, BlobSet(6), dir_.path()));
    bool stop = false;
    TrainingCallbacks callbacks;
    callbacks.on_checkpoint = [&](int epoch) { stop = epoch == 1; };
    callbacks.should_stop = [&] { return stop; };
    ASSERT_OK_AND_ASSIGN(TrainingResult stopped, first->Run(callbacks));
    EXPECT_TRUE(stopped.stopped);
  }
  ASSERT_OK_AND_ASSIGN(auto second,
                       Trainer::Create(unet_, *runner_, params_, BlobSet(6), dir_.path()));
  std::vector<std::string> log;
  std::vector<int> epochs;
  TrainingCallbacks callbacks;
  callbacks.log = [&](const std::string& line) { log.push_back(line); };
  callbacks.on_epoch = [&](const EpochMetrics& m) { epochs.push_back(m.epoch); };
  ASSERT_OK_AND_ASSIGN(TrainingResult resumed, second->Run(callbacks));
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log[0].rfind("resuming after epoch 1", 0), 0u) << log[0];
  EXPECT_EQ(epochs, (std::vector<int>{2, 3}));  // epochs 0 and 1 were not run again
  ASSERT_EQ(resumed.epochs.size(), expected.epochs.size());
  for (size_t i = 0; i < expected.epochs.size(); ++i) {
    EXPECT_EQ(resumed.epochs[i].train_loss, expected.epochs[i].train_loss) << "epoch " << i;
    EXPECT_EQ(resumed.epochs[i].val_loss, expected.epochs[i].val_loss) << "epoch " << i;
    EXPECT_EQ(resumed.epochs[i].score, expected.epochs[i].score) << "epoch " << i;
  }
  EXPECT_EQ(resumed.best_epoch, expected.best_epoch);
  EXPECT_EQ(testing::ReadFile(resumed.artifact).size(),
            testing::ReadFile(expected.artifact).size());

  // Other params: the checkpoint is not this run's, so it starts over.
  TrainingParams changed = params_;
  changed.lr = 0.02;
  ASSERT_OK_AND_ASSIGN(auto third,
                       Trainer::Create(unet_, *runner_, changed, BlobSet(6), dir_.path()));
  log.clear();
  epochs.clear();
  ASSERT_OK_AND_ASSIGN(TrainingResult fresh, third->Run(callbacks));
  EXPECT_EQ(epochs, (std::vector<int>{0, 1, 2, 3}));
  ASSERT_FALSE(log.empty());
  EXPECT_NE(log[0].find("from another run"), std::string::npos) << log[0];
}

TEST(TrainerClassifyTest, TrainsOnImageLabels) {
  ASSERT_OK_AND_ASSIGN(ModelConfig model,
                       LoadModelFolder(testing::TestModelsDir() / "repo" / "gray_cls"));
  std::vector<TrainingSample> samples;
  for (int i = 0; i < 8; ++i) {
    TrainingSample s;
    s.name = "img" + std::to_string(i) + ".png";
    s.image = MakeImage(32, 32, 1, PixelType::kUInt8);
    for (int p = 0; p < 32 * 32; ++p) s.image.pixels<uint8_t>()[p] = static_cast<uint8_t>(i * 30);
    s.image_label = i % 2;
    samples.push_back(std::move(s));
  }
  TrainingSample unlabelled = samples[0];
  unlabelled.image_label.reset();
  testing::TempDir dir;
  TrainingParams params;
  params.epochs = 2;
  const Runner& runner = *FindRunner("classify");
  ExpectInvalid(Trainer::Create(model, runner, params, {unlabelled}, dir.path()),
                "needs an image label in 0..3");
  ASSERT_OK_AND_ASSIGN(auto trainer, Trainer::Create(model, runner, params, samples, dir.path()));
  ASSERT_OK_AND_ASSIGN(TrainingResult result, trainer->Run({}));
  ASSERT_EQ(result.epochs.size(), 3u);
  EXPECT_TRUE(result.epochs[1].metrics.contains("accuracy"));
  EXPECT_GE(result.best_score, result.parent_score);
}

// cellpose_tiny (128-pixel tiles): 112x112 crops of 128x128 synthetic cells, AP@0.5 from
// the runner's own mask reconstruction each epoch.
TEST(TrainerCellposeTest, TrainsOnInstanceMasksAndScoresAp50) {
  ASSERT_OK_AND_ASSIGN(ModelConfig model,
                       LoadModelFolder(testing::TestModelsDir() / "repo" / "cellpose_tiny"));
  std::vector<TrainingSample> samples;
  for (int i = 0; i < 3; ++i) {
    cellpose::SyntheticCellsOptions o;
    o.seed = static_cast<uint64_t>(100 + i);
    o.count = 12;
    const cellpose::LabelImage labels = cellpose::MakeSyntheticCells(o);
    TrainingSample s;
    s.name = "cells" + std::to_string(i) + ".png";
    s.image = MakeImage(o.width, o.height, 1, PixelType::kUInt8);
    s.mask = MakeImage(o.width, o.height, 1, PixelType::kUInt16);
    for (size_t p = 0; p < labels.size(); ++p) {
      s.image.pixels<uint8_t>()[p] = labels.labels[p] != 0 ? 180 : 20;
      s.mask.pixels<uint16_t>()[p] = static_cast<uint16_t>(labels.labels[p]);
    }
    samples.push_back(std::move(s));
  }
  std::vector<TrainingSample> small = {samples[0]};
  small[0].image = MakeImage(100, 128, 1, PixelType::kUInt8);
  small[0].mask = MakeImage(100, 128, 1, PixelType::kUInt16);
  testing::TempDir dir;
  TrainingParams params;
  params.epochs = 1;
  params.batch_size = 2;
  const Runner& runner = *FindRunner("cellpose");
  ExpectInvalid(Trainer::Create(model, runner, params, small, dir.path()),
                "cellpose training cuts 112x112 crops");
  ASSERT_OK_AND_ASSIGN(auto trainer, Trainer::Create(model, runner, params, samples, dir.path()));
  ASSERT_OK_AND_ASSIGN(TrainingResult result, trainer->Run({}));
  ASSERT_EQ(result.epochs.size(), 2u);
  for (const EpochMetrics& m : result.epochs) {
    ASSERT_TRUE(m.metrics.contains("ap50")) << m.metrics.dump();
    EXPECT_GE(m.score, 0.0);
    EXPECT_LE(m.score, 1.0);
    EXPECT_TRUE(std::isfinite(m.val_loss));
  }
  EXPECT_GT(result.epochs[1].train_loss, 0.0);
  EXPECT_TRUE(fs::exists(result.artifact));
}

}  // namespace
}  // namespace infera
