// Mask clean-up after reconstruction (Cellpose's fill_holes_and_remove_small_masks and
// fastremap.renumber): relabelling, removing labels, small masks and filling holes.
//
// Labels may be any values on input. Pure functions on the image they are given;
// thread-safe for distinct images. Preconditions: the image passes ValidateLabelImage.
#pragma once

#include <cstdint>

#include "cellpose/label_image.h"

namespace infera::cellpose {

// Cellpose's default min_size.
inline constexpr int kDefaultMinSize = 15;

// Renumbers the labels to 1..N in order of first appearance in row-major order (0 stays 0)
// and returns N.
uint32_t RenumberLabels(LabelImage& image);

// Sets every mask with fewer than `min_size` pixels to 0. min_size <= 0 removes nothing
// (Cellpose uses -1 to disable). Labels are not renumbered.
void RemoveSmallMasks(LabelImage& image, int min_size);

// Fills the holes of every mask, one mask at a time in increasing label order: a hole is a
// pixel not in the mask that cannot reach the outside of the mask's bounding box through
// 4-connected non-mask pixels (scipy's binary_fill_holes / fill_voids). Hole pixels take
// the mask's label, even where they belonged to another mask (a mask enclosed by another
// is swallowed, as in Cellpose).
void FillHoles(LabelImage& image);

// Cellpose v4's fill_holes_and_remove_small_masks: removes masks smaller than min_size,
// fills holes, removes masks that are then smaller than min_size (swallowed ones), and
// renumbers 1..N (RenumberLabels). Returns N.
uint32_t FillHolesAndRemoveSmallMasks(LabelImage& image, int min_size = kDefaultMinSize);

}  // namespace infera::cellpose
