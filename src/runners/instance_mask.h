// InstanceMaskArtifact: an instance label map (object labels 1..N, 0 =
// background) as the "instance_mask" artifact, in the format Cellpose saves its
// masks in:
//   largest label <= 65535  -> a 1-channel 16-bit PNG (Cellpose's
//   _cp_masks.png); larger                  -> a 1-channel 32-bit TIFF
//   (Cellpose falls back to .tif). The
//                              samples are float32 (Image has no 32-bit integer
//                              type), which hold every label up to
//                              kMaxExactFloatLabel exactly.
// Pure function; thread-safe.
#pragma once

#include <cstdint>
#include <span>

#include "common/status.h"
#include "runners/runner.h"

namespace infera {

// The largest label a float32 sample holds exactly (2^24). With DecodeImage's
// pixel limit (100 Mpx) and Cellpose's clustering (objects of more than 10
// pixels), never reached.
inline constexpr uint32_t kMaxExactFloatLabel = 1u << 24;
// The largest label a 16-bit PNG holds.
inline constexpr uint32_t kMaxPngLabel = 65535;

// The artifact of a width x height label map (row-major). InvalidArgument when
// labels.size() != width * height or a side is < 1; OutOfRange when a label
// exceeds kMaxExactFloatLabel.
StatusOr<RunnerArtifact> InstanceMaskArtifact(std::span<const uint32_t> labels, int width,
                                              int height);

}  // namespace infera
