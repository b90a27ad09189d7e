// What the annotation routes share (api_annotations.cc, api_annotation_formats.cc): the
// JSON of sets and revisions, ownership of sets, the images of a set, and turning a mask
// into a stored revision (checked, encoded, its blob pinned until the revision is
// written).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "annotations/label_image.h"
#include "annotations/label_map.h"
#include "api/api_context.h"
#include "api/http_types.h"
#include "common/status.h"
#include "store/annotation_store.h"
#include "store/blob_lifetime.h"
#include "store/store.h"

namespace infera {

nlohmann::json AnnotationSetJson(const AnnotationSetRecord& set);
nlohmann::json MaskRevisionJson(const MaskRevisionRecord& revision);

// The set when the caller may see it (serving/ownership's rules: owner, admin, or auth
// off); "annotation set <id> not found" (404) otherwise.
StatusOr<AnnotationSetRecord> VisibleAnnotationSet(const ApiContext& ctx, const HttpRequest& req,
                                                   int64_t id);
// The set's label map (as stored; checked when it was written).
StatusOr<LabelMap> SetLabels(const AnnotationSetRecord& set);
// Source file `file_id` of the set's dataset; NotFound otherwise.
StatusOr<FileRecord> ImageOfSet(const ApiContext& ctx, const AnnotationSetRecord& set,
                                int64_t file_id);

// A mask ready to be written: its revision record (no id yet) and its blob, pinned.
struct PreparedMask {
  MaskRevisionRecord revision;
  PinnedBlob blob;
};

// Checks `mask` against the set and the image — the image's shape (InvalidArgument
// "the mask is WxH, the image is WxH"); for semantic sets every label in the set's map
// (when the map is not empty); for instance sets, classes of the map (instances absent
// from the mask are dropped) — then stores its label PNG (`png`, when the caller has the
// mask's own PNG bytes, else encoded) pinned.
StatusOr<PreparedMask> PrepareMask(const ApiContext& ctx, const AnnotationSetRecord& set,
                                   const FileRecord& image, AnnotationMask mask, int64_t author,
                                   std::string_view origin,
                                   std::optional<std::string_view> png = std::nullopt);

// PrepareMask, then the revision written.
StatusOr<MaskRevisionRecord> WriteMaskRevision(const ApiContext& ctx,
                                               const AnnotationSetRecord& set,
                                               const FileRecord& image, AnnotationMask mask,
                                               int64_t author, std::string_view origin,
                                               std::optional<std::string_view> png = std::nullopt);

}  // namespace infera
