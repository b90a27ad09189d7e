#include "runners/instance_mask.h"

#include <algorithm>

#include "common/strings.h"

namespace infera {

StatusOr<RunnerArtifact> InstanceMaskArtifact(std::span<const uint32_t> labels, int width,
                                              int height) {
  if (width < 1 || height < 1 ||
      labels.size() != static_cast<size_t>(width) * static_cast<size_t>(height)) {
    return absl::InvalidArgumentError(StrCat("an instance mask of ", width, "x", height,
                                             " needs as many labels, got ", labels.size()));
  }
  const uint32_t largest = labels.empty() ? 0 : *std::max_element(labels.begin(), labels.end());
  RunnerArtifact artifact;
  artifact.kind = "instance_mask";
  if (largest <= kMaxPngLabel) {
    artifact.image = MakeImage(width, height, 1, PixelType::kUInt16);
    uint16_t* out = artifact.image.pixels<uint16_t>();
    for (size_t i = 0; i < labels.size(); ++i) out[i] = static_cast<uint16_t>(labels[i]);
    artifact.format = ArtifactFormat::kPng;
    return artifact;
  }
  if (largest > kMaxExactFloatLabel) {
    return absl::OutOfRangeError(StrCat("instance label ", largest,
                                        " is too large to save exactly (at most ",
                                        kMaxExactFloatLabel, ")"));
  }
  artifact.image = MakeImage(width, height, 1, PixelType::kFloat32);
  float* out = artifact.image.pixels<float>();
  for (size_t i = 0; i < labels.size(); ++i) out[i] = static_cast<float>(labels[i]);
  artifact.format = ArtifactFormat::kTiff;
  return artifact;
}

}  // namespace infera
