#include "runners/cellpose_tiles.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/strings.h"

namespace infera {

namespace {

constexpr int kPadDivisor = 16;  // pad_image_ND's div
constexpr int kPadExtra = 1;     // pad_image_ND's extra

struct AxisPad {
  int before = 0;
  int after = 0;
};

// Padding of one axis of `length` for tiles of `tile` (see the file comment of
// the header).
AxisPad PadAxis(int length, int tile) {
  const int64_t rounded =
      static_cast<int64_t>(kPadDivisor) * ((length + kPadDivisor - 1) / kPadDivisor);
  const int p = static_cast<int>(rounded - length);
  AxisPad pad;
  pad.before = kPadExtra * kPadDivisor / 2 + p / 2;
  pad.after = kPadExtra * kPadDivisor / 2 + p - p / 2;
  const int64_t padded = static_cast<int64_t>(length) + pad.before + pad.after;
  if (padded < tile) {
    const int more = static_cast<int>(tile - padded);
    pad.before += more / 2;
    pad.after += more - more / 2;
  }
  return pad;
}

Status Require(bool ok, std::string_view field) {
  if (ok) return absl::OkStatus();
  return absl::InternalError(
      StrCat("cellpose: the tile plan in the runner context has a missing "
             "or invalid '",
             field, "'"));
}

}  // namespace

StatusOr<cellpose::TileLayout> CellposeTilePlan::Layout() const {
  return cellpose::MakeTileLayout(padded_height, padded_width, tile_size, tile_overlap);
}

nlohmann::json CellposeTilePlan::ToJson() const {
  return {{"source_height", source_height},
          {"source_width", source_width},
          {"rescale", rescale},
          {"rescaled_height", rescaled_height},
          {"rescaled_width", rescaled_width},
          {"pad_top", pad_top},
          {"pad_left", pad_left},
          {"padded_height", padded_height},
          {"padded_width", padded_width},
          {"tile_size", tile_size},
          {"tile_overlap", tile_overlap}};
}

StatusOr<CellposeTilePlan> CellposeTilePlan::FromJson(const nlohmann::json& context) {
  RETURN_IF_ERROR(Require(context.is_object(), "context"));
  CellposeTilePlan plan;
  auto get_int = [&](const char* name, int* out) -> Status {
    auto it = context.find(name);
    const bool ok = it != context.end() && it->is_number_integer() && it->get<int64_t>() >= 0 &&
                    it->get<int64_t>() <= cellpose::kMaxSide;
    RETURN_IF_ERROR(Require(ok, name));
    *out = it->get<int>();
    return absl::OkStatus();
  };
  auto get_double = [&](const char* name, double* out) -> Status {
    auto it = context.find(name);
    const bool ok = it != context.end() && it->is_number() && std::isfinite(it->get<double>());
    RETURN_IF_ERROR(Require(ok, name));
    *out = it->get<double>();
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(get_int("source_height", &plan.source_height));
  RETURN_IF_ERROR(get_int("source_width", &plan.source_width));
  RETURN_IF_ERROR(get_double("rescale", &plan.rescale));
  RETURN_IF_ERROR(get_int("rescaled_height", &plan.rescaled_height));
  RETURN_IF_ERROR(get_int("rescaled_width", &plan.rescaled_width));
  RETURN_IF_ERROR(get_int("pad_top", &plan.pad_top));
  RETURN_IF_ERROR(get_int("pad_left", &plan.pad_left));
  RETURN_IF_ERROR(get_int("padded_height", &plan.padded_height));
  RETURN_IF_ERROR(get_int("padded_width", &plan.padded_width));
  RETURN_IF_ERROR(get_int("tile_size", &plan.tile_size));
  RETURN_IF_ERROR(get_double("tile_overlap", &plan.tile_overlap));
  const bool fits =
      plan.source_height >= 1 && plan.source_width >= 1 && plan.rescaled_height >= 1 &&
      plan.rescaled_width >= 1 && plan.tile_size >= 1 &&
      static_cast<int64_t>(plan.pad_top) + plan.rescaled_height <= plan.padded_height &&
      static_cast<int64_t>(plan.pad_left) + plan.rescaled_width <= plan.padded_width;
  RETURN_IF_ERROR(Require(fits, "sizes"));
  return plan;
}

StatusOr<CellposeTilePlan> MakeCellposeTilePlan(int height, int width, double rescale,
                                                int tile_size, double tile_overlap) {
  if (height < 1 || width < 1 || height > cellpose::kMaxSide || width > cellpose::kMaxSide) {
    return absl::InvalidArgumentError(
        StrCat("cannot plan tiles for a ", height, "x", width, " image"));
  }
  if (!(rescale > 0.0) || !std::isfinite(rescale)) {
    return absl::InvalidArgumentError(StrCat("rescale must be a positive number, got ", rescale));
  }
  if (tile_size < 1) {
    return absl::InvalidArgumentError(StrCat("tile size must be >= 1, got ", tile_size));
  }
  CellposeTilePlan plan;
  plan.source_height = height;
  plan.source_width = width;
  plan.rescale = rescale;
  plan.tile_size = tile_size;
  plan.tile_overlap = tile_overlap;
  if (rescale == 1.0) {
    plan.rescaled_height = height;
    plan.rescaled_width = width;
  } else {
    // transforms.resize_image: Ly = int(Ly * rsz), in double.
    const double h = std::floor(height * rescale);
    const double w = std::floor(width * rescale);
    if (h < 1.0 || w < 1.0 || h * w > static_cast<double>(kMaxCellposeRescaledPixels) ||
        h > cellpose::kMaxSide || w > cellpose::kMaxSide) {
      return absl::InvalidArgumentError(
          StrCat("rescaling the ", height, "x", width, " image by ", rescale, " gives ", h, "x", w,
                 " pixels; it must have at least 1 and at most ", kMaxCellposeRescaledPixels,
                 " pixels (check diameter)"));
    }
    plan.rescaled_height = static_cast<int>(h);
    plan.rescaled_width = static_cast<int>(w);
  }
  const AxisPad y = PadAxis(plan.rescaled_height, tile_size);
  const AxisPad x = PadAxis(plan.rescaled_width, tile_size);
  plan.pad_top = y.before;
  plan.pad_left = x.before;
  plan.padded_height = plan.rescaled_height + y.before + y.after;
  plan.padded_width = plan.rescaled_width + x.before + x.after;
  if (plan.padded_height > cellpose::kMaxSide || plan.padded_width > cellpose::kMaxSide) {
    return absl::InvalidArgumentError(StrCat("the padded image (", plan.padded_height, "x",
                                             plan.padded_width, ") is too large to tile"));
  }
  return plan;
}

StatusOr<std::vector<Tensor>> CutTiles(const Image& image, const CellposeTilePlan& plan,
                                       int model_channels, Layout layout) {
  if (image.type != PixelType::kFloat32 || image.height != plan.rescaled_height ||
      image.width != plan.rescaled_width || image.channels < 1 ||
      image.data.size() != image.row_bytes() * static_cast<size_t>(image.height)) {
    return absl::InvalidArgumentError(StrCat("CutTiles needs a float32 image of ",
                                             plan.rescaled_height, "x", plan.rescaled_width,
                                             ", got ", image.height, "x", image.width));
  }
  if (model_channels < 1) {
    return absl::InvalidArgumentError(StrCat("model_channels must be >= 1, got ", model_channels));
  }
  ASSIGN_OR_RETURN(const cellpose::TileLayout tiles, plan.Layout());
  const int t = plan.tile_size;
  if (tiles.tile_height != t || tiles.tile_width != t) {
    return absl::InvalidArgumentError(StrCat("the ", plan.padded_height, "x", plan.padded_width,
                                             " image does not hold ", t, "x", t, " tiles"));
  }
  const int c_in = image.channels;
  const int c_used = std::min(c_in, model_channels);
  const float* src = image.pixels<float>();
  const size_t plane = static_cast<size_t>(t) * static_cast<size_t>(t);
  std::vector<Tensor> out;
  out.reserve(tiles.tiles.size());
  for (const cellpose::TileRect& rect : tiles.tiles) {
    Tensor tensor = layout == Layout::kNHWC ? Tensor(DType::kFP32, {1, t, t, model_channels})
                                            : Tensor(DType::kFP32, {1, model_channels, t, t});
    float* dst = tensor.data_as<float>();
    std::memset(dst, 0, tensor.byte_size());
    for (int ty = 0; ty < t; ++ty) {
      const int y = rect.top + ty - plan.pad_top;  // row in the rescaled image
      if (y < 0 || y >= image.height) continue;
      for (int tx = 0; tx < t; ++tx) {
        const int x = rect.left + tx - plan.pad_left;
        if (x < 0 || x >= image.width) continue;
        const float* px = src + (static_cast<size_t>(y) * image.width + x) * c_in;
        const size_t pos = static_cast<size_t>(ty) * t + tx;
        for (int c = 0; c < c_used; ++c) {
          if (layout == Layout::kNHWC) {
            dst[pos * model_channels + c] = px[c];
          } else {
            dst[static_cast<size_t>(c) * plane + pos] = px[c];
          }
        }
      }
    }
    out.push_back(std::move(tensor));
  }
  return out;
}

StatusOr<std::vector<float>> BlendTiles(const CellposeTilePlan& plan,
                                        const std::vector<std::span<const float>>& tiles,
                                        int channels) {
  ASSIGN_OR_RETURN(const cellpose::TileLayout layout, plan.Layout());
  if (tiles.size() != layout.tiles.size()) {
    return absl::InvalidArgumentError(
        StrCat("the plan has ", layout.tiles.size(), " tiles, got ", tiles.size(), " outputs"));
  }
  ASSIGN_OR_RETURN(cellpose::TileBlender blender, cellpose::TileBlender::Create(layout, channels));
  for (size_t i = 0; i < tiles.size(); ++i) RETURN_IF_ERROR(blender.Add(i, tiles[i]));
  ASSIGN_OR_RETURN(const std::vector<float> padded, blender.Finish());
  const size_t h = static_cast<size_t>(plan.rescaled_height);
  const size_t w = static_cast<size_t>(plan.rescaled_width);
  const size_t padded_plane =
      static_cast<size_t>(plan.padded_height) * static_cast<size_t>(plan.padded_width);
  std::vector<float> out(static_cast<size_t>(channels) * h * w);
  for (size_t c = 0; c < static_cast<size_t>(channels); ++c) {
    for (size_t y = 0; y < h; ++y) {
      const float* row = padded.data() + c * padded_plane +
                         (y + static_cast<size_t>(plan.pad_top)) * plan.padded_width +
                         static_cast<size_t>(plan.pad_left);
      std::memcpy(out.data() + (c * h + y) * w, row, w * sizeof(float));
    }
  }
  return out;
}

}  // namespace infera
