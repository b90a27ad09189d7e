// Child processes for tests of the real binary: spawn with stdout/stderr on pipes,
// read a pipe until some text appears (bounded), wait for the exit (bounded).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace infera::testing {

// A child process with stdout and stderr on pipes.
struct Child {
  pid_t pid = -1;
  int out = -1;
  int err = -1;
};

// Runs args[0] (a path) with the arguments.
Child Spawn(const std::vector<std::string>& args);
// Reads `fd` until `needle` appears, EOF, or the deadline; returns what was read.
std::string ReadUntil(int fd, const std::string& needle, std::chrono::seconds limit);
// The exit code, -1 for a signal, or -2 after SIGKILL when `limit` passed.
int WaitExit(pid_t pid, std::chrono::seconds limit);

// A finished run: its exit code (as WaitExit) and everything it printed.
struct RunResult {
  int code = 0;
  std::string out;
  std::string err;
};
// Spawns args, reads stdout to EOF (bounded by `limit`), then stderr, waits for the
// exit (bounded by `limit`) and closes the pipes.
RunResult RunToExit(const std::vector<std::string>& args, std::chrono::seconds limit);

}  // namespace infera::testing
