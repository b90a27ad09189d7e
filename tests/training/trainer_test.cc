// Trainer on the test models (build/test-models): tiny_unet (binary_sigmoid, gray 64x64)
// and gray_cls (classify, gray 32x32, 4 classes), on synthetic images made here.
#include "training/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "cellpose/synthetic_cells.h"
#include "models/model_config.h"
#include "runners/runner_registry.h"
#include "support/status_matchers.h"
#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;

// A 64x64 gray image with dark discs on a bright background (seeded; tiny_unet, built
// for bright blobs, does not find them) and its 0/255 mask; `bright`: bright discs on a
// dark background instead (tiny_unet's kind).
TrainingSample Blobs(int seed, bool bright = false) {
  TrainingSample s;
  s.name = "blobs" + std::to_string(seed) + ".png";
  s.image = MakeImage(64, 64, 1, PixelType::kUInt8);
  s.mask = MakeImage(64, 64, 1, PixelType::kUInt8);
  const int cx = 16 + (seed * 13) % 32, cy = 16 + (seed * 7) % 32, r = 6 + seed % 5;
  for (int y = 0; y < 64; ++y) {
    for (int x = 0; x < 64; ++x) {
      const bool in = (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r;
      const int value = in ? 60 : 200 - (x + y) % 7;
      s.image.pixels<uint8_t>()[y * 64 + x] = static_cast<uint8_t>(bright ? 255 - value : value);
      s.mask.pixels<uint8_t>()[y * 64 + x] = in ? 255 : 0;
    }
  }
  return s;
}

std::vector<TrainingSample> BlobSet(int n, bool bright = false) {
  std::vector<TrainingSample> samples;
  for (int i = 0; i < n; ++i) samples.push_back(Blobs(i, bright));
  return samples;
}

// One training run in the work folder `dir` (the result's artifact is written there); the
// trainer's log lines go to `log` when given.
StatusOr<TrainingResult> TrainOnce(const ModelConfig& model, const Runner& runner,
                                   const TrainingParams& params,
                                   std::vector<TrainingSample> samples, const fs::path& dir,
                                   const nlohmann::json& runner_params = nullptr,
                                   std::vector<std::string>* log = nullptr) {
  ASSIGN_OR_RETURN(auto trainer,
                   Trainer::Create(model, runner, params, std::move(samples), dir, runner_params));
  TrainingCallbacks callbacks;
  if (log != nullptr) callbacks.log = [log](const std::string& line) { log->push_back(line); };
  return trainer->Run(callbacks);
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
  EXPECT_EQ(log.size(), 5u);  // the task, then epochs 0 to 3
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
  ASSERT_GE(log.size(), 2u);
  EXPECT_EQ(log[0].rfind("binary_sigmoid: the model outputs one channel of scores", 0), 0u)
      << log[0];
  EXPECT_EQ(log[1].rfind("resuming after epoch 1", 0), 0u) << log[1];
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
  ASSERT_GE(log.size(), 2u);
  EXPECT_NE(log[1].find("from another run"), std::string::npos) << log[1];
}

// tiny_unet with a sigmoid after its logits (its probabilities), written to `dir` as model
// `name` served by binary_sigmoid with `params: {output_is_probability: true}` in its
// model.yaml. Made with Debian's /usr/bin/python3 (python3-torch), as the parity test's
// data; a missing interpreter or module fails the test.
StatusOr<ModelConfig> ProbabilityUnet(const fs::path& dir, const std::string& name) {
  const fs::path unet = testing::TestModelsDir() / "repo" / "tiny_unet";
  fs::create_directories(dir / name / "1");
  testing::WriteFile(
      dir / "wrap.py",
      "import sys\n"
      "import torch\n"
      "class Probabilities(torch.nn.Module):\n"
      "    def __init__(self, logits):\n"
      "        super().__init__()\n"
      "        self.logits = logits\n"
      "    def forward(self, x: torch.Tensor) -> torch.Tensor:\n"
      "        return torch.sigmoid(self.logits(x))\n"
      "torch.jit.script(Probabilities(torch.jit.load(sys.argv[1]))).save(sys.argv[2])\n");
  const std::string command = "timeout 120 /usr/bin/python3 " + (dir / "wrap.py").string() + " " +
                              (unet / "1" / "model.pt").string() + " " +
                              (dir / name / "1" / "model.pt").string() + " 2>&1";
  if (std::system(command.c_str()) != 0) {
    return absl::InternalError("cannot wrap tiny_unet: " + command);
  }
  testing::WriteFile(dir / name / "model.yaml", testing::ReadFile(unet / "model.yaml") +
                                                    "params: {output_is_probability: true}\n");
  return LoadModelFolder(dir / name);
}

// binary_sigmoid trains as it serves: by its output_is_probability param, BCE on the
// probabilities of a model that applies its own sigmoid (else BCE with logits), and the
// validation metrics at the runner's threshold on the probability. The same network with
// and without its final sigmoid then scores the same.
TEST_F(TrainerTest, BinarySigmoidHonoursOutputIsProbabilityAndThreshold) {
  testing::TempDir models;
  ASSERT_OK_AND_ASSIGN(ModelConfig probabilities, ProbabilityUnet(models.path(), "unet_prob"));
  EXPECT_EQ(probabilities.params, (nlohmann::json{{"output_is_probability", true}}));
  TrainingParams p = params_;
  p.epochs = 1;
  auto run = [&](const ModelConfig& model, const nlohmann::json& runner_params,
                 std::vector<std::string>* log = nullptr) {
    testing::TempDir dir;
    return TrainOnce(model, *runner_, p, BlobSet(6, /*bright=*/true), dir.path(), runner_params,
                     log);
  };
  std::vector<std::string> log;
  ASSERT_OK_AND_ASSIGN(TrainingResult logits, run(unet_, nullptr, &log));
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log[0],
            "binary_sigmoid: the model outputs one channel of scores: BCE with logits + Dice, "
            "metrics iou and dice at threshold 0.5");
  log.clear();
  // model.yaml's output_is_probability: BCE on the probabilities.
  ASSERT_OK_AND_ASSIGN(TrainingResult probs, run(probabilities, nullptr, &log));
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log[0],
            "binary_sigmoid: the model outputs one channel of probabilities: BCE + Dice, "
            "metrics iou and dice at threshold 0.5");
  // The starting models are one network: the same masks, so the same IoU (read as logits,
  // every probability would be foreground), and nearly the same loss (BCE of the
  // probabilities against BCE with logits).
  const double iou = logits.epochs[0].score;
  EXPECT_GT(iou, 0.5) << logits.epochs[0].metrics.dump();
  EXPECT_EQ(probs.epochs[0].score, iou) << probs.epochs[0].metrics.dump();
  EXPECT_EQ(probs.epochs[0].metrics["dice"], logits.epochs[0].metrics["dice"]);
  EXPECT_NEAR(probs.epochs[0].val_loss, logits.epochs[0].val_loss,
              1e-3 * logits.epochs[0].val_loss);
  ASSERT_EQ(probs.epochs.size(), 2u);
  EXPECT_TRUE(std::isfinite(probs.epochs[1].train_loss));
  EXPECT_GT(probs.epochs[1].train_loss, 0.0);

  // The runner's threshold is on the probability, for either output.
  const nlohmann::json strict = {{"threshold", 0.999}};
  ASSERT_OK_AND_ASSIGN(TrainingResult strict_logits, run(unet_, strict));
  ASSERT_OK_AND_ASSIGN(TrainingResult strict_probs, run(probabilities, strict));
  EXPECT_LT(strict_logits.epochs[0].score, iou - 0.1) << strict_logits.epochs[0].metrics.dump();
  EXPECT_EQ(strict_probs.epochs[0].score, strict_logits.epochs[0].score);
  EXPECT_EQ(strict_logits.epochs[0].val_loss, logits.epochs[0].val_loss);

  // Runner params over model.yaml's: the probabilities read as logits score otherwise.
  ASSERT_OK_AND_ASSIGN(TrainingResult misread,
                       run(probabilities, {{"output_is_probability", false}}));
  EXPECT_LT(misread.epochs[0].score, iou - 0.1) << misread.epochs[0].metrics.dump();
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

  // Without a labels file only the model's output (K = 4) bounds the labels: one of 4 is
  // refused naming its image, before LibTorch's loss would fail on it.
  model.labels.clear();
  std::vector<TrainingSample> beyond = samples;
  beyond[3].image_label = 4;
  testing::TempDir other;
  ExpectInvalid(Trainer::Create(model, runner, params, beyond, other.path()),
                "sample 'img3.png': its image label is class 4 but model 'gray_cls' outputs K = 4 "
                "classes (labels 0..3)");
  beyond[3].image_label = 3;
  ASSERT_OK(Trainer::Create(model, runner, params, beyond, other.path()).status());
}

