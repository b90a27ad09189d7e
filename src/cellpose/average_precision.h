// Average precision of predicted masks against true masks at one IoU threshold, as
// Cellpose's metrics.average_precision defines it: AP = TP / (TP + FP + FN), where TP is
// the number of one-to-one matched (true, predicted) pairs with IoU >= threshold, FP the
// unmatched predictions and FN the unmatched true masks.
//
// Cellpose matches with linear_sum_assignment; here pairs are matched greedily by
// decreasing IoU, which gives the same count for thresholds >= 0.5 (a mask then has at most
// one partner above the threshold, bar exact 0.5 ties). Used by the trainer's validation
// (training/metrics.h) and by the Cellpose tests. Header-only; thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "cellpose/label_image.h"

namespace infera::cellpose {

struct ApResult {
  int true_masks = 0;
  int predicted_masks = 0;
  int true_positives = 0;
  // 1 when both images are empty.
  double ap = 0.0;
};

// Precondition: both images have the same size.
inline ApResult AveragePrecision(const LabelImage& truth, const LabelImage& predicted,
                                 double iou_threshold) {
  std::map<uint32_t, int64_t> area_t;
  std::map<uint32_t, int64_t> area_p;
  std::map<std::pair<uint32_t, uint32_t>, int64_t> overlap;
  for (size_t i = 0; i < truth.labels.size(); ++i) {
    const uint32_t t = truth.labels[i];
    const uint32_t p = predicted.labels[i];
    if (t != 0) ++area_t[t];
    if (p != 0) ++area_p[p];
    if (t != 0 && p != 0) ++overlap[{t, p}];
  }
  struct Pair {
    double iou;
    uint32_t t, p;
  };
  std::vector<Pair> pairs;
  for (const auto& [key, inter] : overlap) {
    const double iou = static_cast<double>(inter) /
                       static_cast<double>(area_t[key.first] + area_p[key.second] - inter);
    if (iou >= iou_threshold) pairs.push_back(Pair{iou, key.first, key.second});
  }
  std::sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) {
    return a.iou != b.iou ? a.iou > b.iou : std::make_pair(a.t, a.p) < std::make_pair(b.t, b.p);
  });
  std::map<uint32_t, bool> used_t;
  std::map<uint32_t, bool> used_p;
  ApResult r;
  r.true_masks = static_cast<int>(area_t.size());
  r.predicted_masks = static_cast<int>(area_p.size());
  for (const Pair& pair : pairs) {
    if (used_t[pair.t] || used_p[pair.p]) continue;
    used_t[pair.t] = used_p[pair.p] = true;
    ++r.true_positives;
  }
  const int fp = r.predicted_masks - r.true_positives;
  const int fn = r.true_masks - r.true_positives;
  const int denom = r.true_positives + fp + fn;
  r.ap = denom == 0 ? 1.0 : static_cast<double>(r.true_positives) / denom;
  return r;
}

}  // namespace infera::cellpose
