#include "api/routes/annotation_common.h"

#include <span>

#include "api/routes/api_common.h"
#include "common/strings.h"
#include "common/utf8.h"
#include "serving/ownership.h"
#include "store/blob_store.h"

namespace infera {

nlohmann::json AnnotationSetJson(const AnnotationSetRecord& set) {
  nlohmann::json labels = nlohmann::json::parse(set.labels_json, nullptr, false);
  return {{"id", set.id},
          {"dataset_id", set.dataset_id},
          {"owner_id", set.owner_id},
          {"name", ToValidUtf8(set.name)},
          {"kind", AnnotationKindName(set.kind)},
          {"labels", labels.is_discarded() ? nlohmann::json::array() : labels},
          {"mask_count", set.mask_count},
          {"created_at", set.created_at}};
}

nlohmann::json MaskRevisionJson(const MaskRevisionRecord& r) {
  nlohmann::json classes = nlohmann::json::parse(r.classes_json, nullptr, false);
  return {{"id", r.id},
          {"set_id", r.set_id},
          {"file_id", r.source_file_id},
          {"revision", r.revision},
          {"sha256", r.sha256},
          {"size", r.size},
          {"width", r.width},
          {"height", r.height},
          {"bit_depth", r.bit_depth},
          {"author_id", r.author_id},
          {"origin", r.origin},
          {"classes", classes.is_discarded() ? nlohmann::json::object() : classes},
          {"created_at", r.created_at}};
}

StatusOr<AnnotationSetRecord> VisibleAnnotationSet(const ApiContext& ctx, const HttpRequest& req,
                                                   int64_t id) {
  StatusOr<AnnotationSetRecord> set = ctx.annotations->GetAnnotationSet(id);
  if (absl::IsNotFound(set.status())) {
    return absl::NotFoundError(StrCat("annotation set ", id, " not found"));
  }
  if (!set.ok()) return set.status();
  RETURN_IF_ERROR(CheckVisible(req.principal, set->owner_id, "annotation set", id));
  return set;
}

StatusOr<LabelMap> SetLabels(const AnnotationSetRecord& set) {
  nlohmann::json labels = nlohmann::json::parse(set.labels_json, nullptr, false);
  StatusOr<LabelMap> parsed = ParseLabelMap(labels);
  if (!parsed.ok()) {
    return absl::InternalError(StrCat("annotation set ", set.id, " has corrupt labels"));
  }
  return parsed;
}

StatusOr<FileRecord> ImageOfSet(const ApiContext& ctx, const AnnotationSetRecord& set,
                                int64_t file_id) {
  StatusOr<FileRecord> file = ctx.store->GetFile(file_id);
  if ((!file.ok() && absl::IsNotFound(file.status())) ||
      (file.ok() && (file->dataset_id != set.dataset_id || file->role != "source"))) {
    return absl::NotFoundError(
        StrCat("file ", file_id, " not found in the dataset of annotation set ", set.id));
  }
  return file;
}

StatusOr<PreparedMask> PrepareMask(const ApiContext& ctx, const AnnotationSetRecord& set,
                                   const FileRecord& image, AnnotationMask mask, int64_t author,
                                   std::string_view origin, std::optional<std::string_view> png) {
  RETURN_IF_ERROR(CheckLabelImage(mask.labels));
  if (mask.labels.width != image.width || mask.labels.height != image.height) {
    return absl::InvalidArgumentError(StrCat("the mask is ", mask.labels.width, "x",
                                             mask.labels.height, ", the image is ", image.width,
                                             "x", image.height));
  }
  ASSIGN_OR_RETURN(LabelMap labels, SetLabels(set));
  const std::vector<int> present = LabelsPresent(mask.labels);
  std::map<int, int> classes;
  if (set.kind == AnnotationKind::kSemantic) {
    if (!labels.empty()) {
      for (int v : present) {
        if (FindLabel(labels, v) == nullptr) {
          return absl::InvalidArgumentError(
              StrCat("the mask holds label ", v, ", which is not in the set's label map"));
        }
      }
    }
  } else {
    for (int v : present) {
      auto it = mask.classes.find(v);
      if (it == mask.classes.end()) continue;
      if (!labels.empty() && FindLabel(labels, it->second) == nullptr) {
        return absl::InvalidArgumentError(StrCat("instance ", v, " has class ", it->second,
                                                 ", which is not in the set's label map"));
      }
      classes[v] = it->second;
    }
  }
  std::string encoded;
  if (!png) {
    ASSIGN_OR_RETURN(std::vector<std::byte> bytes, EncodeLabelPng(mask.labels));
    encoded.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    png = encoded;
  }
  ASSIGN_OR_RETURN(PinnedBlob blob, PutPinned(*ctx.store, *ctx.blobs,
                                              std::as_bytes(std::span(png->data(), png->size()))));
  PreparedMask prepared;
  prepared.revision.source_file_id = image.id;
  prepared.revision.sha256 = blob.info.sha256;
  prepared.revision.size = blob.info.size;
  prepared.revision.width = mask.labels.width;
  prepared.revision.height = mask.labels.height;
  prepared.revision.bit_depth = mask.labels.type == PixelType::kUInt8 ? 8 : 16;
  prepared.revision.author_id = author;
  prepared.revision.origin = std::string(origin);
  prepared.revision.classes_json = ClassesJson(classes).dump();
  prepared.blob = std::move(blob);
  return prepared;
}

StatusOr<MaskRevisionRecord> WriteMaskRevision(const ApiContext& ctx,
                                               const AnnotationSetRecord& set,
                                               const FileRecord& image, AnnotationMask mask,
                                               int64_t author, std::string_view origin,
                                               std::optional<std::string_view> png) {
  ASSIGN_OR_RETURN(PreparedMask prepared,
                   PrepareMask(ctx, set, image, std::move(mask), author, origin, png));
  ASSIGN_OR_RETURN(std::vector<MaskRevisionRecord> written,
                   ctx.annotations->AddMaskRevisions(set.id, {prepared.revision}));
  return written.at(0);
}

}  // namespace infera
