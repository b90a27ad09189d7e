#include "imaging/normalize.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "common/strings.h"

namespace infera {

namespace {

// numpy's linear percentile of n sorted values, given a way to get the k-th smallest
// value (`at(k)`, 0-based). Requires n > 0.
template <typename At>
double LinearPercentile(size_t n, double percentile, At&& at) {
  const double q = percentile / 100.0;
  const double index = static_cast<double>(n - 1) * q;
  if (index >= static_cast<double>(n - 1)) return at(n - 1);
  if (index < 0) return at(0);
  const double floor_index = std::floor(index);
  const double f = index - floor_index;
  const auto k = static_cast<size_t>(floor_index);
  const double a = at(k);
  const double b = at(k + 1);
  const double diff = b - a;
  return f >= 0.5 ? b - diff * (1.0 - f) : a + diff * f;
}

// Percentiles of channel c of an 8/16-bit image, from a histogram of its values.
template <typename T>
ChannelRange IntegerChannelRange(const Image& image, int c, double low, double high) {
  std::vector<uint64_t> counts(static_cast<size_t>(std::numeric_limits<T>::max()) + 1, 0);
  const T* p = image.pixels<T>();
  const size_t n = static_cast<size_t>(image.width) * image.height;
  const size_t stride = static_cast<size_t>(image.channels);
  for (size_t i = 0; i < n; ++i) ++counts[p[i * stride + c]];
  // The k-th smallest value: walk the cumulative counts. Queries mostly come in
  // increasing order, so the walk resumes where it stopped (and restarts otherwise).
  size_t value = 0;
  uint64_t below = 0;  // samples with a value < `value`
  auto at = [&](size_t k) -> double {
    if (k < below) value = below = 0;
    while (below + counts[value] <= k) below += counts[value++];
    return static_cast<double>(value);
  };
  ChannelRange range;
  range.low = LinearPercentile(n, low, at);
  range.high = LinearPercentile(n, high, at);
  return range;
}

ChannelRange FloatChannelRange(const Image& image, int c, double low, double high) {
  std::vector<float> values;
  const float* p = image.pixels<float>();
  const size_t n = static_cast<size_t>(image.width) * image.height;
  const size_t stride = static_cast<size_t>(image.channels);
  values.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const float v = p[i * stride + c];
    if (std::isfinite(v)) values.push_back(v);
  }
  if (values.empty()) return {};
  // The k-th smallest value; each query partially reorders `values` (still a
  // permutation of the samples).
  auto at = [&](size_t k) -> double {
    std::nth_element(values.begin(), values.begin() + static_cast<long>(k), values.end());
    return static_cast<double>(values[k]);
  };
  ChannelRange range;
  range.low = LinearPercentile(values.size(), low, at);
  range.high = LinearPercentile(values.size(), high, at);
  return range;
}

Status CheckImage(const Image& image) {
  if (image.width <= 0 || image.height <= 0 || image.channels <= 0) {
    return absl::InvalidArgumentError("cannot normalise an empty image");
  }
  if (image.data.size() != image.row_bytes() * static_cast<size_t>(image.height)) {
    return absl::InvalidArgumentError("image data size does not match its geometry");
  }
  return absl::OkStatus();
}

template <typename T>
void Normalize(const Image& image, const std::vector<ChannelRange>& ranges, bool clip, Image* out) {
  const T* src = image.pixels<T>();
  float* dst = out->pixels<float>();
  const int channels = image.channels;
  std::vector<float> lo(channels);
  std::vector<float> span(channels);
  std::vector<bool> flat(channels);
  for (int c = 0; c < channels; ++c) {
    lo[c] = static_cast<float>(ranges[c].low);
    span[c] = static_cast<float>(ranges[c].high - ranges[c].low);
    flat[c] = !(ranges[c].high > ranges[c].low) || !(span[c] > 0.0f);
  }
  const size_t n = static_cast<size_t>(image.width) * image.height;
  for (size_t i = 0; i < n; ++i) {
    for (int c = 0; c < channels; ++c, ++src, ++dst) {
      if (flat[c]) {
        *dst = 0.0f;
        continue;
      }
      float y = (static_cast<float>(*src) - lo[c]) / span[c];
      if (clip) y = std::clamp(y, 0.0f, 1.0f);
      *dst = y;
    }
  }
}

}  // namespace

StatusOr<std::vector<ChannelRange>> ChannelPercentiles(const Image& image, double low,
                                                       double high) {
  RETURN_IF_ERROR(CheckImage(image));
  if (!(low >= 0.0 && low < high && high <= 100.0)) {
    return absl::InvalidArgumentError(StrCat(
        "percentiles must satisfy 0 <= low < high <= 100, got low ", low, " and high ", high));
  }
  std::vector<ChannelRange> ranges(static_cast<size_t>(image.channels));
  for (int c = 0; c < image.channels; ++c) {
    switch (image.type) {
      case PixelType::kUInt8:
        ranges[c] = IntegerChannelRange<uint8_t>(image, c, low, high);
        break;
      case PixelType::kUInt16:
        ranges[c] = IntegerChannelRange<uint16_t>(image, c, low, high);
        break;
      case PixelType::kFloat32:
        ranges[c] = FloatChannelRange(image, c, low, high);
        break;
    }
  }
  return ranges;
}

StatusOr<Image> NormalizePercentiles(const Image& image, const PercentileOptions& options) {
  ASSIGN_OR_RETURN(std::vector<ChannelRange> ranges,
                   ChannelPercentiles(image, options.low, options.high));
  Image out = MakeImage(image.width, image.height, image.channels, PixelType::kFloat32);
  switch (image.type) {
    case PixelType::kUInt8:
      Normalize<uint8_t>(image, ranges, options.clip, &out);
      break;
    case PixelType::kUInt16:
      Normalize<uint16_t>(image, ranges, options.clip, &out);
      break;
    case PixelType::kFloat32:
      Normalize<float>(image, ranges, options.clip, &out);
      break;
  }
  return out;
}

}  // namespace infera
