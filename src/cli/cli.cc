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
  bench_cmd->add_option("--config,-c", bench.config, "Server config file (YAML)")->required();
  bench_cmd->add_option("--model,-m", bench.model, "Model to measure")->required();
  bench_cmd->add_option("--image", bench.image, "Image to send (default: a generated 224x224 PNG)");
  bench_cmd->add_option("--seconds", bench.seconds, "Seconds per measurement")
      ->check(CLI::Range(0.2, 600.0));
  bench_cmd->add_option("--concurrency", bench.concurrency, "Client counts, comma-separated");
  bench_cmd->add_option("--batch-sizes", bench.batch_sizes,
                        "Raw-engine batch sizes to try, comma-separated");
  bench_cmd->add_option("--max-queue-delay-ms", bench.max_queue_delay_ms,
                        "Batcher delay for the served run (default: the model's)");
  bench_cmd->add_option("--json", bench.output_json, "Also write the results as JSON here");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (serve_cmd->parsed()) return RunServe(serve);
  if (bench_cmd->parsed()) return RunBench(bench);
  return 2;
}

}  // namespace infera
