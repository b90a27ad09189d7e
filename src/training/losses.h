// The training task of each trainable runner: what its targets are, its loss and the
// validation metric that scores an epoch.
//
//   binary_sigmoid     output [N, 1, H, W] (or [N, H, W]), target the same shape, FP32
//                      0/1 (BinarySigmoidRunner::AnnotationToTarget). By the runner's
//                      output_is_probability param (OutputType::is_probability): kBinary
//                      for logits x: BCE-with-logits (mean over pixels) + soft Dice,
//                      1 - (2 sum(p t) + 1) / (sum(p) + sum(t) + 1) with p = sigmoid(x)
//                      over the whole batch; kBinaryProbability for an output p that
//                      already is a probability: BCE on the probabilities
//                      (torch.nn.functional.binary_cross_entropy, logs clamped at -100)
//                      + the same soft Dice. Metric iou (and dice) of p > the runner's
//                      threshold vs t, p read as the runner serves it.
//   multiclass_argmax  output [N, K, H, W] logits, target [N, H, W] INT64 class indices,
//                      kIgnoreLabel (-100) on unannotated pixels (255 in 8-bit masks,
//                      65535 in 16-bit ones: MulticlassArgmaxRunner::AnnotationToTarget).
//                      Loss: cross-entropy averaged over the annotated pixels (0 when a
//                      batch has none). Metric mean_iou of the argmax.
//   classify           output [N, K] logits, target [N] INT64 image labels. Loss:
//                      cross-entropy. Metric accuracy of the argmax.
//   cellpose           output [N, 3, t, t] (dY, dX, cell-probability logit), target the
//                      same shape (5 x the flows of the masks, 0/1 cell probability:
//                      CellposeRunner::AnnotationToTarget). Loss (Cellpose's
//                      train._loss_fn_seg): MSE(flows) / 2 + BCE-with-logits(cell
//                      probability). Metric ap50: the runner's own mask reconstruction
//                      (Postprocess) against the true instances, AP at IoU 0.5.
//   custom_tiff        by its model's output type (OutputType: K, the channels of the
//                      first output, and the runner's output_is_probability param):
//                      K = 1 binary_sigmoid's tasks (by output_is_probability) on
//                      CustomTiffRunner::AnnotationToTarget's first target (foreground
//                      > 0). K > 1: kMulticlass on its second target (class indices,
//                      unannotated pixels ignored); metric mean_iou of the argmax.
// The class-index tasks (kMulticlass, kClassify: TargetsAreClasses) need every target
// class below K, the model's output channels (the trainer checks; the loss would fail).
// These match torch.nn.functional's binary_cross_entropy_with_logits and cross_entropy
// (ignore_index=-100), which tests/training/parity compares against.
// Thread-safe (pure functions).
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"
#include "tensor/tensor.h"

namespace at {
class Tensor;  // LibTorch's, defined in training/*.cc only (this header includes no torch)
}

namespace infera {

enum class TrainingTask { kBinary, kBinaryProbability, kMulticlass, kClassify, kCellpose };

// What a task may depend on: K, the channels of the model's first output ([N, K, H, W];
// 1 for [N, H, W]; [N, K] for classify), and whether that output is already a
// probability (the runner's output_is_probability param: no sigmoid to apply).
struct OutputType {
  int64_t classes = 1;
  bool is_probability = false;
};

// Whether `runner`'s task follows its model's K (custom_tiff): TaskForRunner then needs
// OutputType::classes as the model outputs it.
bool TaskFollowsOutput(std::string_view runner);

// The task of `runner` for a model whose output is `output`: binary_sigmoid and a
// custom_tiff of K = 1 follow output.is_probability, custom_tiff follows K; the other
// runners ignore `output`. InvalidArgument naming the trainable runners for a runner that
// cannot train, or for an `output` with fewer than 1 class.
StatusOr<TrainingTask> TaskForRunner(std::string_view runner, const OutputType& output = {});

// Whether `task`'s targets are class indices (kMulticlass, kClassify), which must be
// below the model's K.
bool TargetsAreClasses(TrainingTask task);

// The target value of pixels that are not annotated (multiclass_argmax).
inline constexpr int64_t kIgnoreLabel = -100;

// The task's loss of `output` (the model's first output) against `target`, differentiable.
// Throws c10::Error (LibTorch's) for shapes that do not fit; the trainer turns that into
// InvalidArgument.
at::Tensor TaskLoss(TrainingTask task, const at::Tensor& output, const at::Tensor& target);

// The same loss on host tensors (no gradients), for tests and checks. InvalidArgument
// for shapes that do not fit.
StatusOr<double> TaskLossValue(TrainingTask task, const Tensor& output, const Tensor& target);

}  // namespace infera
