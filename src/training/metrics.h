// Validation metrics of a training run, on label maps (no LibTorch): the trainer turns
// the model's outputs into predicted labels at the target's size and accumulates them
// here over the whole validation split (pooled counts, not a mean of per-image values,
// so that images without foreground do not count as 0 or 1).
// Value types; not thread-safe for concurrent mutation.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "cellpose/label_image.h"

namespace infera {

// Foreground vs background (binary_sigmoid): iou = tp / (tp + fp + fn), dice = 2 tp /
// (2 tp + fp + fn); both 1 when neither prediction nor target has foreground.
class BinaryMetric {
 public:
  // `predicted` and `target` of the same size; non-zero is foreground.
  void Add(std::span<const uint8_t> predicted, std::span<const uint8_t> target);
  double iou() const;
  double dice() const;
  nlohmann::json ToJson() const { return {{"iou", iou()}, {"dice", dice()}}; }

 private:
  int64_t tp_ = 0, fp_ = 0, fn_ = 0;
};

// Semantic classes (multiclass_argmax): the mean over classes of tp / (tp + fp + fn),
// over the classes that appear in a target or a prediction (pixels whose target is
// `ignore` count for nothing).
class MeanIouMetric {
 public:
  explicit MeanIouMetric(int64_t ignore) : ignore_(ignore) {}
  void Add(std::span<const int64_t> predicted, std::span<const int64_t> target);
  double mean_iou() const;
  nlohmann::json ToJson() const { return {{"mean_iou", mean_iou()}}; }

 private:
  void Grow(int64_t k);
  int64_t ignore_;
  std::vector<int64_t> tp_, fp_, fn_;
};

// Image labels (classify): correct / images (0 with no images).
class AccuracyMetric {
 public:
  void Add(int64_t predicted, int64_t target) {
    correct_ += predicted == target;
    ++count_;
  }
  double accuracy() const { return count_ == 0 ? 0.0 : static_cast<double>(correct_) / count_; }
  nlohmann::json ToJson() const { return {{"accuracy", accuracy()}}; }

 private:
  int64_t correct_ = 0, count_ = 0;
};

// Instances (cellpose): AP@0.5 as Cellpose's metrics.average_precision defines it per image
// (cellpose/average_precision.h: TP / (TP + FP + FN), one-to-one matches at IoU >= 0.5),
// averaged over the images (0 with no images).
class InstanceApMetric {
 public:
  // `predicted` and `truth` of the same size.
  void Add(const cellpose::LabelImage& predicted, const cellpose::LabelImage& truth);
  double ap50() const { return images_ == 0 ? 0.0 : sum_ / images_; }
  nlohmann::json ToJson() const { return {{"ap50", ap50()}}; }

 private:
  double sum_ = 0;
  int images_ = 0;
};

}  // namespace infera
