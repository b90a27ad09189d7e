// TrainableRunners and CheckRunnerTrains (training/trainer.h): the runners
// training/losses.cc has a task for (target, loss, validation metric);
// TrainingLossesTest checks the two lists agree.
#include <algorithm>
#include <string>
#include <vector>

#include "common/strings.h"
#include "training/trainer.h"

namespace infera {

std::vector<std::string> TrainableRunners() {
  return {"binary_sigmoid", "cellpose", "classify", "custom_tiff", "multiclass_argmax"};
}

Status CheckRunnerTrains(std::string_view model, std::string_view runner) {
  const std::vector<std::string> trainable = TrainableRunners();
  if (std::find(trainable.begin(), trainable.end(), runner) != trainable.end()) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(StrCat("model '", model, "' has runner '", runner,
                                           "', which cannot be trained; runners that can: [",
                                           StrJoin(trainable, ", "), "]"));
}

}  // namespace infera
