// ParseTrainingParams, TrainingParamsToJson, TrainingParamsSchema (training/trainer.h):
// one table of the params (name, type, default, bounds, description) from which the
// schema and the parser are both made, so that the two cannot disagree.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common/strings.h"
#include "training/trainer.h"

namespace infera {

namespace {

enum class Kind { kString, kNumber, kInteger, kBoolean };

// One param: its JSON type and bounds (inclusive) or allowed values, and where it lives.
struct Field {
  const char* name;
  Kind kind;
  double minimum = 0, maximum = 0;
  std::vector<std::string> allowed;  // kString with a fixed set; empty: any string
  const char* description;
  std::string TrainingParams::*s = nullptr;
  double TrainingParams::*d = nullptr;
  int TrainingParams::*i = nullptr;
  uint64_t TrainingParams::*u = nullptr;
  bool TrainingParams::*b = nullptr;
};

// The largest seed: JSON numbers are exact integers up to 2^53.
constexpr double kMaxSeed = 9007199254740991.0;

const std::vector<Field>& Fields() {
  static const std::vector<Field> fields = [] {
    std::vector<Field> f;
    auto add = [&](Field field) { f.push_back(std::move(field)); };
    Field x{};
    x = Field{"optimizer", Kind::kString, 0, 0, {"adam", "sgd"}, "the optimiser (torch::optim)"};
    x.s = &TrainingParams::optimizer;
    add(x);
    x = Field{"lr", Kind::kNumber, 1e-8, 10, {}, "learning rate"};
    x.d = &TrainingParams::lr;
    add(x);
    x = Field{"momentum", Kind::kNumber, 0, 0.999, {}, "SGD momentum (Adam: unused)"};
    x.d = &TrainingParams::momentum;
    add(x);
    x = Field{"weight_decay", Kind::kNumber, 0, 1, {}, "L2 weight decay"};
    x.d = &TrainingParams::weight_decay;
    add(x);
    x = Field{"epochs", Kind::kInteger, 1, 10000, {}, "passes over the training split"};
    x.i = &TrainingParams::epochs;
    add(x);
    x = Field{"batch_size", Kind::kInteger, 1, 1024, {}, "images per optimiser step"};
    x.i = &TrainingParams::batch_size;
    add(x);
    x = Field{"schedule",
              Kind::kString,
              0,
              0,
              {"none", "cosine", "step"},
              "learning-rate schedule per epoch: none, cosine (to 0 at the last epoch) or step "
              "(times gamma every step_size epochs)"};
    x.s = &TrainingParams::schedule;
    add(x);
    x = Field{"step_size", Kind::kInteger, 1, 10000, {}, "epochs between steps (schedule step)"};
    x.i = &TrainingParams::step_size;
    add(x);
    x = Field{"gamma", Kind::kNumber, 0, 1, {}, "learning-rate factor per step (schedule step)"};
    x.d = &TrainingParams::gamma;
    add(x);
    x = Field{"freeze",
              Kind::kString,
              0,
              0,
              {},
              "parameters left unchanged: empty (none), \"encoder\" (names starting with enc, "
              "encoder, down, backbone or features) or a parameter-name prefix"};
    x.s = &TrainingParams::freeze;
    add(x);
    x = Field{"validation_fraction",
              Kind::kNumber,
              0,
              0.9,
              {},
              "share of the images held out for validation (seeded split; at least one image "
              "each side when there are two or more)"};
    x.d = &TrainingParams::validation_fraction;
    add(x);
    x = Field{"seed", Kind::kInteger,
              0,      kMaxSeed,
              {},     "seed of the split, the augmentation and the batch order"};
    x.u = &TrainingParams::seed;
    add(x);
    x = Field{
        "augment", Kind::kBoolean,
        0,         0,
        {},        "random flips, rot90, crop and scale, intensity jitter of the training images"};
    x.b = &TrainingParams::augment;
    add(x);
    x = Field{
        "patience", Kind::kInteger,
        0,          10000,
        {},         "stop after this many epochs without a better validation score; 0: never"};
    x.i = &TrainingParams::patience;
    add(x);
    x = Field{"threads", Kind::kInteger, 1, 256, {}, "intra-op threads of the training thread"};
    x.i = &TrainingParams::threads;
    add(x);
    return f;
  }();
  return fields;
}

nlohmann::json Value(const Field& f, const TrainingParams& p) {
  if (f.s) return p.*f.s;
  if (f.d) return p.*f.d;
  if (f.i) return p.*f.i;
  if (f.u) return p.*f.u;
  return p.*f.b;
}

std::string Range(double lo, double hi) { return StrCat(" between ", lo, " and ", hi); }

Status Apply(const Field& f, const nlohmann::json& v, TrainingParams* p) {
  switch (f.kind) {
    case Kind::kString: {
      if (!v.is_string()) return absl::InvalidArgumentError(StrCat(f.name, " must be a string"));
      const std::string s = v.get<std::string>();
      if (!f.allowed.empty() &&
          std::find(f.allowed.begin(), f.allowed.end(), s) == f.allowed.end()) {
        return absl::InvalidArgumentError(
            StrCat(f.name, " must be one of: ", StrJoin(f.allowed, ", "), " (not '", s, "')"));
      }
      p->*f.s = s;
      return absl::OkStatus();
    }
    case Kind::kBoolean:
      if (!v.is_boolean()) return absl::InvalidArgumentError(StrCat(f.name, " must be a boolean"));
      p->*f.b = v.get<bool>();
      return absl::OkStatus();
    case Kind::kNumber: {
      const double x = v.is_number() ? v.get<double>() : std::nan("");
      if (!v.is_number() || !std::isfinite(x) || x < f.minimum || x > f.maximum) {
        return absl::InvalidArgumentError(
            StrCat(f.name, " must be a number", Range(f.minimum, f.maximum)));
      }
      p->*f.d = x;
      return absl::OkStatus();
    }
    case Kind::kInteger: {
      const double x = v.is_number() ? v.get<double>() : std::nan("");
      if (!v.is_number() || !std::isfinite(x) || x != std::floor(x) || x < f.minimum ||
          x > f.maximum) {
        return absl::InvalidArgumentError(
            StrCat(f.name, " must be an integer", Range(f.minimum, f.maximum)));
      }
      if (f.u) {
        p->*f.u = v.is_number_unsigned() ? v.get<uint64_t>() : static_cast<uint64_t>(x);
      } else {
        p->*f.i = static_cast<int>(x);
      }
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<TrainingParams> ParseTrainingParams(const nlohmann::json& params) {
  TrainingParams out;
  if (params.is_null()) return out;
  if (!params.is_object()) {
    return absl::InvalidArgumentError("training params must be a JSON object");
  }
  for (const auto& [key, value] : params.items()) {
    const Field* field = nullptr;
    for (const Field& f : Fields()) {
      if (key == f.name) field = &f;
    }
    if (field == nullptr) {
      std::vector<std::string> names;
      for (const Field& f : Fields()) names.push_back(f.name);
      return absl::InvalidArgumentError(
          StrCat("unknown training param '", key, "' (known: ", StrJoin(names, ", "), ")"));
    }
    RETURN_IF_ERROR(Apply(*field, value, &out));
  }
  return out;
}

nlohmann::json TrainingParamsToJson(const TrainingParams& params) {
  nlohmann::json out = nlohmann::json::object();
  for (const Field& f : Fields()) out[f.name] = Value(f, params);
  return out;
}

nlohmann::json TrainingParamsSchema() {
  const TrainingParams defaults;
  nlohmann::json properties = nlohmann::json::object();
  for (const Field& f : Fields()) {
    nlohmann::json p = {{"default", Value(f, defaults)}, {"description", f.description}};
    switch (f.kind) {
      case Kind::kString:
        p["type"] = "string";
        if (!f.allowed.empty()) p["enum"] = f.allowed;
        break;
      case Kind::kBoolean:
        p["type"] = "boolean";
        break;
      case Kind::kNumber:
      case Kind::kInteger:
        p["type"] = f.kind == Kind::kNumber ? "number" : "integer";
        p["minimum"] = f.minimum;
        p["maximum"] = f.maximum;
        break;
    }
    properties[f.name] = std::move(p);
  }
  return {{"type", "object"}, {"additionalProperties", false}, {"properties", properties}};
}

}  // namespace infera
