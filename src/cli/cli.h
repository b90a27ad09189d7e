// The command line: `infera <subcommand> ...`. One file per subcommand (serve.cc,
// bench.cc); RunCli wires them into CLI11. exe/main.cc only calls RunCli.
#pragma once

#include <string>

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
  std::string output_json;
};
int RunBench(const BenchOptions& options);

}  // namespace infera
