// The infera binary: everything lives in infera_lib; see cli/cli.h.
#include "cli/cli.h"

int main(int argc, char** argv) { return infera::RunCli(argc, argv); }
