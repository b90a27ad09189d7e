#include "runners/runner.h"

#include "common/strings.h"
#include "imaging/codec.h"
#include "runners/model_description.h"

namespace infera {

const RunnerArtifact* RunnerOutput::Find(std::string_view kind) const {
  for (const RunnerArtifact& a : artifacts) {
    if (a.kind == kind) return &a;
  }
  return nullptr;
}

StatusOr<std::vector<Tensor>> Runner::AnnotationToTarget(const Image& /*annotation*/,
                                                         const Image& /*source*/,
                                                         const ModelDescription& /*model*/) const {
  return absl::UnimplementedError(StrCat("runner '", name(), "' cannot be trained"));
}

StatusOr<RunnerProbabilities> Runner::Probabilities(
    const Image& /*source*/, const RunnerInput& /*input*/,
    const std::vector<std::vector<Tensor>>& /*outputs*/, const ModelDescription& /*model*/,
    const nlohmann::json& /*params*/) const {
  return absl::UnimplementedError(
      StrCat("runner '", name(), "' does not expose probabilities (binary_sigmoid, ",
             "multiclass_argmax, classify, custom_tiff and cellpose do)"));
}

StatusOr<std::vector<std::byte>> EncodeArtifact(const RunnerArtifact& artifact) {
  switch (artifact.format) {
    case ArtifactFormat::kPng:
      return EncodePng(artifact.image);
    case ArtifactFormat::kTiff:
      return EncodeTiff(artifact.image);
  }
  return absl::InvalidArgumentError("unknown artifact format");
}

std::string_view ArtifactExtension(ArtifactFormat format) {
  return format == ArtifactFormat::kTiff ? "tif" : "png";
}

std::string_view ArtifactContentType(ArtifactFormat format) {
  return format == ArtifactFormat::kTiff ? "image/tiff" : "image/png";
}

}  // namespace infera

namespace infera {

int Runner::ModelInputChannels(const ModelDescription& model) const {
  return model.input.channels();
}

StatusOr<nlohmann::json> Runner::ResolveParams(const nlohmann::json& request,
                                               const ModelDescription& model) const {
  if (model.params.empty() || !(request.is_null() || request.is_object())) {
    return ValidateParams(request, model);
  }
  nlohmann::json merged = model.params;
  if (request.is_object()) {
    for (const auto& [key, value] : request.items()) merged[key] = value;
  }
  return ValidateParams(merged, model);
}

nlohmann::json Runner::ModelParamsSchema(const ModelDescription& model) const {
  nlohmann::json schema = params_schema();
  if (!schema.contains("properties")) return schema;
  for (const auto& [key, value] : model.params.items()) {
    if (schema["properties"].contains(key)) schema["properties"][key]["default"] = value;
  }
  return schema;
}

}  // namespace infera
