#include "cellpose/tiling.h"

#include <algorithm>
#include <cmath>

#include "common/strings.h"

namespace infera::cellpose {

namespace {

constexpr int kMaxTiledSide = 1 << 24;
constexpr int kTaperMinSize = 224;
constexpr double kTaperEdge = 20.0;
constexpr double kTaperSigma = 7.5;

// Tile starts along one axis: int(linspace(0, length - tile, count)) as numpy computes it
// (i * step, the last one exactly the stop).
std::vector<int> Starts(int length, int tile, int count) {
  std::vector<int> starts(static_cast<size_t>(count));
  const double stop = static_cast<double>(length - tile);
  if (count == 1) {
    starts[0] = 0;
    return starts;
  }
  const double step = stop / static_cast<double>(count - 1);
  for (int i = 0; i < count; ++i) {
    starts[static_cast<size_t>(i)] = static_cast<int>(i == count - 1 ? stop : i * step);
  }
  return starts;
}

int TileCount(int length, int tile_size, double overlap) {
  if (length <= tile_size) return 1;
  return static_cast<int>(std::ceil((1.0 + 2.0 * overlap) * length / tile_size));
}

// The 1-D taper of a tile of `length` cut from the centre of a `full`-long profile.
std::vector<double> Taper1D(int length, int full) {
  const double centre = (full - 1) / 2.0;  // the mean of arange(full)
  const int offset = full / 2 - length / 2;
  std::vector<double> w(static_cast<size_t>(length));
  for (int t = 0; t < length; ++t) {
    const double d = std::abs((t + offset) - centre);
    w[static_cast<size_t>(t)] =
        1.0 / (1.0 + std::exp((d - (full / 2.0 - kTaperEdge)) / kTaperSigma));
  }
  return w;
}

}  // namespace

StatusOr<TileLayout> MakeTileLayout(int height, int width, int tile_size, double tile_overlap) {
  if (height < 1 || width < 1 || height > kMaxTiledSide || width > kMaxTiledSide) {
    return absl::InvalidArgumentError(StrCat("cannot tile an image of ", height, "x", width));
  }
  if (tile_size < 1) {
    return absl::InvalidArgumentError(StrCat("tile size must be >= 1, got ", tile_size));
  }
  if (std::isnan(tile_overlap)) return absl::InvalidArgumentError("tile_overlap must be a number");
  const double overlap = std::clamp(tile_overlap, 0.05, 0.5);
  TileLayout layout;
  layout.image_height = height;
  layout.image_width = width;
  layout.tile_height = std::min(tile_size, height);
  layout.tile_width = std::min(tile_size, width);
  const std::vector<int> ys =
      Starts(height, layout.tile_height, TileCount(height, tile_size, overlap));
  const std::vector<int> xs =
      Starts(width, layout.tile_width, TileCount(width, tile_size, overlap));
  layout.tiles.reserve(ys.size() * xs.size());
  for (int y : ys) {
    for (int x : xs) layout.tiles.push_back(TileRect{y, x, layout.tile_height, layout.tile_width});
  }
  return layout;
}

std::vector<double> TaperMask(int tile_height, int tile_width) {
  const int full = std::max({kTaperMinSize, tile_height, tile_width});
  const std::vector<double> wy = Taper1D(tile_height, full);
  const std::vector<double> wx = Taper1D(tile_width, full);
  std::vector<double> mask(static_cast<size_t>(tile_height) * static_cast<size_t>(tile_width));
  for (int y = 0; y < tile_height; ++y) {
    for (int x = 0; x < tile_width; ++x) {
      // mask * mask[:, newaxis]: the X weight times the Y weight.
      mask[static_cast<size_t>(y) * tile_width + x] =
          wx[static_cast<size_t>(x)] * wy[static_cast<size_t>(y)];
    }
  }
  return mask;
}

StatusOr<TileBlender> TileBlender::Create(const TileLayout& layout, int channels) {
  if (layout.image_height < 1 || layout.image_width < 1 || layout.image_height > kMaxTiledSide ||
      layout.image_width > kMaxTiledSide || layout.tile_height < 1 || layout.tile_width < 1 ||
      layout.tiles.empty()) {
    return absl::InvalidArgumentError(StrCat(
        "invalid tile layout: image ", layout.image_height, "x", layout.image_width, ", tiles ",
        layout.tile_height, "x", layout.tile_width, ", ", layout.tiles.size(), " tiles"));
  }
  if (channels < 1) {
    return absl::InvalidArgumentError(StrCat("channels must be >= 1, got ", channels));
  }
  for (const TileRect& t : layout.tiles) {
    if (t.height != layout.tile_height || t.width != layout.tile_width || t.top < 0 || t.left < 0 ||
        t.top > layout.image_height - t.height || t.left > layout.image_width - t.width) {
      return absl::InvalidArgumentError(
          StrCat("tile at (", t.top, ", ", t.left, ") of ", t.height, "x", t.width,
                 " does not fit the layout's ", layout.tile_height, "x", layout.tile_width,
                 " tiles in a ", layout.image_height, "x", layout.image_width, " image"));
    }
  }
  TileBlender b;
  b.layout_ = layout;
  b.channels_ = channels;
  b.taper_ = TaperMask(layout.tile_height, layout.tile_width);
  const size_t plane =
      static_cast<size_t>(layout.image_height) * static_cast<size_t>(layout.image_width);
  b.sum_.assign(plane * static_cast<size_t>(channels), 0.0f);
  b.weight_.assign(plane, 0.0);
  b.added_.assign(layout.tiles.size(), 0);
  return b;
}

Status TileBlender::Add(size_t index, std::span<const float> tile_output) {
  if (index >= layout_.tiles.size()) {
    return absl::InvalidArgumentError(
        StrCat("tile ", index, " of a layout with ", layout_.tiles.size(), " tiles"));
  }
  const size_t tile_plane =
      static_cast<size_t>(layout_.tile_height) * static_cast<size_t>(layout_.tile_width);
  if (tile_output.size() != tile_plane * static_cast<size_t>(channels_)) {
    return absl::InvalidArgumentError(StrCat("tile ", index, " output has ", tile_output.size(),
                                             " values, expected ", channels_, "x",
                                             layout_.tile_height, "x", layout_.tile_width));
  }
  if (added_[index]) {
    return absl::FailedPreconditionError(StrCat("tile ", index, " was already added"));
  }
  added_[index] = 1;
  const TileRect& t = layout_.tiles[index];
  const size_t plane =
      static_cast<size_t>(layout_.image_height) * static_cast<size_t>(layout_.image_width);
  for (int y = 0; y < t.height; ++y) {
    const size_t row = static_cast<size_t>(t.top + y) * layout_.image_width + t.left;
    const double* w = taper_.data() + static_cast<size_t>(y) * t.width;
    for (int x = 0; x < t.width; ++x) weight_[row + x] += w[x];
    for (int c = 0; c < channels_; ++c) {
      const float* src = tile_output.data() + c * tile_plane + static_cast<size_t>(y) * t.width;
      float* dst = sum_.data() + c * plane + row;
      for (int x = 0; x < t.width; ++x) {
        // float32 accumulator, product and sum in double (numpy's yf += y * mask).
        dst[x] =
            static_cast<float>(static_cast<double>(dst[x]) + static_cast<double>(src[x]) * w[x]);
      }
    }
  }
  return absl::OkStatus();
}

StatusOr<std::vector<float>> TileBlender::Finish() const {
  const size_t missing = static_cast<size_t>(std::count(added_.begin(), added_.end(), 0));
  if (missing > 0) {
    return absl::FailedPreconditionError(
        StrCat(missing, " of ", added_.size(), " tiles were not added"));
  }
  const size_t plane = weight_.size();
  for (size_t i = 0; i < plane; ++i) {
    if (weight_[i] <= 0.0) {
      return absl::FailedPreconditionError(
          StrCat("pixel (", i / static_cast<size_t>(layout_.image_width), ", ",
                 i % static_cast<size_t>(layout_.image_width), ") is covered by no tile"));
    }
  }
  std::vector<float> out(sum_.size());
  for (int c = 0; c < channels_; ++c) {
    for (size_t i = 0; i < plane; ++i) {
      const size_t j = c * plane + i;
      out[j] = static_cast<float>(static_cast<double>(sum_[j]) / weight_[i]);
    }
  }
  return out;
}

}  // namespace infera::cellpose
