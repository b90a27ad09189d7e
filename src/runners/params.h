// ParamSchema: a runner's params, declared once, from which both its JSON Schema (for
// Runner::params_schema, i.e. the web page's form) and its validation (for
// Runner::ValidateParams) are made, so the two cannot disagree:
//
//   const ParamSchema& Schema() {
//     static const ParamSchema schema("binary_sigmoid", {
//         NumberParam("threshold", 0.5, 0.0, 1.0, "foreground when the probability is above"),
//         BoolParam("output_is_probability", false, "the model outputs probabilities"),
//     });
//     return schema;
//   }
//   params_schema()            -> Schema().ToJsonSchema()
//   ValidateParams(params, _)  -> Schema().Validate(params)
//
// Validate takes null (no params) or an object, refuses unknown names and ill-typed or
// out-of-range values with an InvalidArgument that names the param, and returns an object
// holding every declared param (the given value, or its default). Types follow JSON
// Schema: "integer" accepts any number with no fractional part (3 and 3.0; stored as an
// integer), "number" accepts integers and floats (stored as a float), "boolean" only
// true/false, "string" one of the allowed values. Bounds are inclusive.
// Immutable after construction; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace infera {

// ParamSpec: one param. Build it with the helpers below.
struct ParamSpec {
  enum class Type { kBoolean, kInteger, kNumber, kString };

  std::string name;
  Type type = Type::kBoolean;
  nlohmann::json default_value;   // must itself be valid for the spec
  std::optional<double> minimum;  // kInteger, kNumber
  std::optional<double> maximum;
  std::vector<std::string> allowed;  // kString: the allowed values
  std::string description;
};

ParamSpec BoolParam(std::string name, bool default_value, std::string description);
ParamSpec IntParam(std::string name, int64_t default_value, int64_t minimum, int64_t maximum,
                   std::string description);
ParamSpec NumberParam(std::string name, double default_value, double minimum, double maximum,
                      std::string description);
// A string restricted to `allowed` (a JSON Schema "enum").
ParamSpec EnumParam(std::string name, std::string default_value, std::vector<std::string> allowed,
                    std::string description);

class ParamSchema {
 public:
  // `runner` names the runner in messages. The specs' defaults are the programmer's
  // responsibility (a spec whose default fails its own check is a bug; Validate would
  // then refuse even empty params).
  ParamSchema(std::string runner, std::vector<ParamSpec> specs);

  // {"type": "object", "additionalProperties": false, "properties": {name: {"type",
  // "default", "minimum", "maximum", "enum", "description"}}}.
  nlohmann::json ToJsonSchema() const;

  // See the file comment. Messages: "params must be a JSON object", "unknown param 'x'
  // for runner NAME (known: a, b)", "NAME must be an integer between 1 and 1000",
  // "NAME must be a number between 0 and 1", "NAME must be a boolean",
  // "NAME must be one of: a, b".
  // `also_known`: names the runner checks itself (e.g. cellpose's array-valued
  // `channels`): skipped here (not copied to the result) and listed among the known names
  // when an unknown one is refused.
  StatusOr<nlohmann::json> Validate(const nlohmann::json& params,
                                    const std::vector<std::string_view>& also_known = {}) const;

  const std::vector<ParamSpec>& specs() const { return specs_; }

 private:
  Status CheckValue(const ParamSpec& spec, const nlohmann::json& value, nlohmann::json* out) const;

  std::string runner_;
  std::vector<ParamSpec> specs_;
};

}  // namespace infera
