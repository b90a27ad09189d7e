// Fuzz target: model.yaml (models/model_config ApplyModelYaml over yaml-cpp), which an
// admin's model upload (POST /api/models) supplies.
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "models/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  YAML::Node node;
  try {
    node = YAML::Load(std::string(infera::fuzz::Text(data, size)));
  } catch (const YAML::Exception&) {
    return 0;  // not YAML: YamlReader::LoadFile reports it as InvalidArgument
  }
  infera::ModelConfig config = infera::DefaultClassifierConfig();
  config.name = "fuzz_model";
  (void)infera::ApplyModelYaml(node, "model.yaml", infera::fuzz::ScratchDir(), &config);
  return 0;
}
