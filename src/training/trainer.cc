// Trainer (training/trainer.h) and TrainSteps (training/train_steps.h) on LibTorch: both
// run every optimiser step through Step() below, so the parity test of TrainSteps
// against PyTorch covers the trainer's arithmetic.
#include "training/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>
#include <random>
#include <sstream>

#include "common/file_util.h"
#include "common/sha256.h"
#include "common/strings.h"
#include "runners/cellpose.h"
#include "training/augment.h"
#include "training/losses.h"
#include "training/metrics.h"
#include "training/split.h"
#include "training/torch_convert.h"
#include "training/train_steps.h"

namespace infera {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The first line of a LibTorch exception (the rest is a backtrace), or the innermost
// "RuntimeError:" line of a TorchScript traceback.
std::string Readable(const std::exception& e) {
  std::string_view what = e.what();
  std::string_view first = what.substr(0, what.find('\n'));
  const size_t rt = what.rfind("RuntimeError: ");
  if (rt != std::string_view::npos) {
    std::string_view inner = what.substr(rt + 14);
    return std::string(inner.substr(0, inner.find('\n')));
  }
  return std::string(first);
}

// The output training reads from what forward returns: a tensor; a tuple's or list's
// element at `position` (the first output's position in model.yaml, 0 by default); a
// dict's entry `name` (or its first value).
at::Tensor FirstOutput(const c10::IValue& v, int64_t position, const std::string& name) {
  if (v.isTensor()) return v.toTensor();
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    TORCH_CHECK(position < static_cast<int64_t>(elems.size()) && elems[position].isTensor(),
                "the model's output #", position, " is not a tensor");
    return elems[position].toTensor();
  }
  if (v.isList()) {
    const c10::List<c10::IValue> list = v.toList();
    TORCH_CHECK(position < static_cast<int64_t>(list.size()) && list.get(position).isTensor(),
                "the model's output #", position, " is not a tensor");
    return list.get(position).toTensor();
  }
  if (v.isGenericDict()) {
    const c10::Dict<c10::IValue, c10::IValue> dict = v.toGenericDict();
    for (const auto& entry : dict) {
      if (name.empty() || (entry.key().isString() && entry.key().toStringRef() == name)) {
        TORCH_CHECK(entry.value().isTensor(), "the model's output '", name, "' is not a tensor");
        return entry.value().toTensor();
      }
    }
  }
  TORCH_CHECK(false, "the model returns a ", v.tagKind(), " without the output training reads");
}

// Where the trained output is: model.yaml's first output.
struct OutputPick {
  int64_t position = 0;
  std::string name;
};

OutputPick PickFor(const ModelConfig& model) {
  OutputPick pick;
  if (!model.output_positions.empty()) pick.position = model.output_positions[0];
  if (!model.outputs.empty()) pick.name = model.outputs[0];
  return pick;
}

// The parameter-name prefixes `freeze: encoder` means (see trainer.h).
const std::vector<std::string>& EncoderPrefixes() {
  static const std::vector<std::string> prefixes = {"enc", "down", "backbone", "features"};
  return prefixes;
}

// Sets requires_grad of every parameter of `module` (false for those `freeze` names) and
// returns the ones left to train. InvalidArgument when `freeze` names no parameter, or
// every one.
StatusOr<std::vector<at::Tensor>> TrainableParameters(torch::jit::Module& module,
                                                      const std::string& freeze) {
  std::vector<at::Tensor> trainable;
  std::vector<std::string> names;
  int frozen = 0;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) {
    names.push_back(p.name);
    bool freeze_it = false;
    if (freeze == "encoder") {
      for (const std::string& prefix : EncoderPrefixes()) {
        freeze_it = freeze_it || p.name.rfind(prefix, 0) == 0;
      }
    } else if (!freeze.empty()) {
      freeze_it = p.name.rfind(freeze, 0) == 0;
    }
    at::Tensor t = p.value;
    t.set_requires_grad(!freeze_it);
    if (freeze_it) {
      ++frozen;
    } else {
      trainable.push_back(t);
    }
  }
  if (!freeze.empty() && frozen == 0) {
    if (names.size() > 12) names.resize(12), names.push_back("...");
    return absl::InvalidArgumentError(
        StrCat("freeze '", freeze,
               "' matches no parameter of the model (its parameters: ", StrJoin(names, ", "), ")"));
  }
  if (trainable.empty()) {
    return absl::InvalidArgumentError(
        names.empty() ? std::string("the model has no parameters to train")
                      : StrCat("freeze '", freeze, "' leaves no parameter to train"));
  }
  return trainable;
}

std::unique_ptr<torch::optim::Optimizer> MakeOptimizer(const TrainingParams& params,
                                                       const std::vector<at::Tensor>& trainable) {
  if (params.optimizer == "sgd") {
    return std::make_unique<torch::optim::SGD>(trainable, torch::optim::SGDOptions(params.lr)
                                                              .momentum(params.momentum)
                                                              .weight_decay(params.weight_decay));
  }
  return std::make_unique<torch::optim::Adam>(
      trainable, torch::optim::AdamOptions(params.lr).weight_decay(params.weight_decay));
}

