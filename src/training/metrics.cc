#include "training/metrics.h"

#include <algorithm>

#include "cellpose/average_precision.h"

namespace infera {

void BinaryMetric::Add(std::span<const uint8_t> predicted, std::span<const uint8_t> target) {
  const size_t n = std::min(predicted.size(), target.size());
  for (size_t i = 0; i < n; ++i) {
    const bool p = predicted[i] != 0, t = target[i] != 0;
    tp_ += p && t;
    fp_ += p && !t;
    fn_ += !p && t;
  }
}

double BinaryMetric::iou() const {
  const int64_t d = tp_ + fp_ + fn_;
  return d == 0 ? 1.0 : static_cast<double>(tp_) / d;
}

double BinaryMetric::dice() const {
  const int64_t d = 2 * tp_ + fp_ + fn_;
  return d == 0 ? 1.0 : 2.0 * tp_ / d;
}

void MeanIouMetric::Grow(int64_t k) {
  if (k < 0) return;
  const size_t size = static_cast<size_t>(k) + 1;
  if (tp_.size() < size) {
    tp_.resize(size, 0);
    fp_.resize(size, 0);
    fn_.resize(size, 0);
  }
}

void MeanIouMetric::Add(std::span<const int64_t> predicted, std::span<const int64_t> target) {
  const size_t n = std::min(predicted.size(), target.size());
  for (size_t i = 0; i < n; ++i) {
    const int64_t t = target[i], p = predicted[i];
    if (t == ignore_ || t < 0 || p < 0) continue;
    Grow(std::max(t, p));
    if (p == t) {
      ++tp_[static_cast<size_t>(t)];
    } else {
      ++fp_[static_cast<size_t>(p)];
      ++fn_[static_cast<size_t>(t)];
    }
  }
}

double MeanIouMetric::mean_iou() const {
  double sum = 0;
  int classes = 0;
  for (size_t k = 0; k < tp_.size(); ++k) {
    const int64_t d = tp_[k] + fp_[k] + fn_[k];
    if (d == 0) continue;
    sum += static_cast<double>(tp_[k]) / d;
    ++classes;
  }
  return classes == 0 ? 1.0 : sum / classes;
}

void InstanceApMetric::Add(const cellpose::LabelImage& predicted,
                           const cellpose::LabelImage& truth) {
  sum_ += cellpose::AveragePrecision(truth, predicted, 0.5).ap;
  ++images_;
}

}  // namespace infera
