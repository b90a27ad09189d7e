// Tests for cellpose/tiling.h: tile counts and starts as Cellpose computes them, every pixel
// covered, small images, the taper's shape, blending a constant, an image 3x the tile size
// through an identity "model", tile bookkeeping, and invalid inputs.
#include "cellpose/tiling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "cellpose/synthetic_cells.h"

namespace infera::cellpose {
namespace {

std::vector<int> Tops(const TileLayout& layout) {
  std::vector<int> tops;
  for (const TileRect& t : layout.tiles) {
    if (t.left == 0) tops.push_back(t.top);
  }
  return tops;
}

std::vector<int> Lefts(const TileLayout& layout) {
  std::vector<int> lefts;
  for (const TileRect& t : layout.tiles) {
    if (t.top == 0) lefts.push_back(t.left);
  }
  return lefts;
}

TEST(MakeTileLayoutTest, CountsAndStartsFollowCellpose) {
  // 500: ceil(1.2 * 500 / 224) = 3 tiles, linspace(0, 276, 3) = 0, 138, 276.
  // 672: ceil(1.2 * 672 / 224) = 4 tiles, linspace(0, 448, 4) = 0, 149.33, 298.67, 448.
  auto layout = MakeTileLayout(500, 672);
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->tile_height, 224);
  EXPECT_EQ(layout->tile_width, 224);
  EXPECT_EQ(Tops(*layout), (std::vector<int>{0, 138, 276}));
  EXPECT_EQ(Lefts(*layout), (std::vector<int>{0, 149, 298, 448}));
  ASSERT_EQ(layout->tiles.size(), 12u);
  // Row of tiles by row of tiles.
  EXPECT_EQ(layout->tiles[1].top, 0);
  EXPECT_EQ(layout->tiles[1].left, 149);
  EXPECT_EQ(layout->tiles[4].top, 138);
  EXPECT_EQ(layout->tiles[4].left, 0);
}

TEST(MakeTileLayoutTest, OverlapIsClampedAndChangesTheCount) {
  // overlap 0.5 (and above): ceil(2 * 500 / 224) = 5; overlap 0 -> 0.05: ceil(1.1 * 500 /
  // 224) = 3; 225 px with overlap 0.05: ceil(1.1 * 225 / 224) = 2.
  EXPECT_EQ(Tops(MakeTileLayout(500, 10, 224, 0.5).value()).size(), 5u);
  EXPECT_EQ(Tops(MakeTileLayout(500, 10, 224, 3.0).value()).size(), 5u);
  EXPECT_EQ(Tops(MakeTileLayout(500, 10, 224, 0.0).value()).size(), 3u);
  EXPECT_EQ(Tops(MakeTileLayout(225, 10, 224, 0.0).value()), (std::vector<int>{0, 1}));
  EXPECT_EQ(Tops(MakeTileLayout(224, 10, 224, 0.5).value()), (std::vector<int>{0}));
}

TEST(MakeTileLayoutTest, SmallImageIsOneTileOfItsOwnSize) {
  auto layout = MakeTileLayout(100, 80);
  ASSERT_TRUE(layout.ok());
  ASSERT_EQ(layout->tiles.size(), 1u);
  EXPECT_EQ(layout->tile_height, 100);
  EXPECT_EQ(layout->tile_width, 80);
  // One side small, the other tiled.
  layout = MakeTileLayout(50, 1000, 256);
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(layout->tile_height, 50);
  EXPECT_EQ(layout->tile_width, 256);
  EXPECT_EQ(layout->tiles.size(), 5u);  // ceil(1.2 * 1000 / 256) = 5
}

TEST(MakeTileLayoutTest, TilesCoverEveryPixelAndStayInside) {
  for (int h : {1, 7, 224, 225, 300, 449, 1000}) {
    for (int w : {1, 223, 512, 673}) {
      auto layout = MakeTileLayout(h, w);
      ASSERT_TRUE(layout.ok()) << h << "x" << w;
      std::vector<int> covered(static_cast<size_t>(h) * w, 0);
      for (const TileRect& t : layout->tiles) {
        ASSERT_GE(t.top, 0);
        ASSERT_GE(t.left, 0);
        ASSERT_LE(t.top + t.height, h);
        ASSERT_LE(t.left + t.width, w);
        for (int y = t.top; y < t.top + t.height; ++y) {
          for (int x = t.left; x < t.left + t.width; ++x) ++covered[static_cast<size_t>(y) * w + x];
        }
      }
      for (size_t i = 0; i < covered.size(); ++i) ASSERT_GT(covered[i], 0) << h << "x" << w;
    }
  }
}

TEST(TaperMaskTest, NearOneInTheMiddleSmallAtTheEdgesAndSymmetric) {
  const std::vector<double> m = TaperMask(224, 224);
  ASSERT_EQ(m.size(), 224u * 224u);
  auto at = [&](int y, int x) { return m[static_cast<size_t>(y) * 224 + x]; };
  // Centre: distance 0.5 from c = 111.5: w = 1 / (1 + exp((0.5 - 92) / 7.5)).
  const double w_mid = 1.0 / (1.0 + std::exp((0.5 - 92.0) / 7.5));
  EXPECT_NEAR(at(112, 112), w_mid * w_mid, 1e-12);
  // Edge: distance 111.5: w = 1 / (1 + exp(19.5 / 7.5)).
  const double w_edge = 1.0 / (1.0 + std::exp(19.5 / 7.5));
  EXPECT_NEAR(at(0, 112), w_edge * w_mid, 1e-12);
  EXPECT_NEAR(at(0, 0), w_edge * w_edge, 1e-12);
  EXPECT_LT(at(0, 0), 0.01);
  EXPECT_GT(at(0, 0), 0.0);
  for (int y = 0; y < 224; ++y) {
    for (int x = 0; x < 224; ++x) {
      ASSERT_DOUBLE_EQ(at(y, x), at(223 - y, x));
      ASSERT_DOUBLE_EQ(at(y, x), at(x, y));
    }
  }
  // A smaller tile is the centre crop of the 224 profile: its edge weights stay high.
  const std::vector<double> small = TaperMask(100, 60);
  const int off_y = 112 - 50, off_x = 112 - 30;
  EXPECT_DOUBLE_EQ(small[0], at(off_y, off_x));
  EXPECT_DOUBLE_EQ(small[99 * 60 + 59], at(off_y + 99, off_x + 59));
  EXPECT_GT(small[0], 0.99);
}

// Runs `image` (channels x h x w) through the tiles of `layout` with an identity model and
// blends the outputs back.
StatusOr<std::vector<float>> IdentityThroughTiles(const std::vector<float>& image, int channels,
                                                  const TileLayout& layout) {
  const int h = layout.image_height, w = layout.image_width;
  ASSIGN_OR_RETURN(TileBlender blender, TileBlender::Create(layout, channels));
  std::vector<float> tile(static_cast<size_t>(channels) * layout.tile_height * layout.tile_width);
  for (size_t k = 0; k < layout.tiles.size(); ++k) {
    const TileRect& t = layout.tiles[k];
    for (int c = 0; c < channels; ++c) {
      for (int y = 0; y < t.height; ++y) {
        for (int x = 0; x < t.width; ++x) {
          tile[(static_cast<size_t>(c) * t.height + y) * t.width + x] =
              image[(static_cast<size_t>(c) * h + t.top + y) * w + t.left + x];
        }
      }
    }
    RETURN_IF_ERROR(blender.Add(k, tile));
  }
  return blender.Finish();
}

TEST(TileBlenderTest, BlendingAConstantGivesTheConstant) {
  auto layout = MakeTileLayout(300, 500);
  ASSERT_TRUE(layout.ok());
  const std::vector<float> image(size_t{300} * 500 * 2, -3.25f);
  auto out = IdentityThroughTiles(image, 2, *layout);
  ASSERT_TRUE(out.ok()) << out.status();
  for (size_t i = 0; i < out->size(); ++i) ASSERT_NEAR((*out)[i], -3.25f, 1e-5f) << i;
}

TEST(TileBlenderTest, ImageThreeTilesWideThroughAnIdentityModelIsReproduced) {
  const int h = 3 * 224, w = 3 * 224, channels = 3;
  std::vector<float> image(static_cast<size_t>(channels) * h * w);
  cellpose::SplitMix64 rng(11);
  for (float& v : image) v = static_cast<float>(rng.Uniform(-10, 10));
  auto layout = MakeTileLayout(h, w);
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(layout->tiles.size(), 16u);
  auto out = IdentityThroughTiles(image, channels, *layout);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), image.size());
  for (size_t i = 0; i < image.size(); ++i) {
    ASSERT_NEAR((*out)[i], image[i], 1e-4f * (1.0f + std::abs(image[i]))) << i;
  }
}

