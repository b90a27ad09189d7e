// Resize kernels: separable 2-D resampling that reproduces PyTorch's CPU kernels for
// torch.nn.functional.interpolate with mode="bilinear" (align_corners=False,
// antialias=False) and mode="nearest", in float arithmetic, operation for operation:
//
//   out(y, x) = ly0[y] * (lx0[x] * in(y0, x0) + lx1[x] * in(y0, x1))
//             + ly1[y] * (lx0[x] * in(y1, x0) + lx1[x] * in(y1, x1))
//
// i.e. each source row is first resampled along the width (ResampleRow) and the two
// resampled rows are then blended (ResampleRows). Only the source rows that some output
// row needs are resampled, so downscaling touches at most 2 source rows per output row.
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <vector>

namespace infera {

// AxisTaps: for each output index i along one axis,
//   out[i] = lambda0[i] * in[index0[i]] + lambda1[i] * in[index1[i]]
// (or in[index0[i]] exactly when `nearest`).
struct AxisTaps {
  std::vector<int> index0;
  std::vector<int> index1;
  std::vector<float> lambda0;
  std::vector<float> lambda1;
  bool nearest = false;

  int size() const { return static_cast<int>(index0.size()); }
};

// BilinearTaps: torch's compute_source_index_and_lambda with align_corners=False, in
// float as torch >= 2.0 computes it for float tensors (opmath_t = float):
// scale = float(in) / float(out); src = max(scale * (i + 0.5f) - 0.5f, 0);
// index0 = min(floor(src), in - 1); index1 = min(index0 + 1, in - 1);
// lambda1 = clamp(src - index0, 0, 1); lambda0 = 1 - lambda1; and when in == out,
// index1 = index0 = i with lambda (1, 0). (torch 1.x computed src in double, which moves
// weights by a few float ulps.) Requires in_size > 0 and out_size > 0.
AxisTaps BilinearTaps(int in_size, int out_size);

// NearestTaps: torch's nearest_idx: i when in == out, i >> 1 when out == 2 * in,
// otherwise min(floor(float(i) * scale), in - 1) with scale = float(in) / float(out).
// Requires in_size > 0 and out_size > 0.
AxisTaps NearestTaps(int in_size, int out_size);

// ResampleRow: resamples one source row along the width. `row` points at the row's
// first pixel, `pixel_stride` elements apart; `sample(const T* pixel, int c)` returns
// output channel c of a source pixel as float (this is where colour conversion
// happens). Writes cols.size() * channels floats, interleaved, to `out`.
template <typename T, typename Sample>
void ResampleRow(const T* row, size_t pixel_stride, const AxisTaps& cols, int channels,
                 Sample&& sample, float* out) {
  const int n = cols.size();
  if (cols.nearest) {
    for (int x = 0; x < n; ++x) {
      const T* p = row + static_cast<size_t>(cols.index0[x]) * pixel_stride;
      for (int c = 0; c < channels; ++c) *out++ = sample(p, c);
    }
    return;
  }
  for (int x = 0; x < n; ++x) {
    const T* p0 = row + static_cast<size_t>(cols.index0[x]) * pixel_stride;
    const T* p1 = row + static_cast<size_t>(cols.index1[x]) * pixel_stride;
    const float l0 = cols.lambda0[x];
    const float l1 = cols.lambda1[x];
    for (int c = 0; c < channels; ++c) *out++ = l0 * sample(p0, c) + l1 * sample(p1, c);
  }
}

// ResampleRows: produces the output rows in order. `resample_row(int source_row,
// float* out)` fills `row_len` floats (a source row resampled along the width, e.g. by
// ResampleRow); it is called at most once per source row that is needed, in increasing
// order. `emit_row(int y, const float* row)` receives each output row (row_len floats,
// valid only during the call). `scratch` is reused to avoid allocations.
template <typename ResampleRowFn, typename EmitRowFn>
void ResampleRows(const AxisTaps& rows, size_t row_len, std::vector<float>* scratch,
                  ResampleRowFn&& resample_row, EmitRowFn&& emit_row) {
  scratch->resize(3 * row_len);
  float* slot[2] = {scratch->data(), scratch->data() + row_len};
  float* blended = scratch->data() + 2 * row_len;
  int cached[2] = {-1, -1};
  // Returns source row r resampled, evicting a slot that does not hold row `keep`.
  auto get = [&](int r, int keep) -> const float* {
    for (int s = 0; s < 2; ++s) {
      if (cached[s] == r) return slot[s];
    }
    // Keep `keep`; otherwise drop the older row (rows are needed in increasing order).
    const bool evict_1 = cached[0] == keep || (cached[1] != keep && cached[1] < cached[0]);
    const int s = evict_1 ? 1 : 0;
    resample_row(r, slot[s]);
    cached[s] = r;
    return slot[s];
  };
  for (int y = 0; y < rows.size(); ++y) {
    const int r0 = rows.index0[y];
    const int r1 = rows.index1[y];
    const float* a = get(r0, r1);
    if (rows.nearest) {
      emit_row(y, a);
      continue;
    }
    const float* b = r1 == r0 ? a : get(r1, r0);
    const float l0 = rows.lambda0[y];
    const float l1 = rows.lambda1[y];
    for (size_t i = 0; i < row_len; ++i) blended[i] = l0 * a[i] + l1 * b[i];
    emit_row(y, blended);
  }
}

}  // namespace infera
