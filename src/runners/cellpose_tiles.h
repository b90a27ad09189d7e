// CellposeTilePlan: where the cellpose runner's network calls go on an image,
// and how their outputs come back (Cellpose v3 core.run_net: pad_image_ND,
// make_tiles, average_tiles).
//
// From the source (height x width) to the network:
//   1. rescale: the image is resized (bilinear) to int(height * rescale) x
//   int(width *
//      rescale), rescale = diam_mean / diameter (1: not resized);
//   2. pad (Cellpose v3 pad_image_ND, div = 16, extra = 1): per axis of length
//   L,
//      p = 16 * ceil(L / 16) - L; before = 8 + p / 2, after = 8 + p - p / 2
//      (zeros); then, when the padded length is still below the tile size, more
//      zeros are split the same way (half before, the rest after) so that every
//      tile is a full tile (as v4 does);
//   3. tiles: cellpose::MakeTileLayout(padded height, padded width, tile_size,
//      tile_overlap), each tile one network call of tile_size x tile_size.
// Back: the tile outputs are blended with cellpose::TileBlender (tapered) and
// the padding is cropped off, giving the outputs at the rescaled size (the
// runner resizes them to the source size).
//
// The plan travels from Preprocess to Postprocess in RunnerInput::context
// (ToJson / FromJson). Value type; the functions are pure and thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "cellpose/label_image.h"
#include "cellpose/tiling.h"
#include "common/status.h"
#include "imaging/image.h"
#include "imaging/preprocess.h"
#include "tensor/tensor.h"

namespace infera {

// The largest rescaled image the runner feeds (as many pixels as DecodeImage
// accepts).
inline constexpr int64_t kMaxCellposeRescaledPixels = 100'000'000;

struct CellposeTilePlan {
  int source_height = 0;
  int source_width = 0;
  double rescale = 1.0;
  int rescaled_height = 0;
  int rescaled_width = 0;
  int pad_top = 0;
  int pad_left = 0;
  int padded_height = 0;
  int padded_width = 0;
  int tile_size = 0;
  double tile_overlap = cellpose::kDefaultTileOverlap;

  // True when the network sees another size than the source's.
  bool resized() const {
    return rescaled_height != source_height || rescaled_width != source_width;
  }
  // The tiles over the padded image.
  StatusOr<cellpose::TileLayout> Layout() const;

  nlohmann::json ToJson() const;
  // Internal when `context` is not a plan made by ToJson (a missing or
  // ill-typed field, or sizes that do not fit together).
  static StatusOr<CellposeTilePlan> FromJson(const nlohmann::json& context);
};

// The plan for a height x width source. InvalidArgument when a side is < 1,
// rescale is not a positive finite number, the rescaled image has a side of 0
// or more than kMaxCellposeRescaledPixels pixels, or tile_size < 1.
StatusOr<CellposeTilePlan> MakeCellposeTilePlan(int height, int width, double rescale,
                                                int tile_size, double tile_overlap);

// One FP32 tensor per tile of `plan.Layout()` (in layout order): [1, C, t, t]
// (or [1, t, t, C] for kNHWC), t = plan.tile_size, C = model_channels, cut from
// `image` (the network input at the rescaled size: float32, interleaved) placed
// in the zero-padded frame. Channels of the image beyond C are dropped;
// channels of C beyond the image's are zero. InvalidArgument when the image is
// not float32 of the plan's rescaled size or model_channels < 1.
StatusOr<std::vector<Tensor>> CutTiles(const Image& image, const CellposeTilePlan& plan,
                                       int model_channels, Layout layout);

// The blended outputs at the rescaled size: `channels` planes of
// rescaled_height x rescaled_width (CHW). tiles[i] holds tile i's output,
// channels planes of t x t (CHW). InvalidArgument when the number of tiles or a
// tile's size does not fit the plan.
StatusOr<std::vector<float>> BlendTiles(const CellposeTilePlan& plan,
                                        const std::vector<std::span<const float>>& tiles,
                                        int channels);

}  // namespace infera
