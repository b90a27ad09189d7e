// Preprocessing: turns a decoded Image into a model input Tensor as an InputSpec says
// (colour conversion, resize, scale, mean/std normalisation, layout, dtype).
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "imaging/image.h"
#include "tensor/tensor.h"

namespace infera {

enum class ColorMode { kGray, kRgb, kBgr };
enum class Interpolation { kBilinear, kNearest };
enum class Layout { kNCHW, kNHWC };
// How an image meets a fixed input size: stretched to it (the aspect ratio changes), or
// letterboxed (scaled by one factor to fit, placed at the top-left corner, the rest
// padded with zeros in the model's input — the mean colour for a normalised input).
enum class ResizeMode { kStretch, kLetterbox };

StatusOr<ColorMode> ParseColorMode(std::string_view s);          // gray|rgb|bgr
StatusOr<Interpolation> ParseInterpolation(std::string_view s);  // bilinear|nearest
StatusOr<Layout> ParseLayout(std::string_view s);                // NCHW|NHWC
StatusOr<ResizeMode> ParseResizeMode(std::string_view s);        // stretch|letterbox

// InputSpec: how a model wants its image input. Defaults are the usual ImageNet input.
struct InputSpec {
  ColorMode color = ColorMode::kRgb;
  // Target size as {height, width}; nullopt keeps the image's own size.
  std::optional<std::pair<int, int>> size = std::pair<int, int>{224, 224};
  Interpolation interpolation = Interpolation::kBilinear;
  ResizeMode resize = ResizeMode::kStretch;  // letterbox needs a fixed size
  // Multiplier applied to raw sample values before mean/std; nullopt means
  // 1 / image.max_value() (1/255 for 8-bit, 1/65535 for 16-bit, 1 for float).
  std::optional<double> scale = 1.0 / 255.0;
  // Per-channel mean and std (after scale), one value per output channel or one value
  // for all. Empty mean means 0, empty std means 1.
  std::vector<float> mean = {0.485f, 0.456f, 0.406f};
  std::vector<float> std = {0.229f, 0.224f, 0.225f};
  Layout layout = Layout::kNCHW;
  DType dtype = DType::kFP32;  // kFP32, or kUInt8 (raw 8-bit samples, no scale/mean/std)

  int channels() const { return color == ColorMode::kGray ? 1 : 3; }
};

// Checks that the spec is coherent (mean/std sizes match channels, std non-zero,
// positive size, supported dtype, letterbox only with a fixed size). InvalidArgument
// naming the field otherwise.
Status ValidateInputSpec(const InputSpec& spec);

// The part of the model input an image of `height` x `width` fills, as {height, width}
// from the top-left corner: the whole input size for stretch; for letterbox the image
// scaled by min(H / height, W / width), each side rounded to nearest and at least 1; the
// image's own size when the spec keeps it. Requires positive sides.
std::pair<int, int> ContentSize(int height, int width, const InputSpec& spec);

// Converts `image` into a [1,C,H,W] (NCHW) or [1,H,W,C] (NHWC) tensor.
// Colour: gray->rgb replicates; rgb->gray uses ITU-R 601 luma (0.299, 0.587, 0.114);
// alpha is dropped; 2-channel images are gray+alpha; >4 channels: the first 3 (or 1).
// (Luma applies to 3- and 4-channel images only; a gray input from an image with more
// than 4 channels is its first channel, since such channels are not RGB.)
// Resize: bilinear matches torch.nn.functional.interpolate(mode="bilinear",
// align_corners=False, antialias=False) and OpenCV INTER_LINEAR; nearest matches
// interpolate(mode="nearest"). Errors: InvalidArgument for an empty image or a spec
// that fails ValidateInputSpec.
// Letterbox: the image is resized to ContentSize and the rest of the tensor is 0 (after
// normalisation; raw 0 for UINT8).
// Order of operations, all in float: colour conversion on raw samples, resize (each
// source row along the width, then the two rows blended, as torch's CPU kernel does), then
// (x * scale - mean) / std.
// dtype kUInt8 needs an 8-bit image; it ignores scale/mean/std and rounds the resized
// samples to nearest (ties to even), clamped to [0, 255].
StatusOr<Tensor> ImageToTensor(const Image& image, const InputSpec& spec);

}  // namespace infera
