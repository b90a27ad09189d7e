#include "jobs/retraining_samples.h"

#include <algorithm>
#include <map>
#include <set>
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
  if (runner == "classify" && kind != AnnotationKind::kImageLabels) {
    return absl::InvalidArgumentError(
        StrCat("runner 'classify' trains from one label per image; annotation set ", set_id, " is ",
               AnnotationKindName(kind), " (use a set of kind image_labels)"));
  }
  if (runner != "classify" && kind == AnnotationKind::kImageLabels) {
    return absl::InvalidArgumentError(StrCat("annotation set ", set_id,
                                             " holds image labels, which train only classifiers "
                                             "(runner classify); runner '",
                                             runner, "' trains on masks"));
  }
  if (TrainsOnInstances(runner) && kind != AnnotationKind::kInstances) {
    return absl::InvalidArgumentError(
        StrCat("runner '", runner, "' trains on instance masks; annotation set ", set_id, " is ",
               AnnotationKindName(kind), " (use a set of kind instances)"));
  }
  return absl::OkStatus();
}

StatusOr<std::map<int, int>> MapImageLabelsToModel(AnnotationStore& annotations,
                                                   const AnnotationSetRecord& set,
                                                   const std::vector<std::string>& model_labels) {
  nlohmann::json labels_json = nlohmann::json::parse(set.labels_json, nullptr, false);
  StatusOr<LabelMap> labels = ParseLabelMap(labels_json);
  if (!labels.ok()) {
    return absl::InternalError(StrCat("annotation set ", set.id, " has corrupt labels"));
  }
  ASSIGN_OR_RETURN(std::vector<ImageLabelRecord> current,
                   annotations.ListCurrentImageLabels(set.id));
  std::set<int> used;
  for (const ImageLabelRecord& l : current) used.insert(l.label_id);
  if (model_labels.empty() && !used.empty()) {
    return absl::InvalidArgumentError(
        StrCat("the model names no labels (no labels file), so the labels of annotation set ",
               set.id, " cannot be matched to its classes by name"));
  }
  std::map<int, int> out;
  std::vector<std::string> missing;
  for (int id : used) {
    const AnnotationLabel* label = FindLabel(*labels, id);
    const std::string name = label != nullptr ? label->name : StrCat("label ", id);
    const auto it = std::find(model_labels.begin(), model_labels.end(), name);
    if (label == nullptr || it == model_labels.end()) {
      missing.push_back(StrCat("'", name, "'"));
      continue;
    }
    out[id] = static_cast<int>(it - model_labels.begin());
  }
  if (!missing.empty()) {
    std::vector<std::string> have;
    for (const std::string& n : model_labels) have.push_back(StrCat("'", n, "'"));
    return absl::InvalidArgumentError(
        StrCat("annotation set ", set.id, " ('", set.name,
               "') uses labels the model does not have: ", StrJoin(missing, ", "),
               " (the model's labels: ", StrJoin(have, ", "), "); labels are matched by name"));
  }
  return out;
}

StatusOr<RetrainingData> LoadRetrainingSamples(Store& store, AnnotationStore& annotations,
                                               BlobStore& blobs,
                                               const std::vector<int64_t>& set_ids,
                                               std::string_view runner,
                                               const std::vector<std::string>& model_labels,
                                               const DecodeLimits& limits) {
  RetrainingData out;
  for (int64_t set_id : set_ids) {
    StatusOr<AnnotationSetRecord> set = annotations.GetAnnotationSet(set_id);
    if (absl::IsNotFound(set.status())) {
      return absl::NotFoundError(StrCat("annotation set ", set_id, " not found (deleted?)"));
    }
    RETURN_IF_ERROR(set.status());
    RETURN_IF_ERROR(CheckSetsTrainRunner(set->kind, set_id, runner));
    if (set->kind == AnnotationKind::kImageLabels) {
      StatusOr<std::map<int, int>> classes = MapImageLabelsToModel(annotations, *set, model_labels);
      RETURN_IF_ERROR(classes.status());
      ASSIGN_OR_RETURN(std::vector<ImageLabelRecord> current,
                       annotations.ListCurrentImageLabels(set_id));
      if (current.empty()) {
        return absl::InvalidArgumentError(
            StrCat("annotation set ", set_id, " ('", set->name, "') has no labelled images"));
      }
      ASSIGN_OR_RETURN(std::vector<FileRecord> files, store.ListDatasetFiles(set->dataset_id));
      int64_t images = 0;
      for (const FileRecord& f : files) images += f.role == "source" ? 1 : 0;
      const int64_t unlabelled =
          std::max<int64_t>(0, images - static_cast<int64_t>(current.size()));
      out.unlabelled += unlabelled;
      nlohmann::json revisions = nlohmann::json::object();
      for (const ImageLabelRecord& l : current) {
        ASSIGN_OR_RETURN(FileRecord file, store.GetFile(l.source_file_id));
        TrainingSample sample;
        sample.name = StrCat(file.dataset_id, "/", file.filename);
        StatusOr<Image> image = LoadSourceImage(blobs, file, limits);
        if (!image.ok()) {
          return absl::Status(image.status().code(),
                              StrCat("annotation set ", set_id, ", image '", file.filename,
                                     "': ", image.status().message()));
        }
        sample.image = std::move(*image);
        const auto cls = classes->find(l.label_id);
        if (cls == classes->end()) {  // labelled between the two reads
          return absl::UnavailableError(
              StrCat("annotation set ", set_id, " changed while it was read; try again"));
        }
        sample.image_label = cls->second;
        revisions[std::to_string(l.source_file_id)] = l.revision;
        out.samples.push_back(std::move(sample));
      }
      out.sets.push_back({{"id", set->id},
                          {"name", set->name},
                          {"dataset_id", set->dataset_id},
                          {"kind", AnnotationKindName(set->kind)},
                          {"revisions", std::move(revisions)},
                          {"unlabelled", unlabelled}});
      continue;
    }
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