// The learning rate of `epoch` (1-based) under params.schedule.
double LearningRate(const TrainingParams& params, int epoch) {
  if (params.schedule == "cosine") {
    return params.lr * 0.5 * (1 + std::cos(std::numbers::pi * (epoch - 1) / params.epochs));
  }
  if (params.schedule == "step") {
    return params.lr * std::pow(params.gamma, (epoch - 1) / params.step_size);
  }
  return params.lr;
}

// One optimiser step on one batch; the loss before the update. Throws what LibTorch throws.
double Step(torch::jit::Module& module, torch::optim::Optimizer& optimizer, TrainingTask task,
            const OutputPick& pick, const at::Tensor& input, const at::Tensor& target) {
  optimizer.zero_grad();
  const at::Tensor output = FirstOutput(module.forward({input}), pick.position, pick.name);
  at::Tensor loss = TaskLoss(task, output, target);
  loss.backward();
  optimizer.step();
  return loss.item<double>();
}

// Sets the calling thread's intra-op (OpenMP) threads. OpenMP's thread count is a
// per-thread setting, and every serving lane sets its own before each task
// (backends/torchscript/cpu_engine.h), so the training thread's count leaves the
// serving lanes alone; only this thread (and its own OpenMP pool) trains.
void UseThreads(int threads) { at::set_num_threads(std::max(1, threads)); }

// K, the channels of the output training reads when `module` runs on `input` [1, ...]
// (evaluation mode, no gradients: nothing of the module changes): size(1) of a
// [N, K, H, W] output, 1 for [N, H, W]; with `per_image` (classify), size(1) of [N, K].
// InvalidArgument for another rank.
StatusOr<int64_t> OutputClasses(torch::jit::Module& module, const OutputPick& pick,
                                const at::Tensor& input, const std::string& model_name,
                                bool per_image = false) {
  at::Tensor output;
  try {
    torch::NoGradGuard no_grad;
    module.eval();
    output = FirstOutput(module.forward({input}), pick.position, pick.name);
    module.train(true);
  } catch (const std::exception& e) {
    module.train(true);
    return absl::InvalidArgumentError(
        StrCat("model '", model_name, "' does not run on the training input: ", Readable(e)));
  }
  if (per_image && output.dim() == 2) return output.size(1);
  if (!per_image && output.dim() == 4) return output.size(1);
  if (!per_image && output.dim() == 3) return int64_t{1};
  std::ostringstream shape;
  shape << output.sizes();
  return absl::InvalidArgumentError(
      StrCat("model '", model_name, "' outputs ", shape.str(), "; training needs ",
             per_image ? "[N, K] class scores" : "[N, K, H, W] or [N, H, W]"));
}

// Training's line about its task (the first the run logs).
std::string TaskLine(std::string_view runner, TrainingTask task, const OutputType& output,
                     double threshold) {
  switch (task) {
    case TrainingTask::kBinary:
    case TrainingTask::kBinaryProbability:
      return StrCat(runner, ": the model outputs one channel of ",
                    task == TrainingTask::kBinaryProbability ? "probabilities: BCE"
                                                             : "scores: BCE with logits",
                    " + Dice, metrics iou and dice at threshold ", threshold);
    case TrainingTask::kMulticlass:
      return StrCat(runner, ": the model outputs K = ", output.classes,
                    " classes: cross-entropy, metric mean_iou");
    case TrainingTask::kClassify:
      return StrCat(runner, ": the model outputs K = ", output.classes,
                    " classes: cross-entropy, metric accuracy");
    case TrainingTask::kCellpose:
      return StrCat(runner, ": flows and cell probability: Cellpose's loss, metric ap50");
  }
  return std::string(runner);
}

// The error of sample `sample`'s target whose highest class `top` is K (`classes`) or
// above (a class-index task: TargetsAreClasses).
Status ClassBeyondK(TrainingTask task, const std::string& sample, int64_t top,
                    const std::string& model, int64_t classes) {
  if (task == TrainingTask::kClassify) {
    return absl::InvalidArgumentError(StrCat("sample '", sample, "': its image label is class ",
                                             top, " but model '", model, "' outputs K = ", classes,
                                             " classes (labels 0..", classes - 1, ")"));
  }
  return absl::InvalidArgumentError(
      StrCat("sample '", sample, "': the annotation has class ", top, " but model '", model,
             "' outputs K = ", classes, " classes (labels 0..", classes - 1,
             "; 255, or 65535 in 16-bit masks, marks unannotated pixels)"));
}

}  // namespace