TEST(TileBlenderTest, OverlapsAreWeightedByTheTaper) {
  // Tiles that output their own index: where two overlap, the result lies strictly
  // between, closer to the tile whose centre is nearer.
  auto layout = MakeTileLayout(224, 300);  // 2 tiles: lefts 0 and 76
  ASSERT_TRUE(layout.ok());
  ASSERT_EQ(layout->tiles.size(), 2u);
  auto blender = TileBlender::Create(*layout, 1);
  ASSERT_TRUE(blender.ok());
  ASSERT_TRUE(blender->Add(0, std::vector<float>(size_t{224} * 224, 0.0f)).ok());
  ASSERT_TRUE(blender->Add(1, std::vector<float>(size_t{224} * 224, 1.0f)).ok());
  auto out = blender->Finish();
  ASSERT_TRUE(out.ok());
  auto at = [&](int x) { return (*out)[100 * 300 + x]; };
  EXPECT_EQ(at(10), 0.0f);            // only tile 0
  EXPECT_NEAR(at(290), 1.0f, 1e-6f);  // only tile 1
  EXPECT_NEAR(at(149), 0.5f, 0.05f);  // the middle of the overlap [76, 224)
  EXPECT_LT(at(80), 0.2f);            // at tile 1's edge, where its taper is small
  EXPECT_GT(at(220), 0.8f);           // at tile 0's edge
}

