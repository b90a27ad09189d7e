#include "imaging/preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "imaging/resize.h"

namespace infera {

namespace {

// Largest output the spec may ask for (height * width), far beyond any model input.
constexpr int64_t kMaxOutputPixels = 100'000'000;

// ChannelPlan: how output channels come from source channels.
struct ChannelPlan {
  int channels = 3;           // output channels
  bool luma = false;          // the one output channel is the luma of source channels 0..2
  int source[3] = {0, 1, 2};  // otherwise: output channel c is source[c]
};

ChannelPlan PlanChannels(int image_channels, ColorMode color) {
  ChannelPlan plan;
  const bool gray_source = image_channels <= 2;  // gray or gray+alpha
  switch (color) {
    case ColorMode::kGray:
      plan.channels = 1;
      plan.luma = image_channels == 3 || image_channels == 4;
      plan.source[0] = 0;
      break;
    case ColorMode::kRgb:
      if (gray_source) plan.source[0] = plan.source[1] = plan.source[2] = 0;
      break;
    case ColorMode::kBgr:
      if (gray_source) {
        plan.source[0] = plan.source[1] = plan.source[2] = 0;
      } else {
        plan.source[0] = 2;
        plan.source[2] = 0;
      }
      break;
  }
  return plan;
}

// Resamples `image` (samples of type T) to the taps' geometry, calling
// emit(y, row) with each output row: xs.size() * plan.channels floats, interleaved.
template <typename T, typename Emit>
void ResampleImage(const Image& image, const ChannelPlan& plan, const AxisTaps& xs,
                   const AxisTaps& ys, Emit&& emit) {
  const T* pixels = image.pixels<T>();
  const size_t stride = static_cast<size_t>(image.channels);
  const size_t row_samples = static_cast<size_t>(image.width) * stride;
  const size_t row_len = static_cast<size_t>(xs.size()) * plan.channels;
  std::vector<float> scratch;
  // Same size on both axes (a model's own input size): every tap is (index i, weights
  // 1 and 0), so each output value is exactly its source sample (1 * s + 0 * s == s for
  // a finite s). Integer samples only: a float image's inf would come out NaN the long
  // way (0 * inf), and its output stays that of the general path below.
  const bool identity =
      std::is_integral_v<T> && xs.size() == image.width && ys.size() == image.height;
  if (identity) {
    scratch.resize(row_len);
    auto copy_rows = [&](auto&& sample) {
      for (int y = 0; y < ys.size(); ++y) {
        const T* src = pixels + static_cast<size_t>(y) * row_samples;
        float* out = scratch.data();
        for (int x = 0; x < xs.size(); ++x, src += stride) {
          for (int c = 0; c < plan.channels; ++c) *out++ = sample(src, c);
        }
        emit(y, static_cast<const float*>(scratch.data()));
      }
    };
    if (plan.luma) {
      copy_rows([](const T* p, int /*c*/) {
        return 0.299f * static_cast<float>(p[0]) + 0.587f * static_cast<float>(p[1]) +
               0.114f * static_cast<float>(p[2]);
      });
    } else {
      copy_rows([&plan](const T* p, int c) { return static_cast<float>(p[plan.source[c]]); });
    }
    return;
  }
  auto run = [&](auto&& sample) {
    ResampleRows(
        ys, row_len, &scratch,
        [&](int r, float* out) {
          ResampleRow(pixels + static_cast<size_t>(r) * row_samples, stride, xs, plan.channels,
                      sample, out);
        },
        emit);
  };
  if (plan.luma) {
    run([](const T* p, int /*c*/) {
      return 0.299f * static_cast<float>(p[0]) + 0.587f * static_cast<float>(p[1]) +
             0.114f * static_cast<float>(p[2]);
    });
  } else {
    run([&plan](const T* p, int c) { return static_cast<float>(p[plan.source[c]]); });
  }
}

template <typename Emit>
void Resample(const Image& image, const ChannelPlan& plan, const AxisTaps& xs, const AxisTaps& ys,
              Emit&& emit) {
  switch (image.type) {
    case PixelType::kUInt8:
      return ResampleImage<uint8_t>(image, plan, xs, ys, emit);
    case PixelType::kUInt16:
      return ResampleImage<uint16_t>(image, plan, xs, ys, emit);
    case PixelType::kFloat32:
      return ResampleImage<float>(image, plan, xs, ys, emit);
  }
}

// Writes interleaved output row y (row_width * channels values, each mapped through
// convert(value, channel)) into the first row_width columns of an NCHW or NHWC tensor of
// height x width.
template <typename Out, typename Convert>
void StoreRow(Layout layout, int y, const float* row, int row_width, int width, int height,
              int channels, Convert&& convert, Out* out) {
  const size_t n = static_cast<size_t>(row_width);
  const size_t w = static_cast<size_t>(width);
  if (layout == Layout::kNHWC) {
    Out* dst = out + static_cast<size_t>(y) * w * channels;
    for (size_t x = 0; x < n; ++x) {
      for (int c = 0; c < channels; ++c, ++dst, ++row) *dst = convert(*row, c);
    }
    return;
  }
  for (int c = 0; c < channels; ++c) {
    Out* dst = out + (static_cast<size_t>(c) * height + y) * w;
    for (size_t x = 0; x < n; ++x) dst[x] = convert(row[x * channels + c], c);
  }
}

// ImageToTensor's FP32 output for an 8-bit image of the output's own size (no resampling,
// no luma): out = (float(sample) * scale - mean[c]) / stdev[c], exactly the general path's
// `normalize` of the same sample, in NCHW or NHWC. An 8-bit sample has 256 values, so each
// channel's 256 results are computed once (the same expression, so bit-identical) and every
// element is a table lookup: no per-element multiply and divide.
void StoreSameSize(const Image& image, const ChannelPlan& plan, Layout layout, float scale,
                   const float* mean, const float* stdev, float* out) {
  const uint8_t* pixels = image.pixels<uint8_t>();
  const size_t n = static_cast<size_t>(image.width) * static_cast<size_t>(image.height);
  const size_t stride = static_cast<size_t>(image.channels);
  const int channels = plan.channels;
  float table[3][256];
  for (int c = 0; c < channels; ++c) {
    for (int v = 0; v < 256; ++v) {
      table[c][v] = (static_cast<float>(v) * scale - mean[c]) / stdev[c];
    }
  }
  if (layout == Layout::kNCHW) {
    for (int c = 0; c < channels; ++c) {
      const uint8_t* src = pixels + plan.source[c];
      float* dst = out + static_cast<size_t>(c) * n;
      const float* lut = table[c];
      for (size_t i = 0; i < n; ++i) dst[i] = lut[src[i * stride]];
    }
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = pixels + i * stride;
    for (int c = 0; c < channels; ++c) *out++ = table[c][p[plan.source[c]]];
  }
}

// `v` clamped to [0, 255], then rounded to nearest, ties to even: std::nearbyint's result
// in the default rounding mode, without its libm call (the baseline x86-64 build has no
// SSE4.1 round instruction) — adding and subtracting 2^23 rounds a float in [0, 2^23) to
// an integer (IEEE arithmetic: the compiler may not fold it).
inline uint8_t RoundToUInt8(float v) {
  constexpr float kTwo23 = 8388608.0f;
  const float clamped = std::min(std::max(v, 0.0f), 255.0f);
  return static_cast<uint8_t>(static_cast<int>((clamped + kTwo23) - kTwo23));
}

// ImageToTensor's UINT8 output for an 8-bit image of the output's own size (no
// resampling, no luma): each value is its sample, exactly what the general path's
// identity resample and rounding give, in NCHW or NHWC. An NHWC output whose channels
// are the image's own, in order (RGB from RGB, gray from gray), is one copy.
void StoreSameSizeUInt8(const Image& image, const ChannelPlan& plan, Layout layout, uint8_t* out) {
  const uint8_t* pixels = image.pixels<uint8_t>();
  const size_t n = static_cast<size_t>(image.width) * static_cast<size_t>(image.height);
  const size_t stride = static_cast<size_t>(image.channels);
  const int channels = plan.channels;
  if (layout == Layout::kNCHW) {
    for (int c = 0; c < channels; ++c) {
      const uint8_t* src = pixels + plan.source[c];
      uint8_t* dst = out + static_cast<size_t>(c) * n;
      for (size_t i = 0; i < n; ++i) dst[i] = src[i * stride];
    }
    return;
  }
  bool in_order = stride == static_cast<size_t>(channels);
  for (int c = 0; c < channels; ++c) in_order = in_order && plan.source[c] == c;
  if (in_order) {
    std::memcpy(out, pixels, n * stride);
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = pixels + i * stride;
    for (int c = 0; c < channels; ++c) *out++ = p[plan.source[c]];
  }
}

std::string SizeString(const std::pair<int, int>& size) {
  return absl::StrCat(size.first, "x", size.second);
}

Status CheckPerChannel(std::string_view name, const std::vector<float>& values, int channels) {
  if (!values.empty() && values.size() != 1 && values.size() != static_cast<size_t>(channels)) {
    return absl::InvalidArgumentError(absl::StrCat("input spec: ", std::string(name), " has ",
                                                   values.size(), " values, expected 1 or ",
                                                   channels));
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("input spec: ", std::string(name), "[", i, "] is not finite"));
    }
  }
  return absl::OkStatus();
}