// multiclass_argmax: cross-entropy on class indices; without a labels file, a class of K
// (its output channels) or above is refused naming the image, as custom_tiff's are,
// instead of LibTorch's "Target out of bounds" in the first batch.
TEST(TrainerMulticlassTest, ClassesOfKOrAboveAreRefusedNamingTheImage) {
  ASSERT_OK_AND_ASSIGN(ModelConfig model,
                       LoadModelFolder(testing::TestModelsDir() / "repo" / "tiny_multiclass"));
  ASSERT_EQ(model.labels.size(), 3u);
  const Runner& runner = *FindRunner("multiclass_argmax");
  // 64x64 RGB: class 1 red (top left), class `top` green (bottom right), 255 a band.
  auto sample = [](int seed, uint8_t top) {
    TrainingSample s;
    s.name = "rgb" + std::to_string(seed) + ".png";
    s.image = MakeImage(64, 64, 3, PixelType::kUInt8);
    s.mask = MakeImage(64, 64, 1, PixelType::kUInt8);
    for (int y = 0; y < 64; ++y) {
      for (int x = 0; x < 64; ++x) {
        const int p = y * 64 + x;
        const int cls = x < 24 && y < 24 ? 1 : (x >= 40 && y >= 40 ? 2 : 0);
        for (int c = 0; c < 3; ++c) {
          s.image.pixels<uint8_t>()[3 * p + c] =
              static_cast<uint8_t>((cls == c + 1 ? 200 : 30) + (x * 7 + y * 3 + seed + c) % 20);
        }
        s.mask.pixels<uint8_t>()[p] = y == 32 ? 255 : static_cast<uint8_t>(cls == 2 ? top : cls);
      }
    }
    return s;
  };
  std::vector<TrainingSample> samples;
  for (int i = 0; i < 4; ++i) samples.push_back(sample(i, 2));
  TrainingParams params;
  params.epochs = 1;
  params.batch_size = 2;
  testing::TempDir dir;
  {
    std::vector<std::string> log;
    ASSERT_OK_AND_ASSIGN(TrainingResult result,
                         TrainOnce(model, runner, params, samples, dir.path(), nullptr, &log));
    ASSERT_FALSE(log.empty());
    EXPECT_EQ(log[0],
              "multiclass_argmax: the model outputs K = 3 classes: cross-entropy, metric mean_iou");
    EXPECT_TRUE(result.epochs[1].metrics.contains("mean_iou"));
  }
  std::vector<TrainingSample> beyond = samples;
  beyond[2] = sample(2, 3);
  testing::TempDir other;
  // With its labels file, the runner's target refuses the class the labels do not name.
  ExpectInvalid(Trainer::Create(model, runner, params, beyond, other.path()),
                "sample 'rgb2.png': the annotation has class 3 but model 'tiny_multiclass' has 3 "
                "classes");
  // Without one, K = 3 from the model's output refuses it.
  model.labels.clear();
  ExpectInvalid(Trainer::Create(model, runner, params, beyond, other.path()),
                "sample 'rgb2.png': the annotation has class 3 but model 'tiny_multiclass' "
                "outputs K = 3 classes (labels 0..2; 255, or 65535 in 16-bit masks, marks "
                "unannotated pixels)");
  ASSERT_OK(Trainer::Create(model, runner, params, samples, other.path()).status());
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

// --- custom_tiff: the task follows the model's output type ---

// A WxH 2-channel 16-bit fluorescence-like image (channel 0: bright nuclei of radius 4-6
// on a camera offset; channel 1: a dimmer, wider cytoplasm) and its mask (`label` on the
// nuclei, 0 elsewhere), seeded.
TrainingSample Nuclei(int seed, int width = 40, int height = 32, uint8_t label = 255) {
  TrainingSample s;
  s.name = "nuclei" + std::to_string(seed) + ".tif";
  s.image = MakeImage(width, height, 2, PixelType::kUInt16);
  s.mask = MakeImage(width, height, 1, PixelType::kUInt8);
  struct Disk {
    int x, y, r;
  };
  std::vector<Disk> disks;
  for (int k = 0; k < 3; ++k) {
    disks.push_back({6 + (seed * 11 + k * 13) % (width - 12),
                     6 + (seed * 7 + k * 17) % (height - 12), 4 + (seed + k) % 3});
  }
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      int nucleus = 0, cytoplasm = 0;
      for (const Disk& d : disks) {
        const int d2 = (x - d.x) * (x - d.x) + (y - d.y) * (y - d.y);
        nucleus |= d2 <= d.r * d.r;
        cytoplasm |= d2 <= 4 * d.r * d.r;
      }
      const int p = y * width + x;
      const int noise = (x * 37 + y * 91 + seed * 13) % 61 - 30;
      s.image.pixels<uint16_t>()[2 * p] = static_cast<uint16_t>((nucleus ? 15000 : 1200) + noise);
      s.image.pixels<uint16_t>()[2 * p + 1] =
          static_cast<uint16_t>((cytoplasm ? 3000 : 800) + noise);
      s.mask.pixels<uint8_t>()[p] = nucleus ? label : 0;
    }
  }
  return s;
}