StatusOr<std::vector<double>> TrainSteps(const fs::path& module_path, std::string_view runner,
                                         const TrainingParams& params,
                                         const std::vector<TrainingBatch>& batches,
                                         bool output_is_probability) {
  OutputType output;
  output.is_probability = output_is_probability;
  ASSIGN_OR_RETURN(TrainingTask task, TaskForRunner(runner, output));
  UseThreads(params.threads);
  torch::jit::Module module;
  try {
    module = torch::jit::load(module_path.string());
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        StrCat("cannot load TorchScript file ", module_path.string(), ": ", Readable(e)));
  }
  module.train(true);
  if (TaskFollowsOutput(runner) && !batches.empty()) {
    ASSIGN_OR_RETURN(at::Tensor first, ToTorchTensor(batches[0].input));
    ASSIGN_OR_RETURN(output.classes,
                     OutputClasses(module, OutputPick{}, first, module_path.string()));
    ASSIGN_OR_RETURN(task, TaskForRunner(runner, output));
  }
  ASSIGN_OR_RETURN(std::vector<at::Tensor> trainable, TrainableParameters(module, params.freeze));
  std::unique_ptr<torch::optim::Optimizer> optimizer = MakeOptimizer(params, trainable);
  std::vector<double> losses;
  for (const TrainingBatch& batch : batches) {
    ASSIGN_OR_RETURN(at::Tensor input, ToTorchTensor(batch.input));
    ASSIGN_OR_RETURN(at::Tensor target, ToTorchTensor(batch.target));
    try {
      losses.push_back(Step(module, *optimizer, task, OutputPick{}, input, target));
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(
          StrCat("training step ", losses.size() + 1, " failed: ", Readable(e)));
    }
  }
  return losses;
}

// ---------------------------------------------------------------------------------------

// The labels of `mask`'s channel 0.
cellpose::LabelImage LabelsOf(const Image& mask);

struct Trainer::Impl {
  ModelConfig model;
  const Runner* runner = nullptr;
  TrainingTask task = TrainingTask::kBinary;
  // The model's output type: K (read for custom_tiff, whose task follows it, and for the
  // class-index tasks, whose targets must be below it) and the runner's
  // output_is_probability param; which of the runner's targets the task trains on (0, or
  // 1 for custom_tiff's K > 1: CustomTiffRunner::AnnotationToTarget); the binary tasks'
  // threshold on the probability (the runner's `threshold` param, 0.5 without one), as
  // serving thresholds it.
  OutputType output;
  size_t target_index = 0;
  double threshold = 0.5;
  OutputPick pick;
  TrainingParams params;
  std::vector<TrainingSample> samples;
  fs::path work_dir;
  nlohmann::json runner_params;
  SampleSplit split;
  std::string fingerprint;
  torch::jit::Module module;
  std::vector<at::Tensor> trainable;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  // Every sample's model input [1, ...] and target [1, ...] without augmentation.
  std::vector<at::Tensor> inputs, targets;
  // cellpose: the side of the crops it trains on, and every sample's centre crop (image,
  // mask) with its Preprocess context, which validation's mask reconstruction needs.
  int crop_side = 0;
  std::vector<std::pair<Image, Image>> crops;
  std::vector<nlohmann::json> contexts;

  // cellpose: `image` and `mask` cut to crop_side x crop_side (at a position drawn from
  // `rng`, or the centre without one); other tasks: unchanged.
  std::pair<Image, Image> Cut(const Image& image, const Image& mask, std::mt19937_64* rng) const;
  // cellpose: the instances the runner reconstructs from sample `i`'s output [1, 3, t, t].
  StatusOr<cellpose::LabelImage> CellposeInstances(size_t i, const at::Tensor& output) const;

  // The model input of `image` (sample `i`'s, for messages), and its Preprocess context.
  StatusOr<at::Tensor> ModelInput(size_t i, const Image& image, nlohmann::json* plan) const;
  // The binary tasks' predicted foreground (0/1 bytes) of `output`, shaped as it is.
  at::Tensor Foreground(const at::Tensor& output) const;
  // The model input and target of `image` and `mask` (sample `i`'s label for classify).
  StatusOr<std::pair<at::Tensor, at::Tensor>> Example(size_t i, const Image& image,
                                                      const Image& mask,
                                                      nlohmann::json* plan = nullptr) const;
  // The starting model or an epoch's on the validation split: val_loss, metrics, score.
  // false when should_stop said stop.
  bool Evaluate(const TrainingCallbacks& callbacks, EpochMetrics* out);
  Status SaveBest();
  Status SaveCheckpoint(const TrainingResult& result, int since_best, bool stopped_early);
  // Restores the run from work_dir's checkpoint when it has this run's fingerprint; the
  // epoch it holds (0 when there is none to resume).
  int Resume(TrainingResult* result, int* since_best, bool* stopped_early,
             const TrainingCallbacks& callbacks);
  void Log(const TrainingCallbacks& callbacks, const std::string& line) const {
    if (callbacks.log) callbacks.log(line);
  }
  fs::path checkpoint_path() const { return work_dir / "checkpoint.pt"; }
  fs::path best_path() const { return work_dir / "best.pt"; }
};

std::pair<Image, Image> Trainer::Impl::Cut(const Image& image, const Image& mask,
                                           std::mt19937_64* rng) const {
  if (crop_side <= 0) return {image, mask};
  const int sx = image.width - crop_side, sy = image.height - crop_side;
  const int x = rng ? static_cast<int>(UniformUnit(*rng) * (sx + 1)) : sx / 2;
  const int y = rng ? static_cast<int>(UniformUnit(*rng) * (sy + 1)) : sy / 2;
  return {Crop(image, x, y, crop_side, crop_side), Crop(mask, x, y, crop_side, crop_side)};
}

