// Colour previews of segmentations for people: a label map drawn over its source image.
//
// Colours come from a fixed palette of kPaletteSize distinct colours (Sasha Trubetskoy's
// "20 simple, distinct colours"): label 0 is background and is not drawn; label k >= 1
// is drawn in palette[(k - 1) % kPaletteSize] (so 1 is red, 2 green, 3 yellow, 4 blue...).
// The palette is exposed (LabelColor, ColorHex) so that a runner's summary can name the
// colour of each class: the legend lives in the JSON, not in the pixels.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "imaging/image.h"

namespace infera {

inline constexpr int kPaletteSize = 20;

struct Rgb8 {
  uint8_t r = 0;
  uint8_t g = 0;
  uint8_t b = 0;
  bool operator==(const Rgb8&) const = default;
};

// The colour label `label` is drawn in; black for 0 and negative labels (never drawn).
Rgb8 LabelColor(int64_t label);
// "#rrggbb", lower case.
std::string ColorHex(Rgb8 color);

// PreviewBase: the source as an 8-bit RGB image for people. Channels: 1 or 2 (gray or
// gray+alpha) -> channel 0 as gray; 3 or 4 (RGB, RGBA) -> RGB, alpha dropped; 5 or more
// -> the first three as RGB. 8-bit sources keep their values; 16-bit and float sources
// are contrast-stretched per channel between their 1st and 99th percentiles
// (normalize.h, clipped; a flat channel becomes black). InvalidArgument for an empty
// image or a data size that does not match the geometry.
StatusOr<Image> PreviewBase(const Image& source);

struct OverlayOptions {
  // Opacity of the label colour: out = round((1 - alpha) * base + alpha * colour).
  float alpha = 0.5f;
};

// OverlayLabels: PreviewBase(source) with every pixel whose label is not 0 blended with
// LabelColor(label). `labels`: one channel, 8- or 16-bit, the source's width and height.
// InvalidArgument when the label map does not fit, alpha is outside [0, 1], or as
// PreviewBase.
StatusOr<Image> OverlayLabels(const Image& source, const Image& labels,
                              const OverlayOptions& options = {});

}  // namespace infera
