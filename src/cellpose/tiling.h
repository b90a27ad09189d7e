// Tiled network evaluation as Cellpose v3 does it (transforms.make_tiles, _taper_mask,
// average_tiles), on plain float arrays: where the tiles go, and how their outputs are
// blended back into one image.
//
// Layout, per axis of length L with tile size B (bsize):
//   tile length  = min(B, L)  (v3; to get full B x B tiles as v4 does, pad the image to at
//                  least B per side before laying out and crop the blended result);
//   tile count   = 1 if L <= B, else ceil((1 + 2 * overlap) * L / B), overlap clamped to
//                  [0.05, 0.5];
//   tile starts  = int(linspace(0, L - length, count)).
// Tiles are listed row of tiles by row of tiles (Y outer, X inner).
//
// Blending: each tile's output is multiplied by the taper mask and summed into the image;
// the sum is divided by the summed taper. The taper of a ly x lx tile is the centre crop of
// w(i) * w(j) on a B' x B' square, B' = max(224, ly, lx), w(t) = 1 / (1 + exp((|t - c| -
// (B'/2 - 20)) / 7.5)), c = (B' - 1) / 2 — near 1 in the middle, small at the edges, never 0.
//
// MakeTileLayout and TaperMask are pure and thread-safe; a TileBlender is a value that is
// not thread-safe (one thread adds the tiles of one image).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"

namespace infera::cellpose {

inline constexpr int kDefaultTileSize = 224;  // Cellpose v3 (v4 uses 256)
inline constexpr double kDefaultTileOverlap = 0.1;

struct TileRect {
  int top = 0;
  int left = 0;
  int height = 0;
  int width = 0;
};

struct TileLayout {
  int image_height = 0;
  int image_width = 0;
  int tile_height = 0;  // every tile has this size
  int tile_width = 0;
  std::vector<TileRect> tiles;
};

// The tiles of a height x width image. InvalidArgument when a side is not in [1, 2^24],
// tile_size < 1, or tile_overlap is NaN.
StatusOr<TileLayout> MakeTileLayout(int height, int width, int tile_size = kDefaultTileSize,
                                    double tile_overlap = kDefaultTileOverlap);

// The taper weights of a tile_height x tile_width tile, row-major (double, as Cellpose).
// Precondition: both sides >= 1.
std::vector<double> TaperMask(int tile_height, int tile_width);

// Accumulates tile outputs of `channels` planes each into the full image.
class TileBlender {
 public:
  // InvalidArgument when the layout has no tiles, a non-positive size, a tile that is not
  // tile_height x tile_width or does not fit in the image, or channels < 1.
  static StatusOr<TileBlender> Create(const TileLayout& layout, int channels);

  // Adds the output of tile `index`: channels planes of tile_height x tile_width floats,
  // plane after plane (CHW). InvalidArgument for an index out of range or a wrong size;
  // FailedPrecondition when that tile was already added. Non-finite values are added as
  // they are (they spread only over the pixels of that tile).
  Status Add(size_t index, std::span<const float> tile_output);

  // The blended image, channels planes of image_height x image_width (CHW).
  // FailedPrecondition until every tile has been added.
  StatusOr<std::vector<float>> Finish() const;

 private:
  TileBlender() = default;

  TileLayout layout_;
  int channels_ = 0;
  std::vector<double> taper_;
  std::vector<float> sum_;      // channels x H x W
  std::vector<double> weight_;  // H x W
  std::vector<uint8_t> added_;  // per tile
};

}  // namespace infera::cellpose