TEST(TileBlenderTest, BookkeepingErrors) {
  auto layout = MakeTileLayout(300, 300);
  ASSERT_TRUE(layout.ok());
  auto blender = TileBlender::Create(*layout, 2);
  ASSERT_TRUE(blender.ok());
  const std::vector<float> tile(size_t{2} * 224 * 224, 1.0f);
  EXPECT_EQ(blender->Finish().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(blender->Add(layout->tiles.size(), tile).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(blender->Add(0, std::vector<float>(size_t{224} * 224, 1.0f)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(blender->Add(0, tile).ok());
  EXPECT_EQ(blender->Add(0, tile).code(), absl::StatusCode::kFailedPrecondition);
  for (size_t k = 1; k < layout->tiles.size(); ++k) ASSERT_TRUE(blender->Add(k, tile).ok());
  EXPECT_TRUE(blender->Finish().ok());
}

TEST(TileBlenderTest, LayoutNotCoveringTheImageIsFailedPrecondition) {
  TileLayout layout;
  layout.image_height = 10;
  layout.image_width = 10;
  layout.tile_height = 5;
  layout.tile_width = 10;
  layout.tiles = {TileRect{0, 0, 5, 10}};
  auto blender = TileBlender::Create(layout, 1);
  ASSERT_TRUE(blender.ok()) << blender.status();
  ASSERT_TRUE(blender->Add(0, std::vector<float>(50, 1.0f)).ok());
  EXPECT_EQ(blender->Finish().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(TilingTest, InvalidInputsAreInvalidArgument) {
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(MakeTileLayout(0, 10).status().code(), kInvalid);
  EXPECT_EQ(MakeTileLayout(10, -1).status().code(), kInvalid);
  EXPECT_EQ(MakeTileLayout(10, 10, 0).status().code(), kInvalid);
  EXPECT_EQ(MakeTileLayout(10, 10, 224, std::nan("")).status().code(), kInvalid);
  TileLayout layout = MakeTileLayout(300, 300).value();
  EXPECT_EQ(TileBlender::Create(layout, 0).status().code(), kInvalid);
  TileLayout outside = layout;
  outside.tiles[0].top = 200;
  EXPECT_EQ(TileBlender::Create(outside, 1).status().code(), kInvalid);
  TileLayout odd_size = layout;
  odd_size.tiles[0].width = 100;
  EXPECT_EQ(TileBlender::Create(odd_size, 1).status().code(), kInvalid);
  TileLayout none = layout;
  none.tiles.clear();
  EXPECT_EQ(TileBlender::Create(none, 1).status().code(), kInvalid);
}

}  // namespace
}  // namespace infera::cellpose
