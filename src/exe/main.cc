// The infera binary: everything lives in infera_lib; see cli/cli.h.
#include "cli/cli.h"
#include "common/allocator.h"

int main(int argc, char** argv) {
  infera::ConfigureAllocator();  // before any thread: see common/allocator.h
  return infera::RunCli(argc, argv);
}
