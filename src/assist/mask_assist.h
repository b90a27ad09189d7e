// Assist tools of the annotation editor on OpenCV's algorithms: each proposes a mask for
// one image that the user then accepts or edits (nothing is stored here).
//   GrabCutFromBox      GrabCut (Rother et al. 2004; cv::grabCut) initialised with a box:
//                       outside it background, inside it probably foreground; the pixels
//                       it ends with as (probably) foreground get `label`.
//   WatershedFromSeeds  marker-based watershed (Meyer; cv::watershed) from seeds: each
//                       seed a small disk of its label (0 = background) grown over the
//                       image's gradient; pixels on a watershed line take the largest
//                       label next to them.
// The image is seen as PreviewBase makes it (8-bit RGB; 16-bit and float sources
// contrast-stretched). Results are one-channel label images of the image's size, 8-bit
// when every label fits, else 16-bit. Pure functions; thread-safe.
#pragma once

#include <vector>

#include "common/status.h"
#include "imaging/image.h"

namespace infera {

struct AssistBox {
  int x = 0, y = 0, width = 0, height = 0;
};

struct AssistSeed {
  int x = 0, y = 0;
  int label = 0;  // 0..65535; 0 is background
};

// InvalidArgument when the box is empty or not inside the image, `label` is outside
// 1..65535, or the image is not one PreviewBase takes.
StatusOr<Image> GrabCutFromBox(const Image& image, const AssistBox& box, int label = 1,
                               int iterations = 5);

// InvalidArgument for no seeds, a seed outside the image or a label outside 0..65535,
// or seeds of one label only (watershed needs two regions to divide the image).
StatusOr<Image> WatershedFromSeeds(const Image& image, const std::vector<AssistSeed>& seeds,
                                   int seed_radius = 3);

}  // namespace infera
