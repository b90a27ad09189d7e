// Trainer: fine-tunes a TorchScript model version on annotated images (issue 18), on
// LibTorch, as the model's runner says (its preprocessing, its targets, its loss).
//
//   params  = ParseTrainingParams(json)                 (InvalidArgument -> 400)
//   trainer = Trainer::Create(model, runner, params, samples, work_dir)
//   result  = trainer->Run(callbacks)                   (blocking; epochs, checkpoints)
//
// What a run does: the samples are split (seeded) into train and validation; epoch 0
// evaluates the starting model on the validation split (parent_score); each epoch then
// trains on the (augmented, seeded) train split in batches, evaluates the validation
// split, keeps the best epoch's module (saved with torch::jit save as
// `work_dir/best.pt`), writes `work_dir/checkpoint.pt` (atomically) and stops early
// after `patience` epochs without a better score. Runner by runner (training/losses.h):
//   binary_sigmoid     BCE + Dice: BCE on the output itself when the runner params'
//                      output_is_probability says it is a probability, else with logits;
//                      metrics iou, dice (score: iou) of probability > the runner's
//                      threshold, as served
//   multiclass_argmax  cross-entropy, pixels labelled 255 (8-bit masks) or 65535
//                      (16-bit) are unannotated and ignored; metric mean_iou
//   classify           cross-entropy on the per-image label; metric accuracy
//   cellpose           instance masks -> 5 x flows + cell probability on crops of the
//                      tile size - 16 (one tile); Cellpose's loss; metric ap50 (the
//                      runner's own reconstruction)
//   custom_tiff        by the model's output type: Create runs the model once on the
//                      first sample to read K (the channels of its first output). K = 1:
//                      foreground (> 0) targets, as binary_sigmoid. K > 1: as
//                      multiclass_argmax (255 / 65535 unannotated). Inputs are the
//                      runner's own (percentile-normalised) ones, so the intensity
//                      jitter (an affine change per channel) is mostly normalised away,
//                      as such a change would be when served.
// Inputs are always the runner's Preprocess of the (augmented) source image, as served.
// Class indices (multiclass_argmax, custom_tiff's K > 1, classify's image labels): Create
// runs the model once on the first sample to read K, its output channels, and a class of
// K or above is InvalidArgument naming the sample ("sample '<name>': the annotation has
// class <k> but model '<model>' outputs K = <K> classes ..."; for classify "... its image
// label is class <k> ...").
// The first log line of a run names its task ("<runner>: the model outputs ...").
// Threads: Run trains on the calling thread with params.threads OpenMP threads set on
// that thread only; it seeds LibTorch's default generator (process-wide) with params.seed
// at the start of a run, which nothing on the serving path draws from.
// `freeze: encoder` turns gradients off for the parameters whose names start with
// "enc", "encoder", "down", "backbone" or "features" (the encoder halves of our U-Nets
// and the feature extractors of our classifiers); another non-empty value is a
// parameter-name prefix. Either is InvalidArgument when it matches no parameter.
// This header includes no LibTorch header (pimpl): any folder may include it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "imaging/image.h"
#include "models/model_config.h"
#include "runners/runner.h"