float PerChannel(const std::vector<float>& values, int c, float fallback) {
  if (values.empty()) return fallback;
  return values.size() == 1 ? values[0] : values[c];
}

}  // namespace

StatusOr<ColorMode> ParseColorMode(std::string_view s) {
  const std::string lower = absl::AsciiStrToLower(std::string(s));
  if (lower == "gray") return ColorMode::kGray;
  if (lower == "rgb") return ColorMode::kRgb;
  if (lower == "bgr") return ColorMode::kBgr;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown color mode '", std::string(s), "' (expected gray, rgb or bgr)"));
}

StatusOr<Interpolation> ParseInterpolation(std::string_view s) {
  const std::string lower = absl::AsciiStrToLower(std::string(s));
  if (lower == "bilinear") return Interpolation::kBilinear;
  if (lower == "nearest") return Interpolation::kNearest;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown interpolation '", std::string(s), "' (expected bilinear or nearest)"));
}

StatusOr<Layout> ParseLayout(std::string_view s) {
  const std::string upper = absl::AsciiStrToUpper(std::string(s));
  if (upper == "NCHW") return Layout::kNCHW;
  if (upper == "NHWC") return Layout::kNHWC;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown layout '", std::string(s), "' (expected NCHW or NHWC)"));
}

StatusOr<ResizeMode> ParseResizeMode(std::string_view s) {
  const std::string lower = absl::AsciiStrToLower(std::string(s));
  if (lower == "stretch") return ResizeMode::kStretch;
  if (lower == "letterbox") return ResizeMode::kLetterbox;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown resize mode '", std::string(s), "' (expected stretch or letterbox)"));
}

