// OverlayOutlines: a preview of an instance segmentation for people — the
// source image (PreviewBase: 8-bit RGB, 16-bit and float sources
// contrast-stretched between their 1st and 99th percentiles) with the outline
// of every object drawn over it, opaque, in the object's colour
// LabelColor(label) (overlay.h's palette of kPaletteSize colours, so labels k
// and k + kPaletteSize share a colour).
//
// A pixel is on its object's outline when its label is not 0 and it lies on the
// image border or one of its 4 neighbours has another label: the object's inner
// boundary, the pixels Cellpose's masks_to_outlines draws (cv2 external
// contours per mask; holes are filled by then).
//
// Pure function; thread-safe.
#pragma once

#include <cstdint>
#include <span>

#include "common/status.h"
#include "imaging/image.h"

namespace infera {

// `labels`: source.width * source.height labels, row-major. InvalidArgument
// when the label count does not match the source, or as PreviewBase.
StatusOr<Image> OverlayOutlines(const Image& source, std::span<const uint32_t> labels);

}  // namespace infera
