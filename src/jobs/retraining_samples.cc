#include "jobs/retraining_samples.h"

#include <map>
#include <span>
#include <string>

#include "annotations/label_image.h"
#include "annotations/label_map.h"
#include "common/strings.h"
#include "dicom/dicom_image.h"
#include "dicom/windowing.h"

namespace infera {

namespace {

std::span<const std::byte> Bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

bool TrainsOnInstances(std::string_view runner) { return runner == "cellpose"; }

// The source image of `file`: decoded (a DICOM source's first frame, the file's window).
StatusOr<Image> LoadSourceImage(BlobStore& blobs, const FileRecord& file,
                                const DecodeLimits& limits) {
  ASSIGN_OR_RETURN(std::string bytes, blobs.Get(file.sha256));
  if (LooksLikeDicom(Bytes(bytes))) {
    DicomLimits dicom;
    dicom.max_pixels = limits.max_pixels;
    dicom.max_bytes = limits.max_bytes;
    ASSIGN_OR_RETURN(DicomPixels pixels, DecodeDicom(Bytes(bytes), dicom));
    return DisplayFrame(pixels, 0, WindowSpec{});
  }
  return DecodeImage(Bytes(bytes), limits);
}

// An instance mask as class ids: each instance its class, or `default_class`.
Image InstancesToClasses(const Image& instances, const std::map<int, int>& classes,
                         int default_class) {
  int max_class = default_class;
  for (const auto& [instance, label] : classes) max_class = std::max(max_class, label);
  Image out = MakeLabelImage(instances.width, instances.height, max_class);
  const size_t n = static_cast<size_t>(instances.width) * instances.height;
  for (size_t i = 0; i < n; ++i) {
    const int id = LabelAt(instances, i);
    if (id == 0) continue;
    auto it = classes.find(id);
    SetLabel(&out, i, it == classes.end() ? default_class : it->second);
  }
  return out;
}

}  // namespace

Status CheckSetsTrainRunner(AnnotationKind kind, int64_t set_id, std::string_view runner) {
  if (runner == "classify") {
    return absl::InvalidArgumentError(
        "runner 'classify' trains from one label per image, and annotation sets hold masks "
        "(kinds semantic and instances; there is no 'image labels' set kind yet): train "
        "classifiers offline with `infera train`");
  }
  if (TrainsOnInstances(runner) && kind != AnnotationKind::kInstances) {
    return absl::InvalidArgumentError(
        StrCat("runner '", runner, "' trains on instance masks; annotation set ", set_id, " is ",
               AnnotationKindName(kind), " (use a set of kind instances)"));
  }
  return absl::OkStatus();
}

StatusOr<RetrainingData> LoadRetrainingSamples(Store& store, AnnotationStore& annotations,
                                               BlobStore& blobs,
                                               const std::vector<int64_t>& set_ids,
                                               std::string_view runner,
                                               const DecodeLimits& limits) {
  RetrainingData out;
  for (int64_t set_id : set_ids) {
    StatusOr<AnnotationSetRecord> set = annotations.GetAnnotationSet(set_id);
    if (absl::IsNotFound(set.status())) {
      return absl::NotFoundError(StrCat("annotation set ", set_id, " not found (deleted?)"));
    }
    RETURN_IF_ERROR(set.status());
    RETURN_IF_ERROR(CheckSetsTrainRunner(set->kind, set_id, runner));
    nlohmann::json labels_json = nlohmann::json::parse(set->labels_json, nullptr, false);
    StatusOr<LabelMap> labels = ParseLabelMap(labels_json);
    const int default_class = labels.ok() && !labels->empty() ? labels->front().id : 1;
    ASSIGN_OR_RETURN(std::vector<MaskRevisionRecord> masks, annotations.ListCurrentMasks(set_id));
    if (masks.empty()) {
      return absl::InvalidArgumentError(
          StrCat("annotation set ", set_id, " ('", set->name, "') has no masks"));
    }
    nlohmann::json revisions = nlohmann::json::object();
    for (const MaskRevisionRecord& mask : masks) {
      ASSIGN_OR_RETURN(FileRecord file, store.GetFile(mask.source_file_id));
      auto named = [&](const Status& s) {
        return absl::Status(s.code(), StrCat("annotation set ", set_id, ", image '", file.filename,
                                             "': ", s.message()));
      };
      TrainingSample sample;
      sample.name = StrCat(file.dataset_id, "/", file.filename);
      StatusOr<Image> image = LoadSourceImage(blobs, file, limits);
      if (!image.ok()) return named(image.status());
      sample.image = std::move(*image);
      StatusOr<std::string> png = blobs.Get(mask.sha256);
      if (!png.ok()) return named(png.status());
      StatusOr<Image> labels_image = DecodeLabelImage(Bytes(*png), limits);
      if (!labels_image.ok()) return named(labels_image.status());
      if (set->kind == AnnotationKind::kInstances && !TrainsOnInstances(runner)) {
        nlohmann::json classes_json = nlohmann::json::parse(mask.classes_json, nullptr, false);
        StatusOr<std::map<int, int>> classes = ParseClassesJson(classes_json);
        sample.mask = InstancesToClasses(
            *labels_image, classes.ok() ? *classes : std::map<int, int>{}, default_class);
      } else {
        sample.mask = std::move(*labels_image);
      }
      revisions[std::to_string(mask.source_file_id)] = mask.revision;
      out.samples.push_back(std::move(sample));
    }
    out.sets.push_back({{"id", set->id},
                        {"name", set->name},
                        {"dataset_id", set->dataset_id},
                        {"kind", AnnotationKindName(set->kind)},
                        {"revisions", std::move(revisions)}});
  }
  return out;
}

}  // namespace infera
