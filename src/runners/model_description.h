// ModelDescription: what a runner knows of the model it serves — the model's name (for
// messages), its input spec, its class labels and its param defaults. Nothing about how
// the model is loaded or scheduled (artifact, backend, batching, instances): that is
// ModelConfig's (models/model_config.h), which extends this struct, so a ModelConfig or
// a loaded Model's description() is passed wherever a runner wants a description.
//
// Defined at the runners' layer so that runners never see models/.
// Value type; no synchronisation.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "imaging/preprocess.h"

namespace infera {

struct ModelDescription {
  std::string name;
  // The network's input as preprocessing makes it (colour, size, resize mode, scale,
  // mean/std, layout, dtype).
  InputSpec input;
  // Class names by class index (from the model's labels file); empty: no labels.
  std::vector<std::string> labels;
  // The runner's param defaults for this model (a JSON object, validated against the
  // runner's schema at load); a request's params are applied over them.
  nlohmann::json params = nlohmann::json::object();
  // model.yaml's input.window for DICOM inputs (dicom/windowing.h's forms: "file", a
  // preset name, [centre, width]), checked at load; null: the file's window.
  nlohmann::json window;
};

}  // namespace infera
