// The command line: `infera <subcommand> ...`. One file per subcommand (serve.cc, train.cc,
// bench.cc, bench_job.cc, bench_cellpose.cc, infer.cc, users.cc, models_import.cc); RunCli wires
// them into CLI11. exe/main.cc only calls RunCli.
#pragma once

#include <string>
#include <vector>

namespace infera {

// Parses argv, runs the chosen subcommand, returns the process exit code.
int RunCli(int argc, char** argv);

// Each subcommand is a Run* function taking its parsed options and returning the exit
// code; cli.cc declares the options and picks the function.
struct ServeOptions {
  std::string config;
  std::string host;
  int port = -1;
};
int RunServe(const ServeOptions& options);

struct BenchOptions {
  std::string config;
  std::string model;
  std::string image;  // optional; a generated image by default
  double seconds = 5;
  std::string concurrency = "1,4,16,32";
  std::string batch_sizes = "1,2,4,8,16";
  double max_queue_delay_ms = -1;  // < 0: the model's own setting
  // The served model's batching.preferred_batch_sizes: "auto", "none" or a list "1,4";
  // empty: the model's own setting.
  std::string preferred_batch_sizes;
  // The served model's max_batch_size; 0: the largest of batch_sizes, or with preferred
  // sizes off, the best raw batch size (a hand-tuned batcher, as before preferred sizes).
  int max_batch_size = 0;
  int64_t timing_budget_ms = -1;  // < 0: the model's batching.batch_timing_budget_ms
  // Side of the generated image for models that keep the image size (0: 224). For a
  // cellpose model the generated image is a synthetic cell scene.
  int image_size = 0;
  // A second model served beside the measured one: one closed-loop client sends it its
  // own generated image during every served measurement (its p50/p99 are reported).
  std::string beside;
  // Also measure /v2/models/M/infer over HTTP and ModelInfer over gRPC (BYTES input).
  bool grpc = false;
  // Idle time before each sample of the interleaved concurrency-1 measurement, so that
  // neither side starts while the other's OpenMP workers still spin.
  double interleave_pause_ms = 2;
  std::string output_json;
};
int RunBench(const BenchOptions& options);

// `infera bench job`.
struct BenchJobOptions {
  std::string config;      // a server config naming the model, or
  std::string repository;  // a model repository folder, or neither: --model is a folder
  std::string model;
  int images = 64;
  int size = 512;
  int workers = 1;
  int max_in_flight = 0;
  std::string output_json;
};
int RunBenchJob(const BenchJobOptions& options);

// `infera bench cellpose`.
struct BenchCellposeOptions {
  int size = 1024;
  int cells = 500;
  int repeats = 5;
  std::string output_json;
};
int RunBenchCellpose(const BenchCellposeOptions& options);

// `infera infer`.
struct InferOptions {
  std::string config;
  std::string repository;
  std::string model;
  std::vector<std::string> inputs;
  std::string output;
  std::vector<std::string> params;  // "key=value"
  bool copy_sources = false;        // also write OUTPUT/images/
  bool verbose = false;
};
int RunInfer(const InferOptions& options);

// `infera models import FILE.onnx`.
struct ModelsImportOptions {
  std::string file;
  std::vector<std::string> input_shapes;  // "1,3,640,640" (first input) or "name=1,3,..."
  std::string repository;                 // write REPO/NAME/VERSION/model.onnx, or
  std::string output;                     // write this file
  std::string name;
  std::string runner;   // for a starter model.yaml; guessed from the output shape if empty
  int64_t version = 0;  // 0: the next version
  bool force = false;   // replace an existing version's model.onnx
};
int RunModelsImport(const ModelsImportOptions& options);

// `infera train` (train.cc).
struct TrainOptions {
  std::string config;      // a server config naming the model, or
  std::string repository;  // a model repository folder, or neither: --model is a folder
  std::string model;
  std::string images;               // folder of images
  std::string masks;                // folder of label PNGs (classify: labels.csv, or that file)
  std::vector<std::string> params;  // "key=value" (training/trainer.h's params)
  std::string work;                 // checkpoints; empty: a temporary folder
};
int RunTrain(const TrainOptions& options);

// `infera users ACTION [NAME]`.
struct UsersOptions {
  std::string config;
  std::string action;  // add, list, disable, enable, set-password
  std::string username;
  std::string role = "user";
};
int RunUsers(const UsersOptions& options);

}  // namespace infera
