#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <iostream>

namespace infera {

int RunCli(int argc, char** argv) {
  CLI::App app{"infera: serve image segmentation and classification models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("infera ") + INFERA_VERSION);

  ServeOptions serve;
  CLI::App* serve_cmd = app.add_subcommand("serve", "Run the HTTP server");
  serve_cmd->add_option("--config,-c", serve.config, "Server config file (YAML)")->required();
  serve_cmd->add_option("--host", serve.host, "Listen address (overrides server.host)");
  serve_cmd->add_option("--port,-p", serve.port, "Listen port, 0 for any (overrides server.port)")
      ->check(CLI::Range(0, 65535));

  BenchOptions bench;
  CLI::App* bench_cmd =
      app.add_subcommand("bench", "Measure served throughput and latency against the raw engine");
  bench_cmd->add_option("--config,-c", bench.config, "Server config file (YAML)");
  bench_cmd->add_option("--model,-m", bench.model,
                        "Model to measure; several (a,b) are measured in turn and compared");
  bench_cmd->add_option("--image", bench.image, "Image to send (default: a generated 224x224 PNG)");
  bench_cmd->add_option("--seconds", bench.seconds, "Seconds per measurement")
      ->check(CLI::Range(0.2, 600.0));
  bench_cmd->add_option("--concurrency", bench.concurrency, "Client counts, comma-separated");
  bench_cmd->add_option("--batch-sizes", bench.batch_sizes,
                        "Raw-engine batch sizes to try, comma-separated");
  bench_cmd->add_option("--max-queue-delay-ms", bench.max_queue_delay_ms,
                        "Batcher delay for the served run (default: the model's)");
  bench_cmd->add_option("--preferred-batch-sizes", bench.preferred_batch_sizes,
                        "Served batch sizes: auto (timed at load), none, or a list such as 1,4 "
                        "(default: the model's)");
  bench_cmd
      ->add_option("--max-batch-size", bench.max_batch_size,
                   "Served max_batch_size (default: the largest --batch-sizes; with "
                   "preferred sizes none, the best raw batch size)")
      ->check(CLI::Range(0, 4096));
  bench_cmd
      ->add_option("--timing-budget-ms", bench.timing_budget_ms,
                   "Time the served model may spend timing batch sizes at load (default: "
                   "the model's batching.batch_timing_budget_ms)")
      ->check(CLI::Range(0, 600000));
  bench_cmd->add_option("--image-size", bench.image_size,
                        "Side of the generated image when the model keeps the image size");
  bench_cmd->add_option("--beside", bench.beside,
                        "A model served beside it, sent requests by one client meanwhile");
  bench_cmd
      ->add_option("--interleave-pause-ms", bench.interleave_pause_ms,
                   "Idle time before each sample of the interleaved concurrency-1 "
                   "measurement (raw and served in turn)")
      ->check(CLI::Range(0.0, 1000.0));
  bench_cmd->add_flag("--grpc", bench.grpc,
                      "Also compare the protocol over HTTP (/v2 infer) and gRPC (ModelInfer)");
  bench_cmd->add_option("--json", bench.output_json, "Also write the results as JSON here");

  BenchJobOptions bench_job;
  CLI::App* bench_job_cmd = bench_cmd->add_subcommand(
      "job", "Measure a dataset inference job against a plain decode-forward-encode loop");
  bench_job_cmd->add_option("--config,-c", bench_job.config, "Server config file naming the model");
  bench_job_cmd->add_option("--repository,-r", bench_job.repository, "Model repository folder");
  bench_job_cmd->add_option("--model,-m", bench_job.model, "Model name, or a model folder")
      ->required();
  bench_job_cmd->add_option("--images", bench_job.images, "Images in the dataset")
      ->check(CLI::Range(2, 100000));
  bench_job_cmd->add_option("--size", bench_job.size, "Image side in pixels")
      ->check(CLI::Range(16, 8192));
  bench_job_cmd->add_option("--workers", bench_job.workers, "Job worker threads")
      ->check(CLI::Range(1, 64));
  bench_job_cmd->add_option("--max-in-flight", bench_job.max_in_flight,
                            "Images queued at once (0: 2 x max_batch_size)");
  bench_job_cmd->add_option("--json", bench_job.output_json, "Also write the results as JSON here");

  BenchCellposeOptions bench_cellpose;
  CLI::App* bench_cellpose_cmd = bench_cmd->add_subcommand(
      "cellpose", "Measure Cellpose's mask reconstruction (flow dynamics...) on one thread");
  bench_cellpose_cmd->add_option("--size", bench_cellpose.size, "Image side in pixels")
      ->check(CLI::Range(64, 8192));
  bench_cellpose_cmd->add_option("--cells", bench_cellpose.cells, "Cells to draw")
      ->check(CLI::Range(1, 1000000));
  bench_cellpose_cmd->add_option("--repeats", bench_cellpose.repeats, "Runs per phase (median)")
      ->check(CLI::Range(1, 1000));
  bench_cellpose_cmd->add_option("--json", bench_cellpose.output_json,
                                 "Also write the results as JSON here");

  InferOptions infer;
  CLI::App* infer_cmd =
      app.add_subcommand("infer", "Run a model's runner over image files, offline");
  infer_cmd->add_option("--config,-c", infer.config, "Server config file naming the model");
  infer_cmd->add_option("--repository,-r", infer.repository, "Model repository folder");
  infer_cmd->add_option("--model,-m", infer.model, "Model name, or a model folder")->required();
  infer_cmd->add_option("--input,-i", infer.inputs, "Image files or folders (walked recursively)")
      ->required();
  infer_cmd->add_option("--output,-o", infer.output, "Folder for masks/, previews/, results.json")
      ->required();
  infer_cmd->add_option("--param,-p", infer.params, "Runner parameter key=value (repeatable)");
  infer_cmd->add_flag("--copy-sources", infer.copy_sources,
                      "Also copy the inputs to OUTPUT/images/");
  infer_cmd->add_flag("--verbose,-v", infer.verbose, "Log every job event");

  ModelsImportOptions models_import;
  CLI::App* models_cmd = app.add_subcommand("models", "Prepare models for the repository");
  models_cmd->require_subcommand(1);
  CLI::App* import_cmd = models_cmd->add_subcommand(
      "import",
      "Rewrite an ONNX file for the onnx backend (OpenCV DNN) and add it to a repository");
  import_cmd->add_option("file", models_import.file, "The .onnx file")->required();
  import_cmd->add_option(
      "--input-shape", models_import.input_shapes,
      "Static input shape, batch first and free as N: N,3,640,640 or x=N,3,640,640 (repeatable)");
  import_cmd->add_option("--repository,-r", models_import.repository, "Model repository folder");
  import_cmd->add_option("--name,-n", models_import.name, "Model name in the repository");
  import_cmd->add_option("--output,-o", models_import.output,
                         "Write the rewritten model here instead");
  import_cmd->add_option("--runner", models_import.runner,
                         "Runner for a new model.yaml (default: guessed from the output shape)");
  import_cmd->add_option("--version", models_import.version, "Version folder (default: the next)")
      ->check(CLI::Range(int64_t{1}, INT64_MAX));
  import_cmd->add_flag("--force", models_import.force, "Replace an existing version's model.onnx");

  TrainOptions train;
  CLI::App* train_cmd = app.add_subcommand(
      "train", "Fine-tune a model on annotated images, offline; writes the next version");
  train_cmd->add_option("--config,-c", train.config, "Server config file naming the model");
  train_cmd->add_option("--repository,-r", train.repository, "Model repository folder");
  train_cmd->add_option("--model,-m", train.model, "Model name, or a model folder")->required();
  train_cmd->add_option("--images", train.images, "Folder of images")->required();
  train_cmd
      ->add_option("--masks", train.masks,
                   "Folder of label PNGs by the images' names (classify: labels.csv)")
      ->required();
  train_cmd->add_option("--param,-p", train.params,
                        "Training parameter key=value (repeatable): epochs, lr, optimizer, ...");
  train_cmd->add_option("--work,-w", train.work,
                        "Folder for checkpoints (resumes a run with the same inputs)");

  UsersOptions users;
  CLI::App* users_cmd = app.add_subcommand(
      "users", "Manage users: add NAME, list, disable NAME, enable NAME, set-password NAME");
  users_cmd->add_option("action", users.action, "add | list | disable | enable | set-password")
      ->required()
      ->check(CLI::IsMember({"add", "list", "disable", "enable", "set-password"}));
  users_cmd->add_option("username", users.username, "The user (not for list)");
  users_cmd->add_option("--config,-c", users.config, "Server config file (YAML)")->required();
  users_cmd->add_option("--role", users.role, "Role of a new user")
      ->check(CLI::IsMember({"user", "admin"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (serve_cmd->parsed()) return RunServe(serve);
  if (infer_cmd->parsed()) return RunInfer(infer);
  if (train_cmd->parsed()) return RunTrain(train);
  if (users_cmd->parsed()) return RunUsers(users);
  if (import_cmd->parsed()) {
    if (!models_import.repository.empty() && models_import.name.empty()) {
      std::cerr << "infera models import: --repository needs --name\n";
      return 2;
    }
    return RunModelsImport(models_import);
  }
  if (bench_job_cmd->parsed()) return RunBenchJob(bench_job);
  if (bench_cellpose_cmd->parsed()) return RunBenchCellpose(bench_cellpose);
  if (bench_cmd->parsed()) {
    if (bench.config.empty() || bench.model.empty()) {
      std::cerr << "infera bench: --config and --model are required\n";
      return 2;
    }
    return RunBench(bench);
  }
  return 2;
}

}  // namespace infera
