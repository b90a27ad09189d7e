// CellposeRunner ("cellpose"): instance segmentation of cells and nuclei by a
// Cellpose-style network (Cellpose v2/v3 cyto/nuclei models exported to
// TorchScript), with the mask reconstruction of src/cellpose/ (Cellpose v3's
// CPU path, reference:
// ../shared/reference/cellpose.md).
//
// Model contract: FP32 input [N, C, t, t] (NCHW; NHWC [N, t, t, C] when
// input.layout says so) with C = 2 ([cyto, nucleus], Cellpose v2/v3) or 3 (the
// pair and a zero channel); output (the first output, or the first element of a
// tuple — the backend takes it) FP32 [N, 3, t, t] = (dY, dX, cell-probability
// logit), flows being 5 x unit flows in the network's pixels. t, the tile size,
// is input.size (square) or 224 (Cellpose v3's bsize) when the spec keeps the
// image size. C: the `model_channels` param when not 0, otherwise from
// input.color: gray -> 2 (the spec cannot say 2; "gray" = the model segments
// one grayscale-style [cyto, nucleus] pair), rgb/bgr -> 3. (A 2-channel model
// needs `warmup: false` in its model.yaml while warm-up feeds input.color's
// channel count.)
//
// Preprocess (Cellpose v3 eval -> _run_cp -> run_net):
//   1. channels -> the [cyto, nucleus] float image (runners/cellpose_input.h);
//   2. normalize -> normalize99 per channel (runners/cellpose_input.h);
//   3. diameter > 0 -> resized (bilinear, as torch/cv2) by rescale = diam_mean
//   / diameter
//      to int(H * rescale) x int(W * rescale);
//   4. zero-padded and cut into overlapping t x t tiles
//   (runners/cellpose_tiles.h), one
//      model call (item) [1, C, t, t] per tile, the pair in channels 0-1 and
//      zeros after.
//   context: the tile plan (CellposeTilePlan::ToJson).
// Postprocess: every tile's output checked ([1, 3, t, t] FP32), blended
// (tapered, as Cellpose's average_tiles), the padding cropped; when the image
// was rescaled, dY, dX and the logit are resized (bilinear) back to the source
// size — the flow values are kept as they are, in the network's pixels, as
// Cellpose does (resample=True) and niter makes up for it; then
// cellpose::ComputeMasks with cellprob_threshold, flow_threshold, min_size,
// max_size_fraction and niter (0: int(200 / rescale) = 200 * diameter /
// diam_mean, capped at cellpose::kMaxNiter; 200 without rescaling). Results:
//   "instance_mask": labels 1..N (runners/instance_mask.h: 16-bit PNG; a 32-bit
//   float TIFF
//                    when N > 65535);
//   "class_mask":    8-bit PNG, 255 on every object, 0 elsewhere;
//   "preview":       RGB PNG, the contrast-stretched source with every object's
//   outline in
//                    its palette colour (imaging/outline_overlay.h);
//   summary {"count": N, "width", "height", "foreground_fraction" (object
//   pixels / all),
//            "mean_area" (object pixels / N, 0 without objects),
//            "diameter_used" (diameter, or diam_mean when 0: the image was not
//            rescaled), "tiles" (model calls), "niter", "model_channels"}.
// Params (Cellpose's names and defaults):
//   diameter (number 0..10000, 0: not rescaled), diam_mean (number 1..1000, 30:
//   the diameter the model was trained at; Cellpose's nuclei model uses 17),
//   channels
//   ([cyto, nucleus], integers 0..3, [0, 0]), flow_threshold (number 0..1000,
//   0.4; 0 disables the QC), cellprob_threshold (number -1000..1000, 0.0),
//   min_size (integer -1..1e9, 15; <= 0 disables), niter (integer 0..kMaxNiter,
//   0: see above), tile_overlap (number 0.05..0.5, 0.1), batch_size
//   (integer 1..4096, 8: accepted for compatibility and ignored — tiles are
//   batched by the model's dynamic batcher, max_batch_size), normalize (bool,
//   true; false feeds the raw sample values), max_size_fraction (number 0..1,
//   0.4), model_channels (integer 0, 2 or 3; 0: from input.color).
// Errors: InvalidArgument for bad params (unknown, ill-typed, out of range,
// channels not two integers in 0..3), an image with fewer channels than
// `channels` names (a 1-channel image is always the cyto channel, as in
// Cellpose), a diameter that rescales the image to nothing or to more than
// kMaxCellposeRescaledPixels; Internal naming the model for an input spec that
// is not FP32 or not square, and for outputs that are not one FP32 [1, 3, t, t]
// per tile.
// Training (training/): the trainer feeds crops of CellposeTrainingSide(model) =
// tile size - 16 pixels square, which Preprocess pads into exactly one tile (8 pixels
// of zeros each side, with diameter 0: no rescaling). AnnotationToTarget of such a
// crop's instance labels (8/16-bit, or float holding integers) gives a FP32
// [1, 3, t, t] target in the tile's frame: kFlowTargetScale (5) x the unit flows of
// cellpose::MasksToFlows (dY, dX) and the cell probability (1 inside a cell, 0 outside
// and on the padding); InvalidArgument for another size, a rescaling diameter or
// non-integer labels. Loss "cellpose" (Cellpose's: MSE on the flows / 2 +
// BCE-with-logits on the cell probability). Stateless;
// thread-safe.
#pragma once

#include "runners/runner.h"

namespace infera {

// The flows the network is trained to output: this times the unit flows (Cellpose's 5).
inline constexpr float kFlowTargetScale = 5.0f;

// The side of the square crops cellpose training feeds `model` (tile size - 16);
// InvalidArgument when the tile size is not a multiple of 16 of at least 32.
StatusOr<int> CellposeTrainingSide(const ModelDescription& model);

class CellposeRunner final : public Runner {
 public:
  std::string_view name() const override { return "cellpose"; }
  std::string_view description() const override {
    return "Cellpose instance segmentation: [cyto, nucleus] channels, "
           "percentile "
           "normalisation, diameter rescaling, tiled flows and cell "
           "probability, masks by "
           "flow dynamics (16-bit instance mask, outline preview).";
  }
  nlohmann::json params_schema() const override;
  // 2 for a gray input spec ([cyto, nucleus]), 3 for rgb/bgr (the pair and a zero
  // channel), as the default model_channels param.
  int ModelInputChannels(const ModelDescription& model) const override;
  // Refuses letterbox: `size` is the tile size; images are tiled at their own scale.
  Status CheckInputSpec(const InputSpec& spec) const override;
  StatusOr<nlohmann::json> ValidateParams(const nlohmann::json& params,
                                          const ModelDescription& model) const override;
  StatusOr<RunnerInput> Preprocess(const Image& image, const ModelDescription& model,
                                   const nlohmann::json& params) const override;
  StatusOr<RunnerOutput> Postprocess(const Image& source, const RunnerInput& input,
                                     const std::vector<std::vector<Tensor>>& outputs,
                                     const ModelDescription& model,
                                     const nlohmann::json& params) const override;
  StatusOr<std::vector<Tensor>> AnnotationToTarget(const Image& annotation, const Image& source,
                                                   const ModelDescription& model) const override;
  std::string_view training_loss() const override { return "cellpose"; }
};

}  // namespace infera