std::pair<int, int> ContentSize(int height, int width, const InputSpec& spec) {
  if (!spec.size) return {height, width};
  const auto [h, w] = *spec.size;
  if (spec.resize == ResizeMode::kStretch) return {h, w};
  const double factor = std::min(static_cast<double>(h) / height, static_cast<double>(w) / width);
  auto side = [factor](int n, int limit) {
    return std::clamp(static_cast<int>(std::lround(n * factor)), 1, limit);
  };
  return {side(height, h), side(width, w)};
}

Status ValidateInputSpec(const InputSpec& spec) {
  if (spec.resize == ResizeMode::kLetterbox && !spec.size.has_value()) {
    return absl::InvalidArgumentError("input spec: resize letterbox needs a fixed size");
  }
  if (spec.size.has_value()) {
    const auto [height, width] = *spec.size;
    if (height <= 0 || width <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("input spec: size must be positive, got ", SizeString(*spec.size)));
    }
    if (static_cast<int64_t>(height) * width > kMaxOutputPixels) {
      return absl::InvalidArgumentError(
          absl::StrCat("input spec: size ", SizeString(*spec.size), " is too large"));
    }
  }
  const int channels = spec.channels();
  RETURN_IF_ERROR(CheckPerChannel("mean", spec.mean, channels));
  RETURN_IF_ERROR(CheckPerChannel("std", spec.std, channels));
  for (size_t i = 0; i < spec.std.size(); ++i) {
    if (spec.std[i] == 0.0f) {
      return absl::InvalidArgumentError(absl::StrCat("input spec: std[", i, "] is zero"));
    }
  }
  if (spec.scale.has_value() && !std::isfinite(*spec.scale)) {
    return absl::InvalidArgumentError("input spec: scale is not finite");
  }
  if (spec.dtype != DType::kFP32 && spec.dtype != DType::kUInt8) {
    return absl::InvalidArgumentError(absl::StrCat("input spec: dtype ",
                                                   std::string(DTypeName(spec.dtype)),
                                                   " is not supported (FP32 or UINT8)"));
  }
  return absl::OkStatus();
}

