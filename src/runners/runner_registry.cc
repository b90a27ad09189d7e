#include "runners/runner_registry.h"

#include "runners/binary_sigmoid.h"
#include "runners/cellpose.h"
#include "runners/classify.h"
#include "runners/custom_tiff.h"
#include "runners/multiclass_argmax.h"

namespace infera {

namespace {

// The registry: one line per runner.
const Runner* const* Runners(size_t* count) {
  static const ClassifyRunner classify;
  static const BinarySigmoidRunner binary_sigmoid;
  static const MulticlassArgmaxRunner multiclass_argmax;
  static const CustomTiffRunner custom_tiff;
  static const CellposeRunner cellpose;
  static const Runner* const runners[] = {
      &classify, &binary_sigmoid, &multiclass_argmax, &custom_tiff, &cellpose,
  };
  *count = sizeof(runners) / sizeof(runners[0]);
  return runners;
}

}  // namespace

const Runner* FindRunner(std::string_view name) {
  size_t n = 0;
  const Runner* const* runners = Runners(&n);
  for (size_t i = 0; i < n; ++i) {
    if (runners[i]->name() == name) return runners[i];
  }
  return nullptr;
}

std::vector<std::string> RunnerNames() {
  size_t n = 0;
  const Runner* const* runners = Runners(&n);
  std::vector<std::string> names;
  for (size_t i = 0; i < n; ++i) names.emplace_back(runners[i]->name());
  return names;
}

}  // namespace infera