StatusOr<at::Tensor> Trainer::Impl::ModelInput(size_t i, const Image& image,
                                               nlohmann::json* plan) const {
  const TrainingSample& sample = samples[i];
  StatusOr<RunnerInput> in = runner->Preprocess(image, model, runner_params);
  if (!in.ok()) {
    return absl::InvalidArgumentError(
        StrCat("sample '", sample.name, "': ", in.status().message()));
  }
  if (in->items.size() != 1 || in->items[0].empty()) {
    return absl::InvalidArgumentError(StrCat("runner ", runner->name(), " makes ", in->items.size(),
                                             " model calls for sample '", sample.name,
                                             "'; training needs one per image"));
  }
  if (plan != nullptr) *plan = in->context;
  return ToTorchTensor(in->items[0][0]);
}

at::Tensor Trainer::Impl::Foreground(const at::Tensor& output) const {
  if (task == TrainingTask::kBinaryProbability) return output.gt(threshold);
  return torch::sigmoid(output).gt(threshold);
}

StatusOr<std::pair<at::Tensor, at::Tensor>> Trainer::Impl::Example(size_t i, const Image& image,
                                                                   const Image& mask,
                                                                   nlohmann::json* plan) const {
  const TrainingSample& sample = samples[i];
  auto named = [&](const Status& s) {
    return absl::InvalidArgumentError(StrCat("sample '", sample.name, "': ", s.message()));
  };
  ASSIGN_OR_RETURN(at::Tensor input, ModelInput(i, image, plan));
  at::Tensor target;
  if (task == TrainingTask::kClassify) {
    target = torch::full({1}, static_cast<int64_t>(*sample.image_label), torch::kLong);
  } else {
    StatusOr<std::vector<Tensor>> t = runner->AnnotationToTarget(mask, image, model);
    if (!t.ok()) return named(t.status());
    if (target_index >= t->size()) {
      return absl::InternalError(StrCat("runner ", runner->name(), " gives ", t->size(),
                                        " targets; training reads #", target_index));
    }
    ASSIGN_OR_RETURN(target, ToTorchTensor(t->at(target_index)));
  }
  return std::make_pair(std::move(input), std::move(target));
}

bool Trainer::Impl::Evaluate(const TrainingCallbacks& callbacks, EpochMetrics* out) {
  module.eval();
  torch::NoGradGuard no_grad;
  BinaryMetric binary;
  MeanIouMetric mean_iou(kIgnoreLabel);
  AccuracyMetric accuracy;
  InstanceApMetric instances;
  double loss_sum = 0;
  const std::vector<int>& val = split.validation;
  const size_t batch = static_cast<size_t>(params.batch_size);
  for (size_t start = 0; start < val.size(); start += batch) {
    if (callbacks.should_stop && callbacks.should_stop()) {
      module.train(true);
      return false;
    }
    std::vector<at::Tensor> xs, ts;
    for (size_t k = start; k < std::min(val.size(), start + batch); ++k) {
      xs.push_back(inputs[static_cast<size_t>(val[k])]);
      ts.push_back(targets[static_cast<size_t>(val[k])]);
    }
    const at::Tensor target = torch::cat(ts);
    const at::Tensor output =
        FirstOutput(module.forward({torch::cat(xs)}), pick.position, pick.name);
    loss_sum += TaskLoss(task, output, target).item<double>() * static_cast<double>(xs.size());
    switch (task) {
      case TrainingTask::kBinary:
      case TrainingTask::kBinaryProbability: {
        const at::Tensor p = Foreground(output.reshape(target.sizes())).to(at::kByte).contiguous();
        const at::Tensor t = target.gt(0.5).to(at::kByte).contiguous();
        binary.Add({p.data_ptr<uint8_t>(), static_cast<size_t>(p.numel())},
                   {t.data_ptr<uint8_t>(), static_cast<size_t>(t.numel())});
        break;
      }
      case TrainingTask::kMulticlass: {
        const at::Tensor p = output.argmax(1).to(at::kLong).contiguous();
        const at::Tensor t = target.to(at::kLong).contiguous();
        mean_iou.Add({p.data_ptr<int64_t>(), static_cast<size_t>(p.numel())},
                     {t.data_ptr<int64_t>(), static_cast<size_t>(t.numel())});
        break;
      }
      case TrainingTask::kClassify: {
        const at::Tensor p = output.argmax(1).to(at::kLong).contiguous();
        for (int64_t k = 0; k < p.numel(); ++k) {
          accuracy.Add(p.data_ptr<int64_t>()[k], target[k].item<int64_t>());
        }
        break;
      }
      case TrainingTask::kCellpose:
        for (size_t k = start; k < std::min(val.size(), start + batch); ++k) {
          const size_t i = static_cast<size_t>(val[k]);
          const int64_t row = static_cast<int64_t>(k - start);
          StatusOr<cellpose::LabelImage> predicted =
              CellposeInstances(i, output.slice(0, row, row + 1));
          TORCH_CHECK(predicted.ok(), "cellpose validation of '", samples[i].name,
                      "': ", std::string(predicted.status().message()));
          instances.Add(*predicted, LabelsOf(crops[i].second));
        }
        break;
    }
  }
  module.train(true);
  out->val_loss = val.empty() ? 0.0 : loss_sum / static_cast<double>(val.size());
  switch (task) {
    case TrainingTask::kBinary:
    case TrainingTask::kBinaryProbability:
      out->metrics = binary.ToJson();
      out->score = binary.iou();
      break;
    case TrainingTask::kMulticlass:
      out->metrics = mean_iou.ToJson();
      out->score = mean_iou.mean_iou();
      break;
    case TrainingTask::kClassify:
      out->metrics = accuracy.ToJson();
      out->score = accuracy.accuracy();
      break;
    case TrainingTask::kCellpose:
      out->metrics = instances.ToJson();
      out->score = instances.ap50();
      break;
  }
  return true;
}

