// TrainableRunners (training/trainer.h): the runners training/losses.cc has a task for
// (target, loss, validation metric); TrainingLossesTest checks the two lists agree.
#include <string>
#include <vector>

#include "training/trainer.h"

namespace infera {

std::vector<std::string> TrainableRunners() {
  return {"binary_sigmoid", "cellpose", "classify", "custom_tiff", "multiclass_argmax"};
}

}  // namespace infera
