#include "runners/params.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include "common/strings.h"

namespace infera {

namespace {

std::string_view TypeName(ParamSpec::Type type) {
  switch (type) {
    case ParamSpec::Type::kBoolean:
      return "boolean";
    case ParamSpec::Type::kInteger:
      return "integer";
    case ParamSpec::Type::kNumber:
      return "number";
    case ParamSpec::Type::kString:
      return "string";
  }
  return "string";  // unreachable
}

// A bound as text: integers without a fraction or exponent ("1000000", not "1e+06").
std::string BoundText(const ParamSpec& spec, double bound) {
  if (spec.type == ParamSpec::Type::kInteger) return StrCat(static_cast<int64_t>(bound));
  return StrCat(bound);
}

// " between MIN and MAX", " of at least MIN", " of at most MAX" or "".
std::string BoundsText(const ParamSpec& spec) {
  if (spec.minimum && spec.maximum) {
    return StrCat(" between ", BoundText(spec, *spec.minimum), " and ",
                  BoundText(spec, *spec.maximum));
  }
  if (spec.minimum) return StrCat(" of at least ", BoundText(spec, *spec.minimum));
  if (spec.maximum) return StrCat(" of at most ", BoundText(spec, *spec.maximum));
  return "";
}

bool InBounds(const ParamSpec& spec, double v) {
  return (!spec.minimum || v >= *spec.minimum) && (!spec.maximum || v <= *spec.maximum);
}

}  // namespace

ParamSpec BoolParam(std::string name, bool default_value, std::string description) {
  ParamSpec spec;
  spec.name = std::move(name);
  spec.type = ParamSpec::Type::kBoolean;
  spec.default_value = default_value;
  spec.description = std::move(description);
  return spec;
}

ParamSpec IntParam(std::string name, int64_t default_value, int64_t minimum, int64_t maximum,
                   std::string description) {
  ParamSpec spec;
  spec.name = std::move(name);
  spec.type = ParamSpec::Type::kInteger;
  spec.default_value = default_value;
  spec.minimum = static_cast<double>(minimum);
  spec.maximum = static_cast<double>(maximum);
  spec.description = std::move(description);
  return spec;
}

ParamSpec NumberParam(std::string name, double default_value, double minimum, double maximum,
                      std::string description) {
  ParamSpec spec;
  spec.name = std::move(name);
  spec.type = ParamSpec::Type::kNumber;
  spec.default_value = default_value;
  spec.minimum = minimum;
  spec.maximum = maximum;
  spec.description = std::move(description);
  return spec;
}

ParamSpec EnumParam(std::string name, std::string default_value, std::vector<std::string> allowed,
                    std::string description) {
  ParamSpec spec;
  spec.name = std::move(name);
  spec.type = ParamSpec::Type::kString;
  spec.default_value = std::move(default_value);
  spec.allowed = std::move(allowed);
  spec.description = std::move(description);
  return spec;
}

ParamSchema::ParamSchema(std::string runner, std::vector<ParamSpec> specs)
    : runner_(std::move(runner)), specs_(std::move(specs)) {}

nlohmann::json ParamSchema::ToJsonSchema() const {
  nlohmann::json properties = nlohmann::json::object();
  for (const ParamSpec& spec : specs_) {
    nlohmann::json p = {{"type", TypeName(spec.type)},
                        {"default", spec.default_value},
                        {"description", spec.description}};
    const bool integer = spec.type == ParamSpec::Type::kInteger;
    if (spec.minimum) {
      p["minimum"] = integer ? nlohmann::json(static_cast<int64_t>(*spec.minimum))
                             : nlohmann::json(*spec.minimum);
    }
    if (spec.maximum) {
      p["maximum"] = integer ? nlohmann::json(static_cast<int64_t>(*spec.maximum))
                             : nlohmann::json(*spec.maximum);
    }
    if (!spec.allowed.empty()) p["enum"] = spec.allowed;
    properties[spec.name] = std::move(p);
  }
  return {{"type", "object"}, {"additionalProperties", false}, {"properties", properties}};
}

Status ParamSchema::CheckValue(const ParamSpec& spec, const nlohmann::json& value,
                               nlohmann::json* out) const {
  switch (spec.type) {
    case ParamSpec::Type::kBoolean:
      if (!value.is_boolean()) {
        return absl::InvalidArgumentError(StrCat(spec.name, " must be a boolean"));
      }
      *out = value.get<bool>();
      return absl::OkStatus();
    case ParamSpec::Type::kInteger: {
      // Integers are compared exactly; floats must be integral and are bounded in double
      // before the conversion, so no value can overflow.
      std::optional<int64_t> v;
      if (value.is_number_unsigned()) {
        if (value.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)) v = value.get<int64_t>();
      } else if (value.is_number_integer()) {
        v = value.get<int64_t>();
      } else if (value.is_number_float()) {
        const double d = value.get<double>();
        if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.0e15) {
          v = static_cast<int64_t>(d);
        }
      }
      if (!v || (spec.minimum && *v < static_cast<int64_t>(*spec.minimum)) ||
          (spec.maximum && *v > static_cast<int64_t>(*spec.maximum))) {
        return absl::InvalidArgumentError(
            StrCat(spec.name, " must be an integer", BoundsText(spec)));
      }
      *out = *v;
      return absl::OkStatus();
    }
    case ParamSpec::Type::kNumber:
      if (!value.is_number() || !std::isfinite(value.get<double>()) ||
          !InBounds(spec, value.get<double>())) {
        return absl::InvalidArgumentError(StrCat(spec.name, " must be a number", BoundsText(spec)));
      }
      *out = value.get<double>();
      return absl::OkStatus();
    case ParamSpec::Type::kString: {
      bool ok = value.is_string();
      if (ok && !spec.allowed.empty()) {
        ok = std::find(spec.allowed.begin(), spec.allowed.end(),
                       value.get_ref<const std::string&>()) != spec.allowed.end();
      }
      if (!ok) {
        return absl::InvalidArgumentError(
            spec.allowed.empty()
                ? StrCat(spec.name, " must be a string")
                : StrCat(spec.name, " must be one of: ", StrJoin(spec.allowed, ", ")));
      }
      *out = value;
      return absl::OkStatus();
    }
  }
  return absl::InternalError("unknown param type");  // unreachable
}

StatusOr<nlohmann::json> ParamSchema::Validate(
    const nlohmann::json& params, const std::vector<std::string_view>& also_known) const {
  nlohmann::json out = nlohmann::json::object();
  for (const ParamSpec& spec : specs_) out[spec.name] = spec.default_value;
  if (params.is_null()) return out;
  if (!params.is_object()) return absl::InvalidArgumentError("params must be a JSON object");
  for (const auto& item : params.items()) {
    const std::string& key = item.key();
    const nlohmann::json& value = item.value();
    if (std::find(also_known.begin(), also_known.end(), key) != also_known.end()) continue;
    const auto spec = std::find_if(specs_.begin(), specs_.end(),
                                   [&key](const ParamSpec& s) { return s.name == key; });
    if (spec == specs_.end()) {
      std::vector<std::string_view> known;
      for (const ParamSpec& s : specs_) known.push_back(s.name);
      known.insert(known.end(), also_known.begin(), also_known.end());
      return absl::InvalidArgumentError(
          StrCat("unknown param '", key, "' for runner ", runner_,
                 " (known: ", known.empty() ? std::string("none") : StrJoin(known, ", "), ")"));
    }
    RETURN_IF_ERROR(CheckValue(*spec, value, &out[key]));
  }
  return out;
}

}  // namespace infera
