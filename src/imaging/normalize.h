// Percentile normalisation, as Cellpose (normalize99) and CSBDeep (normalize) prepare
// microscopy images: each channel c is mapped, in float, to
//
//   y = (x - low[c]) / (high[c] - low[c])
//
// where low[c] and high[c] are the channel's `low` and `high` percentiles (1st and 99th
// by default), so the bulk of the intensities lands in [0, 1] whatever the bit depth or
// offset of the camera. Values outside the percentiles map below 0 / above 1 unless
// `clip` is set (CSBDeep's default is not to clip).
//
// Percentiles are numpy's default ("linear") method, in double: with the channel's n
// samples sorted as v, i = (n - 1) * p / 100, f = i - floor(i),
//   percentile = v[floor i] + (v[floor i + 1] - v[floor i]) * f   (f < 0.5)
//              = v[floor i + 1] - (v[floor i + 1] - v[floor i]) * (1 - f)   (f >= 0.5)
// i.e. np.percentile(channel.astype(np.float64), p). Then, in float32:
//   y = (x - float(low)) / float(high - low).
// Non-finite samples (NaN, inf) are left out of the percentiles; they map through the
// formula (NaN stays NaN).
//
// A flat channel (high == low, e.g. a constant channel or one whose 1st and 99th
// percentiles coincide) has no scale: all of its samples become 0, as Cellpose does
// for channels it cannot normalise (CSBDeep would divide by its epsilon and produce
// huge values). A channel with no finite sample is treated the same way.
//
// Pure functions; thread-safe.
#pragma once

#include <vector>

#include "common/status.h"
#include "imaging/image.h"

namespace infera {

struct PercentileOptions {
  double low = 1.0;    // percentile in [0, 100]
  double high = 99.0;  // percentile in [0, 100], above `low`
  bool clip = false;   // clamp the result to [0, 1]
};

// ChannelRange: the low and high percentile of one channel.
struct ChannelRange {
  double low = 0.0;
  double high = 0.0;
};

// The `low` and `high` percentiles of each channel of `image` (any pixel type), as
// described above. 8/16-bit images are counted in a histogram (O(n)); float images are
// partially sorted. InvalidArgument for an empty image, a data size that does not match
// the geometry, or percentiles outside 0 <= low < high <= 100.
StatusOr<std::vector<ChannelRange>> ChannelPercentiles(const Image& image, double low, double high);

// The normalised image: float32, same width, height and channels (pages = 1). Errors as
// ChannelPercentiles.
StatusOr<Image> NormalizePercentiles(const Image& image, const PercentileOptions& options = {});

}  // namespace infera
