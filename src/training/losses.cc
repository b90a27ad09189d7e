#include "training/losses.h"

#include <torch/torch.h>

#include "common/strings.h"
#include "runners/multiclass_argmax.h"
#include "training/torch_convert.h"
#include "training/trainer.h"

namespace infera {

static_assert(kIgnoreLabel == kUnannotatedTarget, "the loss ignores what the runner marks");

namespace {

at::Tensor BinaryLoss(const at::Tensor& output, const at::Tensor& target) {
  TORCH_CHECK(output.numel() == target.numel(), "the output has ", output.sizes(),
              " values per batch but the target ", target.sizes());
  const at::Tensor x = output.reshape(target.sizes()).to(at::kFloat);
  const at::Tensor t = target.to(at::kFloat);
  const at::Tensor bce = torch::binary_cross_entropy_with_logits(x, t);
  const at::Tensor p = torch::sigmoid(x);
  const at::Tensor dice = 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1);
  return bce + dice;
}

// BCE on probabilities (the model applies its own sigmoid) + soft Dice on them.
at::Tensor BinaryProbabilityLoss(const at::Tensor& output, const at::Tensor& target) {
  TORCH_CHECK(output.numel() == target.numel(), "the output has ", output.sizes(),
              " values per batch but the target ", target.sizes());
  const at::Tensor p = output.reshape(target.sizes()).to(at::kFloat);
  const at::Tensor t = target.to(at::kFloat);
  const at::Tensor bce = torch::binary_cross_entropy(p, t);
  const at::Tensor dice = 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1);
  return bce + dice;
}

at::Tensor CrossEntropy(const at::Tensor& output, const at::Tensor& target) {
  const at::Tensor t = target.to(at::kLong);
  if (t.ne(kIgnoreLabel).sum().item<int64_t>() == 0) return output.sum() * 0;
  return torch::nn::functional::cross_entropy(
      output.to(at::kFloat), t,
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnoreLabel));
}

at::Tensor CellposeLoss(const at::Tensor& output, const at::Tensor& target) {
  TORCH_CHECK(output.dim() == 4 && output.size(1) == 3 && output.sizes() == target.sizes(),
              "cellpose: the output is ", output.sizes(), " but the target ", target.sizes());
  const at::Tensor x = output.to(at::kFloat);
  const at::Tensor flows = torch::mse_loss(x.slice(1, 0, 2), target.slice(1, 0, 2)) / 2;
  return flows + torch::binary_cross_entropy_with_logits(x.select(1, 2), target.select(1, 2));
}

}  // namespace

bool TaskFollowsOutput(std::string_view runner) { return runner == "custom_tiff"; }

bool TargetsAreClasses(TrainingTask task) {
  return task == TrainingTask::kMulticlass || task == TrainingTask::kClassify;
}

StatusOr<TrainingTask> TaskForRunner(std::string_view runner, const OutputType& output) {
  // One channel of foreground: logits, or probabilities when the model applies its own
  // sigmoid (binary_sigmoid, and custom_tiff's K = 1).
  const TrainingTask binary =
      output.is_probability ? TrainingTask::kBinaryProbability : TrainingTask::kBinary;
  if (runner == "custom_tiff") {
    if (output.classes < 1) {
      return absl::InvalidArgumentError(
          StrCat("custom_tiff trains models with K >= 1 output channels, not ", output.classes));
    }
    return output.classes > 1 ? TrainingTask::kMulticlass : binary;
  }
  if (runner == "binary_sigmoid") return binary;
  if (runner == "multiclass_argmax") return TrainingTask::kMulticlass;
  if (runner == "classify") return TrainingTask::kClassify;
  if (runner == "cellpose") return TrainingTask::kCellpose;
  return absl::InvalidArgumentError(
      StrCat("runner '", runner,
             "' cannot be trained (runners that can: ", StrJoin(TrainableRunners(), ", "), ")"));
}

at::Tensor TaskLoss(TrainingTask task, const at::Tensor& output, const at::Tensor& target) {
  switch (task) {
    case TrainingTask::kBinary:
      return BinaryLoss(output, target);
    case TrainingTask::kBinaryProbability:
      return BinaryProbabilityLoss(output, target);
    case TrainingTask::kMulticlass:
    case TrainingTask::kClassify:
      return CrossEntropy(output, target);
    case TrainingTask::kCellpose:
      return CellposeLoss(output, target);
  }
  TORCH_CHECK(false, "unknown training task");
}

StatusOr<double> TaskLossValue(TrainingTask task, const Tensor& output, const Tensor& target) {
  ASSIGN_OR_RETURN(at::Tensor x, ToTorchTensor(output));
  ASSIGN_OR_RETURN(at::Tensor t, ToTorchTensor(target));
  try {
    torch::NoGradGuard no_grad;
    return TaskLoss(task, x, t).item<double>();
  } catch (const std::exception& e) {
    std::string what = e.what();
    return absl::InvalidArgumentError(what.substr(0, what.find('\n')));
  }
}

}  // namespace infera
