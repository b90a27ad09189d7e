// The runner registry: the one explicit list of runners (runner_registry.cc).
// Adding a runner is one new file plus one line there. Thread-safe (immutable).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runners/runner.h"

namespace infera {

// The runner of that name, or nullptr. The pointer lives for the whole process.
const Runner* FindRunner(std::string_view name);
std::vector<std::string> RunnerNames();

}  // namespace infera