cellpose::LabelImage LabelsOf(const Image& mask) {
  cellpose::LabelImage labels = cellpose::MakeLabelImage(mask.height, mask.width);
  const size_t c = static_cast<size_t>(mask.channels);
  for (size_t p = 0; p < labels.size(); ++p) {
    switch (mask.type) {
      case PixelType::kUInt8:
        labels.labels[p] = mask.pixels<uint8_t>()[p * c];
        break;
      case PixelType::kUInt16:
        labels.labels[p] = mask.pixels<uint16_t>()[p * c];
        break;
      case PixelType::kFloat32:
        labels.labels[p] = static_cast<uint32_t>(std::max(0.0f, mask.pixels<float>()[p * c]));
        break;
    }
  }
  return labels;
}

StatusOr<cellpose::LabelImage> Trainer::Impl::CellposeInstances(size_t i,
                                                                const at::Tensor& output) const {
  ASSIGN_OR_RETURN(Tensor out, FromTorchTensor(output));
  RunnerInput input;
  input.context = contexts[i];
  std::vector<std::vector<Tensor>> outputs(1);
  outputs[0].push_back(std::move(out));
  ASSIGN_OR_RETURN(RunnerOutput result,
                   runner->Postprocess(crops[i].first, input, outputs, model, runner_params));
  const RunnerArtifact* mask = result.Find("instance_mask");
  if (mask == nullptr) return absl::InternalError("cellpose made no instance_mask");
  return LabelsOf(mask->image);
}

Status Trainer::Impl::SaveBest() {
  const fs::path tmp = work_dir / "best.pt.tmp";
  try {
    module.eval();
    module.save(tmp.string());
    module.train(true);
  } catch (const std::exception& e) {
    module.train(true);
    return absl::InternalError(StrCat("cannot save ", tmp.string(), ": ", Readable(e)));
  }
  std::error_code ec;
  fs::rename(tmp, best_path(), ec);
  if (ec) return absl::InternalError(StrCat("cannot rename ", tmp.string(), ": ", ec.message()));
  return absl::OkStatus();
}

namespace {

nlohmann::json EpochJson(const EpochMetrics& m) {
  return {{"epoch", m.epoch},     {"train_loss", m.train_loss}, {"val_loss", m.val_loss},
          {"metrics", m.metrics}, {"score", m.score},           {"seconds", m.seconds}};
}

EpochMetrics EpochFromJson(const nlohmann::json& j) {
  EpochMetrics m;
  m.epoch = j.at("epoch").get<int>();
  m.train_loss = j.at("train_loss").get<double>();
  m.val_loss = j.at("val_loss").get<double>();
  m.metrics = j.at("metrics");
  m.score = j.at("score").get<double>();
  m.seconds = j.at("seconds").get<double>();
  return m;
}

c10::List<at::Tensor> TensorList(const std::vector<at::Tensor>& tensors) {
  c10::List<at::Tensor> list;
  for (const at::Tensor& t : tensors) list.push_back(t.detach().clone());
  return list;
}

}  // namespace

// checkpoint.pt: a torch::serialize archive with
//   "meta"       JSON text: fingerprint, epoch, epochs (metrics so far), best_epoch,
//                best_score, since_best, stopped_early, seconds_training, images_trained;
//   "parameters" the module's parameters, in named_parameters order;
//   "buffers"    its buffers (BatchNorm statistics), in named_buffers order;
//   "optimizer"  the optimiser's state (torch::optim's own archive);
//   "rng"        the state of LibTorch's default CPU generator (dropout and the like).
// The data order and augmentation of epoch e are drawn from a generator seeded by (seed,
// e), so they need no state of their own.
Status Trainer::Impl::SaveCheckpoint(const TrainingResult& result, int since_best,
                                     bool stopped_early) {
  nlohmann::json meta = {
      {"fingerprint", fingerprint},       {"epoch", result.epochs.back().epoch},
      {"best_epoch", result.best_epoch},  {"best_score", result.best_score},
      {"since_best", since_best},         {"stopped_early", stopped_early},
      {"seconds", result.seconds},        {"images_per_second", result.images_per_second},
      {"epochs", nlohmann::json::array()}};
  for (const EpochMetrics& m : result.epochs) meta["epochs"].push_back(EpochJson(m));
  std::ostringstream bytes;
  try {
    torch::serialize::OutputArchive archive;
    archive.write("meta", c10::IValue(meta.dump()));
    std::vector<at::Tensor> params, buffers;
    for (const auto& p : module.named_parameters(true)) params.push_back(p.value);
    for (const auto& b : module.named_buffers(true)) buffers.push_back(b.value);
    archive.write("parameters", c10::IValue(TensorList(params)));
    archive.write("buffers", c10::IValue(TensorList(buffers)));
    torch::serialize::OutputArchive opt;
    optimizer->save(opt);
    archive.write("optimizer", opt);
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      archive.write("rng", c10::IValue(gen.get_state()));
    }
    archive.save_to(bytes);
  } catch (const std::exception& e) {
    return absl::InternalError(StrCat("cannot write the checkpoint: ", Readable(e)));
  }
  return WriteFileDurably(checkpoint_path(), bytes.str());
}

