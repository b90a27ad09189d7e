// VOI windowing: DICOM modality values (dicom_image.h) to 8-bit grey levels, with the
// file's window, a named preset (lung, soft tissue, bone, brain) or an explicit
// [centre, width] — the `window` of a model's input (model.yaml) or of a job's params.
// Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "dicom/dicom_image.h"
#include "imaging/image.h"

namespace infera {

struct NamedWindow {
  std::string_view name;
  VoiWindow window;
};

// lung [-600, 1500], soft_tissue [40, 400], bone [400, 1800], brain [40, 80] (HU).
std::span<const NamedWindow> WindowPresets();

// Which window to use.
struct WindowSpec {
  enum class Kind {
    kFile,      // the file's WindowCenter/Width; the frame's min..max when it has none
    kPreset,    // a named preset
    kExplicit,  // [centre, width]
  };
  Kind kind = Kind::kFile;
  std::string preset;  // kPreset: its name
  VoiWindow window;    // kPreset, kExplicit
};

// Parses "file", a preset name ("lung", "soft_tissue", "bone", "brain"; "soft-tissue"
// and "soft tissue" too) or [centre, width] (numbers, width >= 1). InvalidArgument with
// the accepted forms otherwise.
StatusOr<WindowSpec> ParseWindowSpec(const nlohmann::json& value);
// "file", the preset's name or [c, w]: what ParseWindowSpec reads back.
nlohmann::json WindowSpecJson(const WindowSpec& spec);

// The window `spec` picks for `frame` (float32 modality values) of an image described by
// `info`: kFile takes the file's window, else centre (min+max)/2 and width max-min of
// the frame (at least 1).
VoiWindow ResolveWindow(const WindowSpec& spec, const DicomInstanceInfo& info, const Image& frame);

// The LINEAR VOI function (PS3.3 C.11.2.1.2.1) from `frame` (float32, 1 channel) to
// uint8 grey levels 0..255, rounded; `invert` (MONOCHROME1) maps 255 - y. Precondition:
// a 1-channel float32 image.
Image ApplyWindow(const Image& frame, VoiWindow window, bool invert);

// Frame `index` of `pixels` as an 8-bit image for a model or a viewer: monochrome frames
// windowed with `spec` (1 channel; MONOCHROME1 inverted), colour frames as RGB scaled
// from BitsStored to 8 bits (3 channels; no window). `index` must be < frames.size().
Image DisplayFrame(const DicomPixels& pixels, int index, const WindowSpec& spec);

}  // namespace infera
