// TrainSteps: optimiser steps on given batches, without the trainer's data pipeline —
// the step the Trainer itself runs for each batch (training/trainer.cc), exposed so that
// its arithmetic can be compared with PyTorch's (tests/training/parity_test.cc).
// Thread-compatible (sets the calling thread's intra-op threads to params.threads).
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "tensor/tensor.h"
#include "training/trainer.h"

namespace infera {

// One batch: the model input [N, ...] and the task's target (training/losses.h).
struct TrainingBatch {
  Tensor input;
  Tensor target;
};

// Loads the TorchScript module at `module_path` as written (not frozen), puts it in
// training mode and makes the optimiser of `params` (optimizer, lr, momentum,
// weight_decay; freeze applies); then for each batch in order: forward, the loss of
// `runner`'s task, backward, optimiser step. Returns each step's loss (computed before
// its update). No schedule, augmentation or shuffling. `output_is_probability` (the
// runner param) picks binary_sigmoid's task; a runner whose task follows the model's
// output (custom_tiff) gets the task of the module's output on the first batch (K) and
// `output_is_probability`, and its batches carry that task's target.
// InvalidArgument for a module that does not load, a runner that cannot train, or
// batches that do not fit the model.
StatusOr<std::vector<double>> TrainSteps(const std::filesystem::path& module_path,
                                         std::string_view runner, const TrainingParams& params,
                                         const std::vector<TrainingBatch>& batches,
                                         bool output_is_probability = false);

}  // namespace infera