// The same samples with float32 pixels of the same values.
std::vector<TrainingSample> AsFloat(std::vector<TrainingSample> samples) {
  for (TrainingSample& s : samples) {
    Image f = MakeImage(s.image.width, s.image.height, s.image.channels, PixelType::kFloat32);
    const size_t n = static_cast<size_t>(s.image.width) * s.image.height * s.image.channels;
    for (size_t i = 0; i < n; ++i) f.pixels<float>()[i] = s.image.pixels<uint16_t>()[i];
    s.image = std::move(f);
  }
  return samples;
}

std::vector<TrainingSample> NucleiSet(int n, uint8_t label = 255) {
  std::vector<TrainingSample> samples;
  for (int i = 0; i < n; ++i) samples.push_back(Nuclei(i, 40, 32, label));
  return samples;
}

// tiny_tiff: 2-channel input at the source size -> [N, 1, H, W] probabilities (it applies
// the sigmoid itself). K = 1: the binary task, BCE on the probabilities when the runner
// params say output_is_probability, scored at the runner's threshold.
TEST(TrainerCustomTiffTest, OneChannelTrainsTheBinaryTaskOnThePercentileNormalisedInput) {
  ASSERT_OK_AND_ASSIGN(ModelConfig model,
                       LoadModelFolder(testing::TestModelsDir() / "repo" / "tiny_tiff"));
  const Runner& runner = *FindRunner("custom_tiff");
  TrainingParams params;
  params.epochs = 2;
  params.batch_size = 2;
  params.lr = 0.01;
  params.seed = 5;
  auto run = [&](std::vector<TrainingSample> samples, const nlohmann::json& runner_params,
                 std::vector<std::string>* log = nullptr) -> StatusOr<TrainingResult> {
    testing::TempDir dir;
    ASSIGN_OR_RETURN(TrainingResult result, TrainOnce(model, runner, params, std::move(samples),
                                                      dir.path(), runner_params, log));
    EXPECT_TRUE(fs::exists(result.artifact));
    return result;
  };
  std::vector<std::string> log;
  ASSERT_OK_AND_ASSIGN(TrainingResult probability,
                       run(NucleiSet(8), {{"output_is_probability", true}}, &log));
  ASSERT_FALSE(log.empty());
  EXPECT_NE(log[0].find("one channel of probabilities: BCE + Dice"), std::string::npos) << log[0];
  ASSERT_EQ(probability.epochs.size(), 3u);
  for (const EpochMetrics& m : probability.epochs) {
    ASSERT_TRUE(m.metrics.contains("iou")) << m.metrics.dump();
    ASSERT_TRUE(m.metrics.contains("dice")) << m.metrics.dump();
    EXPECT_TRUE(std::isfinite(m.val_loss));
    EXPECT_EQ(m.score, m.metrics["iou"].get<double>());
  }
  // The built model finds the nuclei: read as probabilities, its masks overlap them well.
  const double iou = probability.epochs[0].score;
  EXPECT_GT(iou, 0.5) << probability.epochs[0].metrics.dump();

  // model.yaml says output_is_probability: no runner params train the same.
  ASSERT_OK_AND_ASSIGN(TrainingResult by_default, run(NucleiSet(8), nullptr));
  EXPECT_EQ(by_default.epochs[0].score, iou);
  EXPECT_EQ(by_default.epochs[0].val_loss, probability.epochs[0].val_loss);

  // Read as scores (logits), sigmoid(p) > 0.5 for every p in (0, 1): all foreground, so the
  // IoU is the foreground fraction (about 0.15 here), and the loss is another one.
  log.clear();
  ASSERT_OK_AND_ASSIGN(TrainingResult logits,
                       run(NucleiSet(8), {{"output_is_probability", false}}, &log));
  EXPECT_NE(log[0].find("one channel of scores: BCE with logits + Dice"), std::string::npos)
      << log[0];
  EXPECT_LT(logits.epochs[0].score, 0.3) << logits.epochs[0].metrics.dump();
  EXPECT_NE(logits.epochs[0].val_loss, probability.epochs[0].val_loss);

  // The runner's threshold scores the probabilities.
  ASSERT_OK_AND_ASSIGN(TrainingResult strict,
                       run(NucleiSet(8), {{"output_is_probability", true}, {"threshold", 0.999}}));
  EXPECT_LT(strict.epochs[0].score, iou - 0.2) << strict.epochs[0].metrics.dump();
  EXPECT_EQ(strict.epochs[0].val_loss, probability.epochs[0].val_loss);

  // Float sources of the same values normalise to the same input (percentiles): the same
  // starting loss and score; augmentation (crop/scale, flips, rot90, jitter) works on them.
  ASSERT_OK_AND_ASSIGN(TrainingResult floats,
                       run(AsFloat(NucleiSet(8)), {{"output_is_probability", true}}));
  EXPECT_EQ(floats.epochs[0].score, probability.epochs[0].score);
  EXPECT_NEAR(floats.epochs[0].val_loss, probability.epochs[0].val_loss, 1e-6);
  EXPECT_TRUE(std::isfinite(floats.epochs[2].train_loss));
  EXPECT_GT(floats.epochs[2].train_loss, 0.0);

  // Labels other than 255 are foreground too (K = 1: > 0); 1-channel images do not fit a
  // 2-channel model.
  ASSERT_OK_AND_ASSIGN(TrainingResult ones,
                       run(NucleiSet(8, 1), {{"output_is_probability", true}}));
  EXPECT_EQ(ones.epochs[0].score, iou);
  std::vector<TrainingSample> gray = {Blobs(0), Blobs(1)};
  testing::TempDir dir;
  ExpectInvalid(Trainer::Create(model, runner, params, gray, dir.path()),
                "does not run on the training input");
  ExpectInvalid(Trainer::Create(model, runner, params, NucleiSet(2), dir.path(), {{"channels", 3}}),
                "sample 'nuclei0.tif': custom_tiff: the model takes 3 channels");
}

