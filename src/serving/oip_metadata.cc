#include "serving/oip_metadata.h"

#include "backends/backend_registry.h"

namespace infera {

const std::vector<std::string>& OipExtensions() {
  static const std::vector<std::string> extensions = {"binary_tensor_data", "classification",
                                                      "model_configuration", "schedule_policy",
                                                      "statistics"};
  return extensions;
}

std::string OipPlatform(const Model& model) { return BackendPlatform(model.config().backend); }

OipModelMetadata DescribeOipModel(const ModelRegistry& models, const Model& model) {
  OipModelMetadata m;
  m.name = model.config().name;
  for (const auto& loaded : models.List()) {
    if (loaded->config().name == m.name) {
      m.versions.push_back(std::to_string(loaded->config().version));
    }
  }
  m.platform = OipPlatform(model);
  m.inputs = {model.InputInfo()};
  m.outputs = model.OutputInfo();
  return m;
}

}  // namespace infera
