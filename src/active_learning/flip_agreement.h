// Test-time augmentation disagreement, for active learning's `tta` strategy: a model that
// has learnt an image well predicts the same thing for the image flipped (once the
// prediction is flipped back); where it has not, the predictions differ.
//
//   disagreement = mean over the flips of mean |p(image) - flip⁻¹(p(flip(image)))|,
//
// the mean absolute difference of probabilities over every pixel and channel (in [0, 1]:
// 0 when the flipped predictions agree exactly — a model and image symmetric under the
// flips —, 1 when they are opposite everywhere).
// Pure functions; thread-safe.
#pragma once

#include <vector>

#include "common/status.h"
#include "imaging/image.h"

namespace infera {

enum class FlipAxis {
  kHorizontal,  // left <-> right (x -> width - 1 - x)
  kVertical,    // top <-> bottom (y -> height - 1 - y)
};

// `image` mirrored along `axis` (any pixel type and channel count; a flip is its own
// inverse).
Image Flip(const Image& image, FlipAxis axis);

// The mean absolute difference of two float32 images over every sample. InvalidArgument
// when they are not float32 or differ in width, height or channels, or are empty.
StatusOr<double> MeanAbsoluteDifference(const Image& a, const Image& b);

// The disagreement of `base` with each of `flipped_back` (predictions of flipped images,
// already flipped back), averaged. InvalidArgument as MeanAbsoluteDifference, or when
// `flipped_back` is empty.
StatusOr<double> FlipDisagreement(const Image& base, const std::vector<Image>& flipped_back);

}  // namespace infera
