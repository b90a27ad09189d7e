// Runner: the strategy that turns images into model inputs and model outputs into
// results for one kind of model (classify, binary_sigmoid, multiclass_argmax,
// custom_tiff, ...). Adding one is a new file plus one line in runner_registry.cc.
//
// The same runner serves `POST /predict` (one image, online priority), dataset
// inference jobs (every image of a dataset, low priority) and `infera infer` (offline):
//
//   params = ResolveParams(user params, model)   (InvalidArgument -> 400)
//   input  = Preprocess(image, model, params)    (one or more model calls, "items")
//   outputs of each item <- the model's batcher
//   result = Postprocess(image, input, outputs, model, params)
//
// `model` is the served model as runners see it (runners/model_description.h: name,
// input spec, labels, param defaults); callers pass Model::description() or a
// ModelConfig (which extends it).
// Runners are stateless singletons: every method is const and thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "imaging/image.h"
#include "imaging/preprocess.h"
#include "runners/model_description.h"
#include "tensor/tensor.h"

namespace infera {

// RunnerInput: what Preprocess makes of one image.
struct RunnerInput {
  // The model calls for this image: each item is a full set of model input tensors
  // (one per model input) with batch dimension 1. Most runners make one item; a tiling
  // runner makes one per tile. Items are queued on the model's batcher independently
  // and may run in different batches.
  std::vector<std::vector<Tensor>> items;
  // Runner-private state handed back to Postprocess (tile positions, scale factors...).
  nlohmann::json context;
};

enum class ArtifactFormat { kPng, kTiff };

// RunnerArtifact: one image a runner produces for an input image.
struct RunnerArtifact {
  // "class_mask" (a label or 0/255 mask at the source size), "instance_mask" (object
  // labels 1..N), "preview" (an RGB overlay for people), "probability" (a float map).
  std::string kind;
  Image image;
  ArtifactFormat format = ArtifactFormat::kPng;
};

// RunnerOutput: the result for one image.
struct RunnerOutput {
  // A JSON summary: the whole answer for classifiers ({"predictions": [...]}); for
  // segmenters the numbers people look at (foreground_fraction, class_histogram,
  // object count...). /predict returns it with the artifacts, jobs store it.
  nlohmann::json summary = nlohmann::json::object();
  std::vector<RunnerArtifact> artifacts;
  // The artifact of the given kind, or nullptr.
  const RunnerArtifact* Find(std::string_view kind) const;
};

// How the channels of RunnerProbabilities::probabilities read.
enum class ProbabilityKind {
  // A pixel's channels are one distribution over the classes (softmax; they sum to 1).
  kCategorical,
  // Each channel is the probability of its own yes/no (sigmoid): foreground, a cell.
  kBernoulli,
};

// RunnerProbabilities: what a model believes of one image, for active learning
// (active_learning/ scores it: pixel entropy, disagreement of flipped predictions).
struct RunnerProbabilities {
  // FP32, one channel per class (kCategorical) or per independent yes/no (kBernoulli), in
  // the image's own geometry — the part of the model's output the image covers (letterbox
  // padding cut), at the model's resolution or the source's — so that flipping the source
  // flips this map. A classifier's class distribution is a 1x1 image of K channels.
  Image probabilities;
  ProbabilityKind kind = ProbabilityKind::kCategorical;
  // Cellpose only: the flow-error QC of the masks predicted without it (Cellpose's
  // metrics.flow_error, cellpose/flow_quality.h: per mask, the mean squared difference of
  // the flows recomputed from the mask and the network's flows / 5), averaged over the
  // masks' pixels; 0 without masks. `masks`: how many masks it was computed on.
  std::optional<double> flow_error;
  int64_t masks = 0;
};

class Runner {
 public:
  virtual ~Runner() = default;

  virtual std::string_view name() const = 0;
  virtual std::string_view description() const = 0;
  // JSON Schema of the runner's params (an object schema with defaults, types, bounds,
  // and a description per param); the web page builds its params form from it.
  virtual nlohmann::json params_schema() const = 0;

  // The channel count of the network's input for `model` (warm-up batches and the
  // protocol's input metadata use it): the input spec's colour channels by default.
  virtual int ModelInputChannels(const ModelDescription& model) const;

  // Checks that the runner can feed a model with this input spec (at load, naming what
  // it cannot do); every spec by default.
  virtual Status CheckInputSpec(const InputSpec& /*spec*/) const { return absl::OkStatus(); }

  // Checks params (null or an object) and fills defaults; InvalidArgument naming the
  // param and why for unknown or ill-typed params.
  virtual StatusOr<nlohmann::json> ValidateParams(const nlohmann::json& params,
                                                  const ModelDescription& model) const = 0;

  // The params a request runs with: `request` (null or an object) applied over the
  // model's defaults (ModelDescription::params), then ValidateParams. Every caller that
  // takes params from a user goes through this.
  StatusOr<nlohmann::json> ResolveParams(const nlohmann::json& request,
                                         const ModelDescription& model) const;
  // params_schema() with the defaults the model sets (ModelDescription::params).
  nlohmann::json ModelParamsSchema(const ModelDescription& model) const;

  // Turns one decoded image into model calls. `params` has passed ValidateParams.
  // InvalidArgument when the image cannot be used (e.g. a channel count the runner
  // cannot map to the model's input).
  virtual StatusOr<RunnerInput> Preprocess(const Image& image, const ModelDescription& model,
                                           const nlohmann::json& params) const = 0;

  // Turns the model's outputs into the result. `outputs[i]` are the outputs of
  // `input.items[i]` (batch dimension 1). `source` is the image given to Preprocess.
  // Internal when the outputs do not have the shape the runner needs (a model that
  // does not fit the runner); the message names the model and the shape.
  virtual StatusOr<RunnerOutput> Postprocess(const Image& source, const RunnerInput& input,
                                             const std::vector<std::vector<Tensor>>& outputs,
                                             const ModelDescription& model,
                                             const nlohmann::json& params) const = 0;

  // --- Active learning (active_learning/ ranks a dataset's images by these) ---
  // The model's probabilities for `source` from the outputs of its items (as Postprocess
  // gets them), with `params` as Postprocess. Unimplemented for runners that do not
  // expose probabilities (the default); Internal as Postprocess for outputs of the wrong
  // shape.
  virtual StatusOr<RunnerProbabilities> Probabilities(
      const Image& source, const RunnerInput& input,
      const std::vector<std::vector<Tensor>>& outputs, const ModelDescription& model,
      const nlohmann::json& params) const;

  // --- Training (the retraining issue builds on these) ---
  // Turns an annotation mask (labels at the source size) into the target tensors the
  // runner's loss compares with the model outputs for the same preprocessed image.
  // Unimplemented for runners that cannot be trained.
  virtual StatusOr<std::vector<Tensor>> AnnotationToTarget(const Image& annotation,
                                                           const Image& source,
                                                           const ModelDescription& model) const;
  // The loss training uses ("bce_with_logits", "cross_entropy", ...), or "" when the
  // runner cannot be trained.
  virtual std::string_view training_loss() const { return ""; }
};

// Encodes an artifact as its format says (PNG for 8/16-bit, TIFF for any type).
StatusOr<std::vector<std::byte>> EncodeArtifact(const RunnerArtifact& artifact);
// "png" or "tif"; the MIME type "image/png" or "image/tiff".
std::string_view ArtifactExtension(ArtifactFormat format);
std::string_view ArtifactContentType(ArtifactFormat format);

}  // namespace infera
