// ResizeImage: resamples a whole Image (any pixel type, any channel count) to another
// size with the kernels of resize.h, so results match torch.nn.functional.interpolate on
// the same samples:
//
//   kNearest   copies samples (mode="nearest"): exact for every pixel type, so a label
//              map stays a label map. Used to bring masks back to the source size.
//   kBilinear  mode="bilinear", align_corners=False, antialias=False, computed in float;
//              float32 images keep the float result, 8/16-bit images are rounded to
//              nearest (ties to even) and clamped to the type's range.
//
// The result has pages = 1. Same size returns a copy. Errors (InvalidArgument): an empty
// image, data whose size does not match the geometry, a non-positive target size or a
// target of more than kMaxResizePixels pixels.
// Pure function; thread-safe.
#pragma once

#include <cstdint>

#include "common/status.h"
#include "imaging/image.h"
#include "imaging/preprocess.h"

namespace infera {

inline constexpr int64_t kMaxResizePixels = 1'000'000'000;

StatusOr<Image> ResizeImage(const Image& image, int width, int height, Interpolation interpolation);

}  // namespace infera