StatusOr<Tensor> ImageToTensor(const Image& image, const InputSpec& spec) {
  RETURN_IF_ERROR(ValidateInputSpec(spec));
  if (image.width <= 0 || image.height <= 0 || image.channels <= 0) {
    return absl::InvalidArgumentError("empty image");
  }
  if (image.data.size() != image.row_bytes() * static_cast<size_t>(image.height)) {
    return absl::InvalidArgumentError(
        absl::StrCat("image data has ", image.data.size(), " bytes, expected ",
                     image.row_bytes() * static_cast<size_t>(image.height), " for ", image.width,
                     "x", image.height, "x", image.channels));
  }
  if (spec.dtype == DType::kUInt8 && image.type != PixelType::kUInt8) {
    return absl::InvalidArgumentError("dtype UINT8 needs an 8-bit image");
  }

  const int height = spec.size ? spec.size->first : image.height;
  const int width = spec.size ? spec.size->second : image.width;
  const std::pair<int, int> content = ContentSize(image.height, image.width, spec);
  const int content_height = content.first;
  const int content_width = content.second;
  const ChannelPlan plan = PlanChannels(image.channels, spec.color);
  const int channels = plan.channels;
  const bool nearest = spec.interpolation == Interpolation::kNearest;
  const AxisTaps xs =
      nearest ? NearestTaps(image.width, content_width) : BilinearTaps(image.width, content_width);
  const AxisTaps ys = nearest ? NearestTaps(image.height, content_height)
                              : BilinearTaps(image.height, content_height);

  Shape shape = spec.layout == Layout::kNCHW ? Shape{1, channels, height, width}
                                             : Shape{1, height, width, channels};
  // Zeros where letterbox padding leaves room; otherwise every element is written below.
  const bool padded = content_width != width || content_height != height;
  Tensor tensor = padded ? Tensor(spec.dtype, std::move(shape))
                         : Tensor::Uninitialized(spec.dtype, std::move(shape));

  const bool same_size = !plan.luma && width == image.width && height == image.height &&
                         content_width == width && content_height == height;
  if (spec.dtype == DType::kUInt8) {
    if (same_size) {
      StoreSameSizeUInt8(image, plan, spec.layout, tensor.data_as<uint8_t>());
      return tensor;
    }
    auto round = [](float v, int /*c*/) { return RoundToUInt8(v); };
    uint8_t* out = tensor.data_as<uint8_t>();
    if (spec.layout == Layout::kNHWC) {
      // The interleaved row is already in NHWC order: one flat loop over locals (a
      // uint8_t store may alias anything, so captured values would be reloaded).
      const size_t row_values = static_cast<size_t>(content_width) * channels;
      const size_t row_stride = static_cast<size_t>(width) * channels;
      Resample(image, plan, xs, ys, [out, row_values, row_stride](int y, const float* row) {
        uint8_t* const dst = out + static_cast<size_t>(y) * row_stride;
        const size_t n = row_values;
        for (size_t i = 0; i < n; ++i) dst[i] = RoundToUInt8(row[i]);
      });
      return tensor;
    }
    Resample(image, plan, xs, ys, [&](int y, const float* row) {
      StoreRow(spec.layout, y, row, content_width, width, height, channels, round, out);
    });
    return tensor;
  }

  const float scale = static_cast<float>(spec.scale.value_or(1.0 / image.max_value()));
  float mean[3];
  float stdev[3];
  for (int c = 0; c < channels; ++c) {
    mean[c] = PerChannel(spec.mean, c, 0.0f);
    stdev[c] = PerChannel(spec.std, c, 1.0f);
  }
  auto normalize = [&](float v, int c) { return (v * scale - mean[c]) / stdev[c]; };
  float* out = tensor.data_as<float>();
  if (image.type == PixelType::kUInt8 && same_size) {
    // The model's own size (no letterbox padding either), 8-bit samples, no luma (the
    // common classifier request): each value straight from its sample, the same
    // expression as `normalize`, one channel plane at a time — no row buffer, no
    // per-row hand-over.
    StoreSameSize(image, plan, spec.layout, scale, mean, stdev, out);
    return tensor;
  }
  Resample(image, plan, xs, ys, [&](int y, const float* row) {
    StoreRow(spec.layout, y, row, content_width, width, height, channels, normalize, out);
  });
  return tensor;
}

}  // namespace infera