int Trainer::Impl::Resume(TrainingResult* result, int* since_best, bool* stopped_early,
                          const TrainingCallbacks& callbacks) {
  std::error_code ec;
  if (!fs::exists(checkpoint_path(), ec)) return 0;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(checkpoint_path().string());
    c10::IValue meta_value;
    archive.read("meta", meta_value);
    const nlohmann::json meta = nlohmann::json::parse(meta_value.toStringRef());
    if (meta.at("fingerprint") != fingerprint) {
      Log(callbacks, "the checkpoint in the work folder is from another run: starting over");
      return 0;
    }
    if (!fs::exists(best_path(), ec)) {
      Log(callbacks, "the work folder has a checkpoint but no best.pt: starting over");
      return 0;
    }
    c10::IValue params_value, buffers_value, rng_value;
    archive.read("parameters", params_value);
    archive.read("buffers", buffers_value);
    archive.read("rng", rng_value);
    const c10::List<at::Tensor> params = params_value.toTensorList();
    const c10::List<at::Tensor> buffers = buffers_value.toTensorList();
    {
      torch::NoGradGuard no_grad;
      size_t i = 0;
      for (const auto& p : module.named_parameters(true)) p.value.copy_(params.get(i++));
      i = 0;
      for (const auto& b : module.named_buffers(true)) b.value.copy_(buffers.get(i++));
    }
    torch::serialize::InputArchive opt;
    archive.read("optimizer", opt);
    optimizer->load(opt);
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(rng_value.toTensor());
    }
    result->epochs.clear();
    for (const nlohmann::json& e : meta.at("epochs")) result->epochs.push_back(EpochFromJson(e));
    result->best_epoch = meta.at("best_epoch").get<int>();
    result->best_score = meta.at("best_score").get<double>();
    result->seconds = meta.at("seconds").get<double>();
    result->images_per_second = meta.at("images_per_second").get<double>();
    *since_best = meta.at("since_best").get<int>();
    *stopped_early = meta.at("stopped_early").get<bool>();
    const int epoch = meta.at("epoch").get<int>();
    Log(callbacks,
        StrCat("resuming after epoch ", epoch, " (checkpoint in ", work_dir.string(), ")"));
    return epoch;
  } catch (const std::exception& e) {
    Log(callbacks, StrCat("the checkpoint in the work folder cannot be read (", Readable(e),
                          "): starting over"));
    return 0;
  }
}

Trainer::Trainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Trainer::~Trainer() = default;

