// Helpers shared by the segmentation runners (binary_sigmoid, multiclass_argmax,
// custom_tiff): reading a model's per-pixel scores, turning them into label maps,
// bringing label maps back to the source size, counting classes for the summary, and
// resizing annotations to the model size for training targets.
//
// Conventions: a "label map" is a 1-channel 8- or 16-bit Image; a score map is the
// model's output for one image, [1, K, H, W] (or [1, H, W] for K = 1), FP32.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "imaging/image.h"
#include "imaging/preprocess.h"
#include "runners/model_description.h"
#include "tensor/tensor.h"

namespace infera {

// ScoreMap: a view of one image's scores, `classes` planes of height x width floats,
// plane after plane (NCHW without N). Points into the output tensor it was read from,
// which must outlive it.
struct ScoreMap {
  int classes = 0;
  int height = 0;
  int width = 0;
  const float* data = nullptr;

  size_t plane_size() const { return static_cast<size_t>(height) * static_cast<size_t>(width); }
  const float* plane(int k) const { return data + static_cast<size_t>(k) * plane_size(); }
};

// What a runner accepts as score map.
struct ScoreMapRequirements {
  int64_t min_classes = 1;
  int64_t max_classes = 65536;  // label maps are at most 16-bit
  bool allow_3d = false;        // also accept [1, H, W] (as K = 1)
};

// Reads the first output of the one item of `outputs` as a score map. Internal naming
// the runner, the model (model.name), the dtype and the shape when there is not exactly
// one item with at least one output, or the output is not FP32 [1, K, H, W] (or [1, H, W]
// when allowed) with K within the requirements and H, W >= 1.
StatusOr<ScoreMap> ReadScoreMap(const std::vector<std::vector<Tensor>>& outputs,
                                const ModelDescription& model, std::string_view runner,
                                const ScoreMapRequirements& requirements);

// The logistic function in float: 1 / (1 + exp(-x)).
float Sigmoid(float x);

// A mask of plane `k`: `foreground` where the probability (sigmoid(score), or the score
// itself when `scores_are_probabilities`) is above `threshold` (compared in float, as
// torch compares a float tensor with a Python number), 0 elsewhere (and for NaN).
// 1-channel 8-bit, the score map's size.
Image ThresholdPlane(const ScoreMap& scores, int k, bool scores_are_probabilities, double threshold,
                     uint8_t foreground);

// The per-pixel argmax over the classes; ties go to the lowest class index, as with
// torch.argmax. NaN scores never win (torch would pick them): a pixel whose class-0
// score is NaN is 0. 8-bit when every label fits (K <= 256), 16-bit otherwise. The score
// map's size.
Image ArgmaxLabels(const ScoreMap& scores);

// Per-pixel softmax over the classes (max-subtracted, in float), as a K-channel float
// image (interleaved) of the score map's size; K = 1 gives the sigmoid instead, and
// `scores_are_probabilities` copies the scores unchanged.
Image ProbabilityImage(const ScoreMap& scores, bool scores_are_probabilities);

// Resizes `map` (a model output for `source`, preprocessed per `spec`) to the size of
// `source` (nearest for label maps, as torch.nn.functional.interpolate(mode="nearest")).
// For a letterboxed input only the part of the map the image filled is kept: ContentSize
// scaled to the map's size, which may differ from the input's (a stride-4 output).
// Errors as ResizeImage.
StatusOr<Image> ToSourceSize(const Image& map, const Image& source, Interpolation interpolation,
                             const InputSpec& spec);

// The part of `map` (a model output for `source`, preprocessed per `spec`) the image
// filled, at the map's own resolution: the whole map unless the input was letterboxed
// (then ContentSize scaled to the map's size, at the top-left). Active learning reads
// probabilities in the image's geometry through it.
Image ContentPart(const Image& map, const Image& source, const InputSpec& spec);

// The number of pixels of each label value of a label map (size 256 for 8-bit maps,
// 65536 for 16-bit).
std::vector<int64_t> CountLabels(const Image& labels);

// The fraction of pixels whose label is not 0 (0 for an empty histogram).
double ForegroundFraction(const std::vector<int64_t>& counts);

// {"<label>": pixels, ...} for every label with at least one pixel, plus the labels in
// `always` even when they have none (e.g. {0, 255} for a binary mask).
nlohmann::json HistogramJson(const std::vector<int64_t>& counts,
                             const std::vector<int64_t>& always = {});

// The name of class k: model.labels[k] when there, otherwise "class_<k>".
std::string ClassName(const ModelDescription& model, int64_t k);

// [{"class_id", "label", "pixels", "fraction", "color"}] for the classes with at least
// one pixel, by class id: the legend of a preview. "color" is the overlay colour
// ("#rrggbb") of the class, null for class 0 (background, not drawn).
nlohmann::json ClassesJson(const std::vector<int64_t>& counts, const ModelDescription& model);

// The model's input size for `source` as {height, width}: spec.size, or the source's own
// size when the spec keeps it.
std::pair<int, int> ModelInputSize(const Image& source, const InputSpec& spec);

// `image` (the source or an image of its size) at the model's input size per `spec`
// (ModelInputSize), resized with `interpolation`; letterboxed when the spec says so
// (resized to ContentSize at the top-left, zeros elsewhere). Errors as ResizeImage.
StatusOr<Image> ToInputSize(const Image& image, const InputSpec& spec, Interpolation interpolation);

// Training: the annotation's channel 0 resized (nearest) to the model input size, as a
// 1-channel image of the annotation's type (letterboxed like the image: resized to
// ContentSize at the top-left, 0 elsewhere). InvalidArgument when the annotation is
// empty or its size differs from the source's.
StatusOr<Image> AnnotationAtModelSize(const Image& annotation, const Image& source,
                                      const InputSpec& spec);

}  // namespace infera