// tiny_multiclass's network ([N, 3, 64, 64] in, [N, 3, 64, 64] class scores out) served
// by custom_tiff: K = 3, so cross-entropy on class indices with 255 unannotated, scored
// by mean IoU; a class index >= K is refused naming the sample.
TEST(TrainerCustomTiffTest, SeveralChannelsTrainCrossEntropyAndRefuseClassesBeyondK) {
  ASSERT_OK_AND_ASSIGN(ModelConfig model,
                       LoadModelFolder(testing::TestModelsDir() / "repo" / "tiny_multiclass"));
  model.runner = "custom_tiff";
  model.params = nlohmann::json::object();
  const Runner& runner = *FindRunner("custom_tiff");
  // 3-channel 16-bit 64x64 images; classes 1 and 2 in two quadrants, an unannotated band.
  auto sample = [](int seed, uint8_t top) {
    TrainingSample s;
    s.name = "rgb" + std::to_string(seed) + ".tif";
    s.image = MakeImage(64, 64, 3, PixelType::kUInt16);
    s.mask = MakeImage(64, 64, 1, PixelType::kUInt8);
    for (int y = 0; y < 64; ++y) {
      for (int x = 0; x < 64; ++x) {
        const int p = y * 64 + x;
        const int cls = x < 24 && y < 24 ? 1 : (x >= 40 && y >= 40 ? top : 0);
        for (int c = 0; c < 3; ++c) {
          s.image.pixels<uint16_t>()[3 * p + c] = static_cast<uint16_t>(
              1000 + (cls == c ? 20000 : 0) + (x * 31 + y * 17 + seed * 5 + c) % 200);
        }
        s.mask.pixels<uint8_t>()[p] = y == 32 ? 255 : static_cast<uint8_t>(cls);
      }
    }
    return s;
  };
  std::vector<TrainingSample> samples;
  for (int i = 0; i < 4; ++i) samples.push_back(sample(i, 2));
  TrainingParams params;
  params.epochs = 2;
  params.batch_size = 2;
  testing::TempDir dir;
  std::vector<std::string> log;
  ASSERT_OK_AND_ASSIGN(TrainingResult result,
                       TrainOnce(model, runner, params, samples, dir.path(), nullptr, &log));
  ASSERT_FALSE(log.empty());
  EXPECT_NE(log[0].find("K = 3 classes: cross-entropy, metric mean_iou"), std::string::npos)
      << log[0];
  ASSERT_EQ(result.epochs.size(), 3u);
  for (const EpochMetrics& m : result.epochs) {
    ASSERT_TRUE(m.metrics.contains("mean_iou")) << m.metrics.dump();
    EXPECT_FALSE(m.metrics.contains("iou")) << m.metrics.dump();
    EXPECT_GE(m.score, 0.0);
    EXPECT_LE(m.score, 1.0);
    EXPECT_TRUE(std::isfinite(m.val_loss));
  }
  EXPECT_GT(result.epochs[1].train_loss, 0.0);
  EXPECT_TRUE(fs::exists(result.artifact));

  std::vector<TrainingSample> beyond = samples;
  beyond[1] = sample(1, 3);
  testing::TempDir other;
  ExpectInvalid(Trainer::Create(model, runner, params, beyond, other.path()),
                "sample 'rgb1.tif': the annotation has class 3 but model 'tiny_multiclass' "
                "outputs K = 3 classes (labels 0..2");
}

}  // namespace
}  // namespace infera
