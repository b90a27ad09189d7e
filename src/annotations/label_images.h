// Plain label images (PNG or TIFF, one channel, 8/16-bit: what Cellpose and most lab
// scripts write) matched to the dataset's images by name: the same filename, the same
// stem ("a.tif" for "a.png"), or the stem with one of kLabelSuffixes ("a_mask.png",
// "a_cp_masks.png", "a_seg.tif"). Values are class ids (class sets: each must be in the
// label map when the map is not empty) or instance ids (instance sets: every instance
// of the set's first label). Export: one "<stem>_mask.png" per image.
// Pure functions; thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "annotations/import_types.h"
#include "common/status.h"

namespace infera {

// Longest first, so "_cp_masks" wins over "_masks".
inline constexpr std::string_view kLabelSuffixes[] = {"_cp_masks", "_labels", "_masks",
                                                      "_label",    "_mask",   "_seg"};

// Whether `name`'s stem ends in one of kLabelSuffixes (so it names a label image rather
// than, say, the image itself).
bool HasLabelSuffix(std::string_view name);

// The dataset image label file `name` is for, or null.
const TargetImage* MatchLabelImage(std::string_view name, const ImageMatcher& images);

// One label image file: its mask handed to `sink`, or the reason it is refused. Returns
// the sink's error.
Status ImportLabelImage(std::string_view name, std::span<const std::byte> bytes,
                        const ImageMatcher& images, const ImportOptions& options, ImportSink* sink);
// The same, appended to `result`.
void ImportLabelImage(std::string_view name, std::span<const std::byte> bytes,
                      const ImageMatcher& images, const ImportOptions& options,
                      ImportResult* result);

// "<stem of filename>_mask.png".
std::string LabelImageExportName(std::string_view filename);

}  // namespace infera
