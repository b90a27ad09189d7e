// COCO run-length encoding (pycocotools' maskApi.c; ../shared/reference/mask-formats.md
// C1): a binary H x W mask in column-major order as alternating run lengths, 0-runs
// first (the first may be 0); and its compressed string form (rleToString: deltas from
// index 3 on, 5-bit groups, least significant first, +48). Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "annotations/label_image.h"
#include "common/status.h"

namespace infera {

// The counts of a row-major width x height binary mask (nonzero = 1).
std::vector<uint32_t> CocoRleEncode(const std::vector<uint8_t>& mask, int width, int height);
// The same counts for the binary mask "labels == extent.value", reading only the label's
// box (`extent` as LabelExtents gives it): the pixels outside it are known to be 0.
std::vector<uint32_t> CocoRleEncodeLabel(const Image& labels, const LabelExtent& extent);
// The row-major binary mask (0/1) of `counts`. InvalidArgument when the counts do not
// sum to width * height.
StatusOr<std::vector<uint8_t>> CocoRleDecode(const std::vector<uint32_t>& counts, int width,
                                             int height);

// rleToString / rleFrString. InvalidArgument for a character outside '0'..'o', a string
// that ends inside a count, or counts that come out negative or too large.
std::string CocoRleToString(const std::vector<uint32_t>& counts);
StatusOr<std::vector<uint32_t>> CocoRleFromString(std::string_view text);

}  // namespace infera
