#include "runners/cellpose_input.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/strings.h"
#include "imaging/normalize.h"

namespace infera {

namespace {

// Cellpose's normalize99 threshold: a channel whose percentile range is not
// above this is set to 0.
constexpr double kMinPercentileRange = 1e-3;

Status CheckGeometry(const Image& image) {
  if (image.width <= 0 || image.height <= 0 || image.channels <= 0) {
    return absl::InvalidArgumentError("empty image");
  }
  if (image.data.size() != image.row_bytes() * static_cast<size_t>(image.height)) {
    return absl::InvalidArgumentError("the image's data size does not match its geometry");
  }
  return absl::OkStatus();
}

// Sample `i` (an index into the interleaved samples) as float.
float Sample(const Image& image, size_t i) {
  switch (image.type) {
    case PixelType::kUInt8:
      return static_cast<float>(image.pixels<uint8_t>()[i]);
    case PixelType::kUInt16:
      return static_cast<float>(image.pixels<uint16_t>()[i]);
    case PixelType::kFloat32:
      return image.pixels<float>()[i];
  }
  return 0.0f;  // unreachable
}

}  // namespace

StatusOr<Image> SelectCellposeChannels(const Image& image, CellposeChannels channels) {
  RETURN_IF_ERROR(CheckGeometry(image));
  for (int c : {channels.cyto, channels.nucleus}) {
    if (c < 0 || c > kMaxCellposeChannel) {
      return absl::InvalidArgumentError(StrCat("channels must be between 0 and ",
                                               kMaxCellposeChannel,
                                               " (0 = gray, 1 = R, 2 = G, "
                                               "3 = B), got ",
                                               c));
    }
  }
  const int have = image.channels;
  if (have > 1 && channels.cyto > 0) {
    const int needed = std::max(channels.cyto, channels.nucleus);
    if (needed > have) {
      return absl::InvalidArgumentError(StrCat("channels [", channels.cyto, ", ", channels.nucleus,
                                               "] need an image of at least ", needed,
                                               " channels, but it has ", have));
    }
  }
  Image out = MakeImage(image.width, image.height, 2, PixelType::kFloat32);
  float* dst = out.pixels<float>();
  const size_t n = static_cast<size_t>(image.width) * static_cast<size_t>(image.height);
  const size_t stride = static_cast<size_t>(have);
  if (have == 1) {
    for (size_t i = 0; i < n; ++i) dst[2 * i] = Sample(image, i);
  } else if (channels.cyto == 0) {
    // data.mean(axis=-1) in float32.
    const float count = static_cast<float>(have);
    for (size_t i = 0; i < n; ++i) {
      float sum = 0.0f;
      for (size_t c = 0; c < stride; ++c) sum += Sample(image, i * stride + c);
      dst[2 * i] = sum / count;
    }
  } else {
    const size_t cyto = static_cast<size_t>(channels.cyto - 1);
    for (size_t i = 0; i < n; ++i) dst[2 * i] = Sample(image, i * stride + cyto);
    if (channels.nucleus > 0) {
      const size_t nucleus = static_cast<size_t>(channels.nucleus - 1);
      for (size_t i = 0; i < n; ++i) dst[2 * i + 1] = Sample(image, i * stride + nucleus);
    }
  }
  return out;
}

Status Normalize99(Image& image) {
  RETURN_IF_ERROR(CheckGeometry(image));
  if (image.type != PixelType::kFloat32) {
    return absl::InvalidArgumentError("Normalize99 needs a float32 image");
  }
  ASSIGN_OR_RETURN(std::vector<ChannelRange> ranges, ChannelPercentiles(image, 1.0, 99.0));
  float* data = image.pixels<float>();
  const size_t n = static_cast<size_t>(image.width) * static_cast<size_t>(image.height);
  const size_t stride = static_cast<size_t>(image.channels);
  for (size_t c = 0; c < stride; ++c) {
    // np.ptp: max - min (NaN when a sample is NaN, and NaN > 0 is false:
    // skipped).
    float lo = data[c];
    float hi = data[c];
    bool nan = false;
    for (size_t i = 0; i < n; ++i) {
      const float v = data[i * stride + c];
      if (std::isnan(v)) nan = true;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    if (nan || !(hi - lo > 0.0f)) continue;
    const ChannelRange& r = ranges[c];
    if (r.high - r.low > kMinPercentileRange) {
      const float low = static_cast<float>(r.low);
      const float scale = static_cast<float>(r.high - r.low);
      for (size_t i = 0; i < n; ++i) data[i * stride + c] = (data[i * stride + c] - low) / scale;
    } else {
      for (size_t i = 0; i < n; ++i) data[i * stride + c] = 0.0f;
    }
  }
  return absl::OkStatus();
}

}  // namespace infera
