// CheckRunnerTrains (training/trainable_runners.cc): the retraining start's refusal of a
// model whose runner cannot train (RetrainingJobs::Start returns it as is). Every runner
// of the registry trains today, so no served model reaches that refusal through the API;
// this checks it against the registry and for a runner without a training task.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "api/http_status.h"
#include "runners/runner_registry.h"
#include "support/status_matchers.h"
#include "training/losses.h"
#include "training/trainer.h"

namespace infera {
namespace {

// A runner of the registry passes exactly when it has a training loss and a task.
TEST(CheckRunnerTrainsTest, FollowsTheRegistry) {
  const std::vector<std::string> names = RunnerNames();
  ASSERT_FALSE(names.empty());
  for (const std::string& name : names) {
    const Runner* runner = FindRunner(name);
    ASSERT_NE(runner, nullptr) << name;
    const Status checked = CheckRunnerTrains("m", name);
    EXPECT_EQ(checked.ok(), !runner->training_loss().empty()) << name << ": " << checked;
    EXPECT_EQ(checked.ok(), TaskForRunner(name).ok()) << name;
  }
}

// A runner without a training task (not one of TrainableRunners, as a future runner may
// be): the start's 400, naming the model, its runner and the runners that can train.
TEST(CheckRunnerTrainsTest, ARunnerWithoutATrainingTaskIsA400NamingTheRunnersThatCan) {
  ASSERT_EQ(FindRunner("detect_boxes"), nullptr);  // not a runner of the registry
  const Status refused = CheckRunnerTrains("boxes", "detect_boxes");
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << refused;
  EXPECT_EQ(HttpStatusFor(refused), 400);
  EXPECT_EQ(refused.message(),
            "model 'boxes' has runner 'detect_boxes', which cannot be trained; runners that "
            "can: [binary_sigmoid, cellpose, classify, custom_tiff, multiclass_argmax]");
  // The trainer refuses it as well.
  EXPECT_EQ(TaskForRunner("detect_boxes").status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_OK(CheckRunnerTrains("boxes", "binary_sigmoid"));
}

}  // namespace
}  // namespace infera