StatusOr<std::unique_ptr<Trainer>> Trainer::Create(const ModelConfig& model, const Runner& runner,
                                                   TrainingParams params,
                                                   std::vector<TrainingSample> samples,
                                                   fs::path work_dir,
                                                   const nlohmann::json& runner_params) {
  if (model.backend != "torchscript") {
    return absl::InvalidArgumentError(StrCat("model '", model.name, "' runs on the ", model.backend,
                                             " backend; only torchscript models can be trained"));
  }
  ASSIGN_OR_RETURN(TrainingTask task, TaskForRunner(runner.name()));
  if (samples.empty()) return absl::InvalidArgumentError("no annotated images to train on");
  // The cheap checks first, naming the sample.
  for (const TrainingSample& s : samples) {
    if (s.image.width <= 0 || s.image.height <= 0) {
      return absl::InvalidArgumentError(StrCat("sample '", s.name, "' has no image"));
    }
    if (task == TrainingTask::kClassify) {
      if (!s.image_label.has_value() || *s.image_label < 0 ||
          (!model.labels.empty() && *s.image_label >= static_cast<int>(model.labels.size()))) {
        return absl::InvalidArgumentError(
            StrCat("sample '", s.name, "' needs an image label in 0..",
                   model.labels.empty() ? std::string("K-1") : StrCat(model.labels.size() - 1)));
      }
    } else if (s.mask.width != s.image.width || s.mask.height != s.image.height) {
      return absl::InvalidArgumentError(StrCat("sample '", s.name, "': its mask is ", s.mask.width,
                                               "x", s.mask.height, " but the image is ",
                                               s.image.width, "x", s.image.height));
    }
  }
  auto impl = std::make_unique<Impl>();
  impl->model = model;
  impl->runner = &runner;
  impl->task = task;
  impl->pick = PickFor(model);
  impl->params = std::move(params);
  impl->samples = std::move(samples);
  impl->work_dir = std::move(work_dir);
  {
    StatusOr<nlohmann::json> resolved = runner.ResolveParams(runner_params, model);
    if (!resolved.ok()) {
      return absl::InvalidArgumentError(StrCat("runner params: ", resolved.status().message()));
    }
    impl->runner_params = std::move(*resolved);
  }
  impl->split = SplitSamples(static_cast<int>(impl->samples.size()),
                             impl->params.validation_fraction, impl->params.seed);
  if (task == TrainingTask::kCellpose) {
    ASSIGN_OR_RETURN(impl->crop_side, CellposeTrainingSide(model));
    for (const TrainingSample& s : impl->samples) {
      if (s.image.width < impl->crop_side || s.image.height < impl->crop_side) {
        return absl::InvalidArgumentError(StrCat("sample '", s.name, "' is ", s.image.width, "x",
                                                 s.image.height, "; cellpose training cuts ",
                                                 impl->crop_side, "x", impl->crop_side,
                                                 " crops (the model's tile less its padding)"));
      }
    }
  }
  try {
    impl->module = torch::jit::load(model.artifact.string());
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(StrCat("model '", model.name, "': cannot load ",
                                             model.artifact.string(), ": ", Readable(e)));
  }
  impl->module.train(true);
  // The task by the model's output type: the runner's params say whether the output is a
  // probability; custom_tiff's task follows K, and the class-index tasks need K to check
  // their targets: run the model once on the first sample to read it.
  impl->output.is_probability = impl->runner_params.value("output_is_probability", false);
  ASSIGN_OR_RETURN(impl->task, TaskForRunner(runner.name(), impl->output));
  const bool follows_output = TaskFollowsOutput(runner.name());
  if (follows_output || TargetsAreClasses(impl->task)) {
    ASSIGN_OR_RETURN(at::Tensor first, impl->ModelInput(0, impl->samples[0].image, nullptr));
    ASSIGN_OR_RETURN(impl->output.classes,
                     OutputClasses(impl->module, impl->pick, first, model.name,
                                   impl->task == TrainingTask::kClassify));
    ASSIGN_OR_RETURN(impl->task, TaskForRunner(runner.name(), impl->output));
  }
  if (follows_output && impl->task == TrainingTask::kMulticlass) impl->target_index = 1;
  impl->threshold = impl->runner_params.value("threshold", 0.5);
  for (size_t i = 0; i < impl->samples.size(); ++i) {
    auto cut = impl->Cut(impl->samples[i].image, impl->samples[i].mask, nullptr);
    nlohmann::json context;
    ASSIGN_OR_RETURN(auto example, impl->Example(i, cut.first, cut.second, &context));
    if (TargetsAreClasses(impl->task)) {
      // Every class must be one of the model's K (the loss would fail later, unnamed).
      const int64_t top = example.second.max().item<int64_t>();
      if (top >= impl->output.classes) {
        return ClassBeyondK(impl->task, impl->samples[i].name, top, model.name,
                            impl->output.classes);
      }
    }
    if (task == TrainingTask::kCellpose) {
      impl->crops.push_back(std::move(cut));
      impl->contexts.push_back(std::move(context));
    }
    if (i > 0 && example.first.sizes() != impl->inputs[0].sizes()) {
      return absl::InvalidArgumentError(
          StrCat("sample '", impl->samples[i].name, "' makes a model input of another size than '",
                 impl->samples[0].name,
                 "'; training needs a fixed input size (input.size in "
                 "model.yaml) or images of one size"));
    }
    impl->inputs.push_back(std::move(example.first));
    impl->targets.push_back(std::move(example.second));
  }
  // The fingerprint of (artifact, runner, params, samples) that a checkpoint must carry.
  ASSIGN_OR_RETURN(std::string artifact_bytes, ReadFileToString(model.artifact));
  Sha256Hasher hasher;
  hasher.Update(Sha256Digest(artifact_bytes));
  hasher.Update(runner.name());
  hasher.Update(TrainingParamsToJson(impl->params).dump());
  // Defaults resolved: no runner params and the defaults written out are one run.
  hasher.Update(impl->runner_params.dump());
  for (const TrainingSample& s : impl->samples) {
    hasher.Update(s.name);
    hasher.Update("\n");
  }
  impl->fingerprint = hasher.FinishHex();
  std::error_code ec;
  fs::create_directories(impl->work_dir, ec);
  if (ec) {
    return absl::InternalError(
        StrCat("cannot create the work folder ", impl->work_dir.string(), ": ", ec.message()));
  }
  ASSIGN_OR_RETURN(impl->trainable, TrainableParameters(impl->module, impl->params.freeze));
  impl->optimizer = MakeOptimizer(impl->params, impl->trainable);
  return std::unique_ptr<Trainer>(new Trainer(std::move(impl)));
}

