#include "serving/oip_metadata.h"

namespace infera {

const std::vector<std::string>& OipExtensions() {
  static const std::vector<std::string> extensions = {"binary_tensor_data", "classification",
                                                      "model_configuration", "schedule_policy",
                                                      "statistics"};
  return extensions;
}

OipModelMetadata DescribeOipModel(const ModelRegistry& models, const Model& model) {
  OipModelMetadata m;
  m.name = model.config().name;
  for (const auto& loaded : models.List()) {
    if (loaded->config().name == m.name) {
      m.versions.push_back(std::to_string(loaded->config().version));
    }
  }
  m.platform = "pytorch_torchscript";
  m.inputs = {model.InputInfo()};
  m.outputs = model.OutputInfo();
  return m;
}

}  // namespace infera
