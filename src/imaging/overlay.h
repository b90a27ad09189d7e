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
// The colour of object `label` in an instance mask: a golden-ratio walk around the hue
// circle, so that objects with nearby ids (usually neighbours) get very different hues,
// with saturation and value cycling too so that thousands of ids stay distinguishable.
// Black for 0 and negative labels (never drawn).
Rgb8 InstanceColor(int64_t label);
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

enum class LabelPalette {
  kClasses,    // LabelColor: the colours of the runners' previews and legends
  kInstances,  // InstanceColor: one distinct colour per object
};

// ColorizeLabels: the label map as an 8-bit RGBA image for drawing over the source in a
// browser: label 0 transparent (0, 0, 0, 0), label k opaque in its palette colour. With
// kClasses, an 8-bit map whose only values are 0 and 255 (a binary mask, as
// binary_sigmoid and cellpose's class_mask write) is drawn as class 1, matching the
// runners' legends. `labels`: one channel, 8- or 16-bit, or float32 holding
// non-negative whole numbers (32-bit instance TIFFs). InvalidArgument otherwise.
StatusOr<Image> ColorizeLabels(const Image& labels, LabelPalette palette);

}  // namespace infera