StatusOr<TrainingResult> Trainer::Run(const TrainingCallbacks& callbacks) {
  Impl& m = *impl_;
  UseThreads(m.params.threads);
  const auto started = Clock::now();
  TrainingResult result;
  for (int i : m.split.train) result.train_names.push_back(m.samples[static_cast<size_t>(i)].name);
  for (int i : m.split.validation) {
    result.val_names.push_back(m.samples[static_cast<size_t>(i)].name);
  }
  m.Log(callbacks, TaskLine(m.runner->name(), m.task, m.output, m.threshold));
  int since_best = 0;
  bool stopped_early = false;
  double train_seconds = 0;
  int64_t images_trained = 0;
  try {
    int done = m.Resume(&result, &since_best, &stopped_early, callbacks);
    const double resumed_seconds = result.seconds;
    if (result.epochs.empty()) {
      torch::manual_seed(m.params.seed);
      const auto t0 = Clock::now();
      EpochMetrics parent;
      if (!m.Evaluate(callbacks, &parent)) {
        result.stopped = true;
        return result;
      }
      parent.seconds = SecondsSince(t0);
      result.epochs.push_back(parent);
      result.best_epoch = 0;
      result.best_score = parent.score;
      RETURN_IF_ERROR(m.SaveBest());
      if (callbacks.on_epoch) callbacks.on_epoch(parent);
      m.Log(callbacks, StrCat("epoch 0 (the starting model): val_loss ", parent.val_loss, " ",
                              parent.metrics.dump()));
      result.seconds = SecondsSince(started);
      RETURN_IF_ERROR(m.SaveCheckpoint(result, since_best, stopped_early));
      if (callbacks.on_checkpoint) callbacks.on_checkpoint(0);
      done = 0;
    }
    const std::vector<int>& train = m.split.train;
    const int64_t batches_per_epoch =
        (static_cast<int64_t>(train.size()) + m.params.batch_size - 1) / m.params.batch_size;
    const int64_t steps = batches_per_epoch * m.params.epochs;
    int64_t step = batches_per_epoch * done;
    for (int epoch = done + 1; epoch <= m.params.epochs && !stopped_early; ++epoch) {
      const auto epoch_start = Clock::now();
      const double lr = LearningRate(m.params, epoch);
      for (auto& group : m.optimizer->param_groups()) group.options().set_lr(lr);
      // This epoch's order and augmentation: a generator of (seed, epoch) alone.
      std::mt19937_64 rng(m.params.seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch));
      std::vector<int> order = train;
      for (size_t i = order.size(); i > 1; --i) {
        std::swap(order[i - 1], order[rng() % i]);
      }
      double loss_sum = 0;
      for (size_t start = 0; start < order.size();
           start += static_cast<size_t>(m.params.batch_size)) {
        if (callbacks.should_stop && callbacks.should_stop()) {
          m.Log(callbacks, StrCat("stopped in epoch ", epoch));
          result.stopped = true;
          result.parent_score = result.epochs.front().score;
          return result;
        }
        std::vector<at::Tensor> xs, ts;
        const size_t end = std::min(order.size(), start + static_cast<size_t>(m.params.batch_size));
        for (size_t k = start; k < end; ++k) {
          const size_t i = static_cast<size_t>(order[k]);
          if (m.params.augment) {
            ASSIGN_OR_RETURN(auto pair, Augment(m.samples[i].image, m.samples[i].mask, rng));
            auto cut = m.Cut(pair.first, pair.second, &rng);
            ASSIGN_OR_RETURN(auto example, m.Example(i, cut.first, cut.second));
            xs.push_back(std::move(example.first));
            ts.push_back(std::move(example.second));
          } else {
            xs.push_back(m.inputs[i]);
            ts.push_back(m.targets[i]);
          }
        }
        loss_sum += Step(m.module, *m.optimizer, m.task, m.pick, torch::cat(xs), torch::cat(ts)) *
                    static_cast<double>(xs.size());
        images_trained += static_cast<int64_t>(xs.size());
        ++step;
        if (callbacks.on_step) callbacks.on_step(step, steps);
      }
      train_seconds += SecondsSince(epoch_start);
      EpochMetrics em;
      em.epoch = epoch;
      em.train_loss = order.empty() ? 0.0 : loss_sum / static_cast<double>(order.size());
      if (!m.Evaluate(callbacks, &em)) {
        result.stopped = true;
        result.parent_score = result.epochs.front().score;
        return result;
      }
      em.seconds = SecondsSince(epoch_start);
      result.epochs.push_back(em);
      if (em.score > result.best_score) {
        result.best_score = em.score;
        result.best_epoch = epoch;
        since_best = 0;
        RETURN_IF_ERROR(m.SaveBest());
      } else {
        ++since_best;
      }
      if (m.params.patience > 0 && since_best >= m.params.patience) stopped_early = true;
      if (callbacks.on_epoch) callbacks.on_epoch(em);
      m.Log(callbacks, StrCat("epoch ", epoch, "/", m.params.epochs, ": lr ", lr, ", train_loss ",
                              em.train_loss, ", val_loss ", em.val_loss, " ", em.metrics.dump(),
                              em.epoch == result.best_epoch ? " (best)" : ""));
      if (stopped_early) {
        m.Log(callbacks, StrCat("early stop: ", since_best, " epochs without a better score"));
      }
      result.seconds = resumed_seconds + SecondsSince(started);
      if (train_seconds > 0) {
        result.images_per_second = static_cast<double>(images_trained) / train_seconds;
      }
      RETURN_IF_ERROR(m.SaveCheckpoint(result, since_best, stopped_early));
      if (callbacks.on_checkpoint) callbacks.on_checkpoint(epoch);
    }
    result.seconds = resumed_seconds + SecondsSince(started);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        StrCat("training model '", m.model.name, "' failed: ", Readable(e)));
  }
  result.parent_score = result.epochs.front().score;
  result.artifact = m.best_path();
  return result;
}

}  // namespace infera
