// ModelConfig: everything infera knows about one model version before loading it,
// parsed and validated from model.yaml (or from the seed's list form), and the parser.
//
// model.yaml keys (every other key is an error naming the file and the key):
//   name, version (pin), version_policy (latest | {latest: N} | all | {specific: [..]},
//   Triton's; default latest 1; `version: V` is {specific: [V]}), backend
//   (torchscript | onnx), runner, description, artifact
//   (default model.pt; model.onnx for backend onnx), params (the runner's param
//   defaults for this model; requests override them), input {name, color, size, resize,
//   interpolation, scale, mean, std, layout, dtype}, outputs ([names] or {name:
//   position}), labels (file),
//   batching {max_batch_size, max_queue_delay_ms, max_queue_size, default_timeout_ms,
//   preferred_batch_sizes (auto | none | [sizes]), batch_timing_budget_ms},
//   instances {count, device, threads}, warmup (bool or {batch_sizes: [..]}), optimize
//   (bool).
// Relative paths resolve against the folder of the file that names them.
// Value type; parsing functions are thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "imaging/preprocess.h"
#include "runners/model_description.h"

namespace YAML {
class Node;
}

namespace infera {

// batching.preferred_batch_sizes: which batch sizes the batcher cuts (see
// batching/batch_policy.h, rule 5). auto: each size 1..max_batch_size is timed at load
// and the sizes not beaten by splitting are chosen (models/batch_size_timing.h);
// a list: those sizes; none: any size up to max_batch_size.
enum class PreferredBatchSizesMode { kAuto, kList, kNone };

struct BatchingConfig {
  int64_t max_batch_size = 8;
  double max_queue_delay_ms = 2.0;
  int64_t max_queue_size = 256;        // requests waiting (a request's tiles count once); more: 503
  int64_t default_timeout_ms = 30000;  // 0: no timeout
  PreferredBatchSizesMode preferred_mode = PreferredBatchSizesMode::kAuto;
  // kList: ascending, unique, each in 1..max_batch_size (sizes above a max_batch_size
  // set later, by the seed's list form, are dropped at load).
  std::vector<int64_t> preferred_batch_sizes;
  // kAuto: the time the load may spend timing batch sizes (one forward may overrun it);
  // the result is cached (models/batch_timing_cache.h), so it is spent once per machine.
  int64_t batch_timing_budget_ms = 500;
};

struct InstancesConfig {
  int64_t count = 1;
  std::string device = "cpu";  // "cpu" or "cuda:N"
  int64_t threads = 0;         // intra-op threads per instance; 0: one per core
};

struct WarmupConfig {
  bool enabled = true;
  std::vector<int64_t> batch_sizes;  // empty: {1, max_batch_size}
};

// Which version folders of a model are served (Triton's version_policy).
struct VersionPolicy {
  enum class Kind { kLatest, kAll, kSpecific };
  Kind kind = Kind::kLatest;
  int64_t latest = 1;             // kLatest: the N highest versions
  std::vector<int64_t> specific;  // kSpecific: these versions (each must exist)
};

// ModelConfig: the description runners see (name, input, labels, params; see
// runners/model_description.h) plus what loading and serving the version needs. Passed
// as is wherever a ModelDescription is wanted.
struct ModelConfig : ModelDescription {
  int64_t version = 1;
  VersionPolicy version_policy;
  std::filesystem::path artifact;  // absolute path to model.pt / model.onnx
  std::filesystem::path source;    // the file the config came from (for messages)
  std::string backend = "torchscript";
  std::string runner = "classify";
  std::string description;
  std::string input_name = "input";
  // The outputs served, in order (`outputs:`): names of a dict's entries, of graph
  // outputs (onnx) or of a tuple's/list's positions 0, 1, ...; empty: every output the
  // engine returns (named by the graph, or output0, output1, ...).
  std::vector<std::string> outputs;
  // `outputs: {name: position, ...}`: where each of `outputs` is in the tuple/list the
  // model returns (or among the graph's outputs); the same size as `outputs`. Empty for
  // the list form.
  std::vector<int64_t> output_positions;
  std::filesystem::path labels_file;  // empty: no labels; `labels` are loaded from it
  BatchingConfig batching;
  InstancesConfig instances;
  WarmupConfig warmup;
  // Whether the engine may optimise the graph at load (TorchScript: freeze +
  // optimize_for_inference, checked against the unoptimised module; ONNX on OpenCV:
  // layer fusion). false: run the graph as written.
  bool optimize = true;
};

// Model names appear in URLs: 1-128 characters of [A-Za-z0-9._-], starting with a
// letter or digit. InvalidArgument otherwise.
Status ValidateModelName(std::string_view name);

// The config of a model given in the seed's list form: the usual ImageNet classifier
// input (RGB, 224x224 bilinear, 1/255, ImageNet mean/std, NCHW FP32), runner classify.
ModelConfig DefaultClassifierConfig();

// Parses a model folder (`dir/model.yaml` with numeric version folders holding the
// artifact). `name` is the folder name. The version served is the highest numeric
// folder containing the artifact that the version_policy selects (`version` pins one).
// Errors: InvalidArgument naming the file, the key and why; NotFound when no version
// folder holds the artifact.
StatusOr<ModelConfig> LoadModelFolder(const std::filesystem::path& dir);

// Every version the folder's version_policy selects, ascending, one config each (the
// last is LoadModelFolder's). Errors as LoadModelFolder; NotFound also for a specific
// version without its folder.
StatusOr<std::vector<ModelConfig>> LoadModelFolderVersions(const std::filesystem::path& dir);

// The config of version `version` of a model folder whatever its version_policy or
// `version:` pin selects (the versions API builds a version before it pins it).
// Errors as LoadModelFolder; NotFound when `dir/<version>/` holds no artifact.
StatusOr<ModelConfig> LoadModelFolderVersion(const std::filesystem::path& dir, int64_t version);

// Every version folder of a model folder that holds the artifact its model.yaml names,
// ascending, whatever the version_policy selects. Errors: model.yaml's (InvalidArgument
// naming the file and the key; NotFound when it is missing).
StatusOr<std::vector<int64_t>> ModelFolderVersions(const std::filesystem::path& dir);

// Applies the keys of `node` (a model.yaml mapping) to `config`. `file` names the
// source in messages; relative paths resolve against `base_dir`.
Status ApplyModelYaml(const YAML::Node& node, const std::string& file,
                      const std::filesystem::path& base_dir, ModelConfig* config);

// Loads `config->labels` from `config->labels_file` (one label a line; trailing
// whitespace trimmed). InvalidArgument when unreadable.
Status LoadLabels(ModelConfig* config);

// The artifact file name a backend reads when model.yaml names none: "model.onnx" for
// onnx, "model.pt" otherwise.
std::string DefaultArtifactName(std::string_view backend);

// The highest numeric folder in `dir` (a version folder, with or without an artifact);
// 0 when none.
int64_t HighestVersionFolder(const std::filesystem::path& dir);

// Numeric version folders of a model folder that contain `artifact_name`, ascending.
std::vector<int64_t> ListVersions(const std::filesystem::path& dir,
                                  const std::string& artifact_name);

}  // namespace infera