namespace infera {

// One annotated image: the decoded source image and its label mask at the source size
// (uint8/uint16 labels; 0 = background; for semantic sets class ids, for instance sets
// instance ids). For classify: `mask` empty and `image_label` the class index.
struct TrainingSample {
  std::string name;  // file name, for logs and the record
  Image image;
  Image mask;
  std::optional<int> image_label;
};

struct TrainingParams {            // every field has a default; see ParseTrainingParams
  std::string optimizer = "adam";  // adam | sgd
  double lr = 1e-3, momentum = 0.9, weight_decay = 0.0;
  int epochs = 20, batch_size = 4;
  std::string schedule = "none";  // none | cosine | step
  int step_size = 10;
  double gamma = 0.1;
  std::string freeze = "";            // "" | "encoder" | a parameter-name prefix
  double validation_fraction = 0.25;  // seeded split; at least 1 image each side when >= 2
  uint64_t seed = 0;
  bool augment = true;  // flips, rot90, crop/scale, intensity jitter (seeded)
  int patience = 0;     // early stopping after this many epochs without a
                        // better validation metric; 0: off
  int threads = 1;      // intra-op threads training uses
};

// InvalidArgument naming the key and why (unknown key, wrong type, out of range).
// `params` is null or an object; missing keys keep their defaults.
StatusOr<TrainingParams> ParseTrainingParams(const nlohmann::json& params);
// Every field, by the names ParseTrainingParams reads (ParseTrainingParams of it gives
// `params` back).
nlohmann::json TrainingParamsToJson(const TrainingParams& params);
// JSON Schema (web page form): {"type": "object", "additionalProperties": false,
// "properties": {name: {"type", "default", "minimum", "maximum", "enum", "description"}}}.
nlohmann::json TrainingParamsSchema();

// Runners whose models can be trained, sorted ("binary_sigmoid", "cellpose", ...).
std::vector<std::string> TrainableRunners();

// OK when model `model`'s runner `runner` is one of TrainableRunners; else
// InvalidArgument "model '<model>' has runner '<runner>', which cannot be trained;
// runners that can: [...]" (the retraining start's 400, RetrainingJobs::Start).
Status CheckRunnerTrains(std::string_view model, std::string_view runner);

struct EpochMetrics {
  int epoch = 0;  // 0: the starting model evaluated before training
  double train_loss = 0, val_loss = 0;
  nlohmann::json metrics;  // {"iou":..,"dice":..,"mean_iou":..,"ap50":..,"accuracy":..} as apply
  double score = 0;        // the metric that picks the best epoch (higher is better)
  double seconds = 0;
};

struct TrainingCallbacks {            // each may be empty; called on the training thread
  std::function<bool()> should_stop;  // checked before every batch
  std::function<void(const EpochMetrics&)> on_epoch;  // after each epoch (and epoch 0)
  std::function<void(const std::string&)> log;        // human log lines
  std::function<void(int64_t step, int64_t steps)> on_step;
  std::function<void(int epoch)> on_checkpoint;  // after checkpoint of `epoch` is written
};

struct TrainingResult {
  std::vector<EpochMetrics> epochs;  // epoch 0 first
  int best_epoch = 0;
  double parent_score = 0;  // epochs[0].score: the starting model on the same split
  double best_score = 0;
  std::filesystem::path
      artifact;          // the best epoch's TorchScript module (saved with torch::jit save)
  bool stopped = false;  // should_stop() said stop: no artifact
  double seconds = 0;
  double images_per_second = 0;
  std::vector<std::string> train_names, val_names;  // the split
};

class Trainer {
 public:
  // `model` is the version to start from (its artifact is loaded as written, not frozen;
  // torchscript backend only: InvalidArgument otherwise), `runner` its runner (one of
  // TrainableRunners: InvalidArgument naming them otherwise). `work_dir` holds the epoch
  // checkpoints; when it holds one from the same (model, params, runner params, samples)
  // the run resumes after that epoch. `runner_params` (null or an object) are the runner's
  // params for its preprocessing and evaluation, as a request's, checked by
  // Runner::ResolveParams over the model's defaults (InvalidArgument "runner params: ..."
  // for one it refuses). InvalidArgument for no samples or masks that do not fit.
  static StatusOr<std::unique_ptr<Trainer>> Create(const ModelConfig& model, const Runner& runner,
                                                   TrainingParams params,
                                                   std::vector<TrainingSample> samples,
                                                   std::filesystem::path work_dir,
                                                   const nlohmann::json& runner_params = nullptr);
  ~Trainer();
  // Trains (blocking). Thread-compatible: one call at a time.
  StatusOr<TrainingResult> Run(const TrainingCallbacks& callbacks);

 private:
  struct Impl;
  explicit Trainer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace infera
