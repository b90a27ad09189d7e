#include <gtest/gtest.h>

#include <algorithm>

#include "support/status_matchers.h"
#include "training/trainer.h"

namespace infera {
namespace {

TEST(TrainingParamsTest, NullAndEmptyGiveTheDefaults) {
  ASSERT_OK_AND_ASSIGN(TrainingParams a, ParseTrainingParams(nullptr));
  ASSERT_OK_AND_ASSIGN(TrainingParams b, ParseTrainingParams(nlohmann::json::object()));
  EXPECT_EQ(TrainingParamsToJson(a), TrainingParamsToJson(TrainingParams{}));
  EXPECT_EQ(TrainingParamsToJson(b), TrainingParamsToJson(TrainingParams{}));
  EXPECT_EQ(a.optimizer, "adam");
  EXPECT_EQ(a.epochs, 20);
  EXPECT_EQ(a.threads, 1);
}

TEST(TrainingParamsTest, ReadsEveryField) {
  const nlohmann::json in = {{"optimizer", "sgd"},
                             {"lr", 0.05},
                             {"momentum", 0.5},
                             {"weight_decay", 1e-4},
                             {"epochs", 3},
                             {"batch_size", 2.0},
                             {"schedule", "step"},
                             {"step_size", 2},
                             {"gamma", 0.5},
                             {"freeze", "encoder"},
                             {"validation_fraction", 0.5},
                             {"seed", 1234567890123ull},
                             {"augment", false},
                             {"patience", 4},
                             {"threads", 2}};
  ASSERT_OK_AND_ASSIGN(TrainingParams p, ParseTrainingParams(in));
  EXPECT_EQ(p.optimizer, "sgd");
  EXPECT_DOUBLE_EQ(p.lr, 0.05);
  EXPECT_DOUBLE_EQ(p.momentum, 0.5);
  EXPECT_DOUBLE_EQ(p.weight_decay, 1e-4);
  EXPECT_EQ(p.epochs, 3);
  EXPECT_EQ(p.batch_size, 2);
  EXPECT_EQ(p.schedule, "step");
  EXPECT_EQ(p.step_size, 2);
  EXPECT_DOUBLE_EQ(p.gamma, 0.5);
  EXPECT_EQ(p.freeze, "encoder");
  EXPECT_DOUBLE_EQ(p.validation_fraction, 0.5);
  EXPECT_EQ(p.seed, 1234567890123ull);
  EXPECT_FALSE(p.augment);
  EXPECT_EQ(p.patience, 4);
  EXPECT_EQ(p.threads, 2);
  // The JSON form reads back to the same params.
  ASSERT_OK_AND_ASSIGN(TrainingParams q, ParseTrainingParams(TrainingParamsToJson(p)));
  EXPECT_EQ(TrainingParamsToJson(q), TrainingParamsToJson(p));
}

void ExpectRefused(const nlohmann::json& params, const std::string& says) {
  auto parsed = ParseTrainingParams(params);
  ASSERT_FALSE(parsed.ok()) << params.dump();
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(parsed.status().message()).find(says), std::string::npos)
      << parsed.status().message() << " should say " << says;
}

TEST(TrainingParamsTest, RefusesBadInputNamingTheKey) {
  ExpectRefused(nlohmann::json::array(), "must be a JSON object");
  ExpectRefused({{"learning_rate", 0.1}}, "unknown training param 'learning_rate'");
  ExpectRefused({{"lr", "fast"}}, "lr must be a number");
  ExpectRefused({{"lr", 0}}, "lr must be a number between");
  ExpectRefused({{"epochs", 2.5}}, "epochs must be an integer");
  ExpectRefused({{"epochs", 0}}, "epochs must be an integer between 1 and");
  ExpectRefused({{"batch_size", true}}, "batch_size must be an integer");
  ExpectRefused({{"optimizer", "rmsprop"}}, "optimizer must be one of: adam, sgd");
  ExpectRefused({{"schedule", 1}}, "schedule must be a string");
  ExpectRefused({{"augment", 1}}, "augment must be a boolean");
  ExpectRefused({{"validation_fraction", 1.0}}, "validation_fraction must be a number");
  ExpectRefused({{"seed", -1}}, "seed must be an integer");
  ExpectRefused({{"threads", 0}}, "threads must be an integer between 1");
}

TEST(TrainingParamsTest, SchemaDescribesEveryParamWithItsDefault) {
  const nlohmann::json schema = TrainingParamsSchema();
  EXPECT_EQ(schema["type"], "object");
  EXPECT_EQ(schema["additionalProperties"], false);
  const nlohmann::json defaults = TrainingParamsToJson(TrainingParams{});
  ASSERT_EQ(schema["properties"].size(), defaults.size());
  for (const auto& [name, value] : defaults.items()) {
    ASSERT_TRUE(schema["properties"].contains(name)) << name;
    EXPECT_EQ(schema["properties"][name]["default"], value) << name;
    EXPECT_TRUE(schema["properties"][name].contains("description")) << name;
  }
  EXPECT_EQ(schema["properties"]["optimizer"]["enum"], nlohmann::json({"adam", "sgd"}));
  EXPECT_EQ(schema["properties"]["epochs"]["type"], "integer");
  EXPECT_EQ(schema["properties"]["lr"]["type"], "number");
  EXPECT_EQ(schema["properties"]["augment"]["type"], "boolean");
}

TEST(TrainingParamsTest, TrainableRunnersAreSortedAndKnown) {
  const std::vector<std::string> runners = TrainableRunners();
  EXPECT_TRUE(std::is_sorted(runners.begin(), runners.end()));
  EXPECT_NE(std::find(runners.begin(), runners.end(), "binary_sigmoid"), runners.end());
  EXPECT_NE(std::find(runners.begin(), runners.end(), "classify"), runners.end());
  EXPECT_NE(std::find(runners.begin(), runners.end(), "custom_tiff"), runners.end());
}

}  // namespace
}  // namespace infera
