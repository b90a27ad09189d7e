#include "imaging/resize.h"

#include <algorithm>
#include <cmath>

namespace infera {

AxisTaps BilinearTaps(int in_size, int out_size) {
  AxisTaps taps;
  taps.index0.resize(out_size);
  taps.index1.resize(out_size);
  taps.lambda0.resize(out_size);
  taps.lambda1.resize(out_size);
  if (in_size == out_size) {  // torch copies: no neighbour at all
    for (int i = 0; i < out_size; ++i) {
      taps.index0[i] = taps.index1[i] = i;
      taps.lambda0[i] = 1.0f;
      taps.lambda1[i] = 0.0f;
    }
    return taps;
  }
  const float scale = static_cast<float>(in_size) / static_cast<float>(out_size);
  for (int i = 0; i < out_size; ++i) {
    float src = scale * (static_cast<float>(i) + 0.5f) - 0.5f;
    if (src < 0.0f) src = 0.0f;
    const int i0 = std::min(static_cast<int>(std::floor(src)), in_size - 1);
    const float lambda1 = std::clamp(src - static_cast<float>(i0), 0.0f, 1.0f);
    taps.index0[i] = i0;
    taps.index1[i] = i0 < in_size - 1 ? i0 + 1 : i0;
    taps.lambda1[i] = lambda1;
    taps.lambda0[i] = 1.0f - lambda1;
  }
  return taps;
}

AxisTaps NearestTaps(int in_size, int out_size) {
  AxisTaps taps;
  taps.nearest = true;
  taps.index0.resize(out_size);
  taps.lambda0.assign(out_size, 1.0f);
  taps.lambda1.assign(out_size, 0.0f);
  const float scale = static_cast<float>(in_size) / static_cast<float>(out_size);
  for (int i = 0; i < out_size; ++i) {
    if (out_size == in_size) {
      taps.index0[i] = i;
    } else if (out_size == 2 * in_size) {
      taps.index0[i] = i >> 1;
    } else {
      taps.index0[i] =
          std::min(static_cast<int>(std::floor(static_cast<float>(i) * scale)), in_size - 1);
    }
  }
  taps.index1 = taps.index0;
  return taps;
}

}  // namespace infera
