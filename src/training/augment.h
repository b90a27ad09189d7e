// Training augmentation: random geometric and intensity changes applied to an image and
// its label mask together, so that they stay aligned (no LibTorch).
//
// In order, each drawn from `rng` (std::mt19937_64; the same seed gives the same result):
//   crop and scale  p = 0.5: a window of s * height x s * width, s uniform in [0.75, 1]
//                   (objects grow by at most 4/3: Cellpose-style models are size-bound),
//                   at a uniform position, resized back to the full size (image
//                   bilinear, mask nearest: labels stay labels);
//   flips           p = 0.5 each: left-right, up-down;
//   rot90           k uniform in 0..3 quarter turns for square images; 0 or 2 otherwise
//                   (the size never changes);
//   intensity       per channel v -> v * gain + bias * (the channel's largest sample),
//                   gain uniform in [0.8, 1.2], bias uniform in [-0.1, 0.1], clamped to
//                   the type's range (floats unclamped); constant channels (a blank
//                   nucleus channel) untouched; masks untouched.
// The mask may be empty (classify: image labels), then only the image changes.
// Pure function of its arguments; thread-safe for distinct `rng`s.
#pragma once

#include <cstdint>
#include <random>
#include <utility>

#include "common/status.h"
#include "imaging/image.h"

namespace infera {

// A uniform double in [0, 1) from the top 53 bits of one draw (the same on every standard
// library, unlike std::uniform_real_distribution).
double UniformUnit(std::mt19937_64& rng);

// `image` and `mask` (the same width and height, or an empty mask) augmented as above.
// InvalidArgument when the sizes differ or the image is empty.
StatusOr<std::pair<Image, Image>> Augment(const Image& image, const Image& mask,
                                          std::mt19937_64& rng);

// The geometric steps alone, for tests: flips and `quarter_turns` (0..3) counter-clockwise
// rotations of any image.
Image FlipLeftRight(const Image& image);
Image FlipUpDown(const Image& image);
Image Rotate90(const Image& image, int quarter_turns);
// The window [x, x + width) x [y, y + height) of `image` (inside it).
Image Crop(const Image& image, int x, int y, int width, int height);

}  // namespace infera
