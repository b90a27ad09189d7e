// Tests for runners/params.h: defaults, JSON Schema output, type and bound checks for
// each param type, unknown params, and messages naming the param.
#include "runners/params.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"

namespace infera {
namespace {

const ParamSchema& Schema() {
  static const ParamSchema schema(
      "test_runner", {
                         IntParam("top_k", 5, 1, 1000, "how many"),
                         BoolParam("apply_softmax", true, "softmax or not"),
                         NumberParam("threshold", 0.5, 0.0, 1.0, "cut-off"),
                         EnumParam("output", "probability", {"probability", "labels"}, "what"),
                     });
  return schema;
}

void ExpectInvalid(const nlohmann::json& params, const std::string& message) {
  auto result = Schema().Validate(params);
  ASSERT_FALSE(result.ok()) << params;
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(result.status().message()), message) << params;
}

TEST(ParamSchemaTest, FillsDefaults) {
  const nlohmann::json defaults = {
      {"top_k", 5}, {"apply_softmax", true}, {"threshold", 0.5}, {"output", "probability"}};
  EXPECT_EQ(*Schema().Validate(nullptr), defaults);
  EXPECT_EQ(*Schema().Validate(nlohmann::json::object()), defaults);
  auto given = Schema().Validate({{"top_k", 3}, {"output", "labels"}});
  ASSERT_TRUE(given.ok());
  EXPECT_EQ((*given)["top_k"], 3);
  EXPECT_EQ((*given)["output"], "labels");
  EXPECT_EQ((*given)["apply_softmax"], true);
}

TEST(ParamSchemaTest, JsonSchema) {
  const nlohmann::json schema = Schema().ToJsonSchema();
  const nlohmann::json expected = nlohmann::json::parse(R"({
    "type": "object",
    "additionalProperties": false,
    "properties": {
      "top_k": {"type": "integer", "default": 5, "minimum": 1, "maximum": 1000,
                "description": "how many"},
      "apply_softmax": {"type": "boolean", "default": true, "description": "softmax or not"},
      "threshold": {"type": "number", "default": 0.5, "minimum": 0.0, "maximum": 1.0,
                    "description": "cut-off"},
      "output": {"type": "string", "default": "probability",
                 "enum": ["probability", "labels"], "description": "what"}
    }})");
  EXPECT_EQ(schema, expected);
  EXPECT_TRUE(schema["properties"]["top_k"]["minimum"].is_number_integer());
}

TEST(ParamSchemaTest, IntegersAcceptIntegralNumbersOnly) {
  EXPECT_EQ((*Schema().Validate({{"top_k", 7.0}}))["top_k"], 7);
  EXPECT_TRUE((*Schema().Validate({{"top_k", 7.0}}))["top_k"].is_number_integer());
  EXPECT_EQ((*Schema().Validate({{"top_k", 1000u}}))["top_k"], 1000);
  const std::string message = "top_k must be an integer between 1 and 1000";
  ExpectInvalid({{"top_k", 2.5}}, message);
  ExpectInvalid({{"top_k", 0}}, message);
  ExpectInvalid({{"top_k", 1001}}, message);
  ExpectInvalid({{"top_k", -1}}, message);
  ExpectInvalid({{"top_k", 18446744073709551615u}}, message);
  ExpectInvalid({{"top_k", 1e300}}, message);
  ExpectInvalid({{"top_k", "5"}}, message);
  ExpectInvalid({{"top_k", true}}, message);
  ExpectInvalid({{"top_k", nullptr}}, message);
}

TEST(ParamSchemaTest, NumbersAcceptIntegersAndFloatsInBounds) {
  EXPECT_EQ((*Schema().Validate({{"threshold", 1}}))["threshold"], 1.0);
  EXPECT_TRUE((*Schema().Validate({{"threshold", 1}}))["threshold"].is_number_float());
  EXPECT_EQ((*Schema().Validate({{"threshold", 0}}))["threshold"], 0.0);
  const std::string message = "threshold must be a number between 0 and 1";
  ExpectInvalid({{"threshold", 1.0000001}}, message);
  ExpectInvalid({{"threshold", -0.5}}, message);
  ExpectInvalid({{"threshold", "0.5"}}, message);
  ExpectInvalid({{"threshold", false}}, message);
}

TEST(ParamSchemaTest, BooleansAndEnums) {
  EXPECT_EQ((*Schema().Validate({{"apply_softmax", false}}))["apply_softmax"], false);
  ExpectInvalid({{"apply_softmax", 0}}, "apply_softmax must be a boolean");
  ExpectInvalid({{"apply_softmax", "false"}}, "apply_softmax must be a boolean");
  ExpectInvalid({{"output", "mask"}}, "output must be one of: probability, labels");
  ExpectInvalid({{"output", 3}}, "output must be one of: probability, labels");
}

TEST(ParamSchemaTest, UnknownParamsAndNonObjects) {
  ExpectInvalid({{"topk", 3}},
                "unknown param 'topk' for runner test_runner (known: top_k, apply_softmax, "
                "threshold, output)");
  ExpectInvalid(nlohmann::json::array(), "params must be a JSON object");
  ExpectInvalid(3, "params must be a JSON object");
  const ParamSchema empty("none_runner", {});
  auto result = empty.Validate({{"x", 1}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(std::string(result.status().message()),
            "unknown param 'x' for runner none_runner (known: none)");
}

TEST(ParamSchemaTest, AlsoKnownNamesAreSkippedAndListed) {
  const ParamSchema schema("r", {IntParam("n", 1, 0, 10, "n")});
  auto ok = schema.Validate({{"n", 2}, {"pair", {1, 2}}}, {"pair"});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(*ok, (nlohmann::json{{"n", 2}}));  // the caller checks and copies "pair"
  auto bad = schema.Validate({{"x", 1}}, {"pair"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(std::string(bad.status().message()), "unknown param 'x' for runner r (known: n, pair)");
}

TEST(ParamSchemaTest, UnboundedIntegers) {
  ParamSpec spec = IntParam("n", 0, 0, 0, "any");
  spec.minimum.reset();
  spec.maximum.reset();
  const ParamSchema schema("r", {spec});
  EXPECT_EQ((*schema.Validate({{"n", -123456789012}}))["n"], -123456789012);
  EXPECT_FALSE(schema.ToJsonSchema()["properties"]["n"].contains("minimum"));
  auto bad = schema.Validate({{"n", 0.5}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(std::string(bad.status().message()), "n must be an integer");
}

}  // namespace
}  // namespace infera
