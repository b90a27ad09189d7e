#include "jobs/dicom_seg_job.h"

#include <map>
#include <memory>
#include <set>

#include "common/strings.h"
#include "datasets/ingest.h"
#include "dicom/anonymize.h"
#include "dicom/dicom_image.h"
#include "dicom/series.h"
#include "imaging/overlay.h"
#include "store/blob_lifetime.h"

namespace infera {

namespace {

constexpr uint32_t kBinaryForeground = 255;  // binary_sigmoid's and cellpose's class masks

uint32_t MaxValue(const Image& mask) {
  uint32_t max = 0;
  const size_t n = static_cast<size_t>(mask.width) * mask.height;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t v = mask.type == PixelType::kUInt8 ? mask.pixels<uint8_t>()[i * mask.channels]
                                                      : mask.pixels<uint16_t>()[i * mask.channels];
    max = std::max(max, v);
  }
  return max;
}

std::set<uint32_t> Values(const std::vector<const Image*>& masks) {
  std::set<uint32_t> values;
  for (const Image* mask : masks) {
    const size_t n = static_cast<size_t>(mask->width) * mask->height;
    for (size_t i = 0; i < n; ++i) {
      values.insert(mask->type == PixelType::kUInt8 ? mask->pixels<uint8_t>()[i * mask->channels]
                                                    : mask->pixels<uint16_t>()[i * mask->channels]);
    }
  }
  values.erase(0);
  return values;
}

// One DICOM source file of the job with its result's class mask.
struct Instance {
  FileRecord file;
  FileRecord mask;  // the result's class_mask file
  DicomInstanceInfo info;
};

nlohmann::json SegmentsJson(const std::vector<SegSegment>& segments) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < segments.size(); ++i) {
    out.push_back({{"number", i + 1}, {"label", segments[i].label}, {"value", segments[i].value}});
  }
  return out;
}

std::span<const std::byte> Bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

}  // namespace

std::vector<SegSegment> MaskSegments(std::string_view runner, const ModelDescription& model,
                                     const std::vector<const Image*>& masks) {
  const std::vector<std::string>& labels = model.labels;
  if (runner == "binary_sigmoid") {
    std::string label = labels.size() >= 2 ? labels[1] : labels.size() == 1 ? labels[0] : "";
    if (label.empty()) label = "foreground";
    return {{kBinaryForeground, label, LabelColor(1)}};
  }
  if (runner == "cellpose") return {{kBinaryForeground, "cell", LabelColor(1)}};
  std::vector<SegSegment> out;
  for (size_t k = 1; k < labels.size(); ++k) {
    const std::string label = labels[k].empty() ? StrCat("class ", k) : labels[k];
    out.push_back({static_cast<uint32_t>(k), label, LabelColor(static_cast<int64_t>(k))});
  }
  uint32_t max = 0;
  for (const Image* mask : masks) max = std::max(max, MaxValue(*mask));
  if (max >= labels.size()) {
    // Values without a label: those present only (a 16-bit mask has 65535 possible).
    for (uint32_t v : Values(masks)) {
      if (v < labels.size()) continue;
      out.push_back({v, StrCat("class ", v), LabelColor(v)});
    }
  }
  return out;
}

StatusOr<DicomSegOutput> WriteJobDicomSegs(Store& store, BlobStore& blobs, const DicomSegJob& job) {
  DicomSegOutput out;
  ASSIGN_OR_RETURN(std::vector<FileRecord> sources, store.ListDatasetFiles(job.dataset_id));
  std::vector<FileRecord> dicom;
  for (FileRecord& f : sources) {
    if (f.content_type == kDicomContentType) dicom.push_back(std::move(f));
  }
  if (dicom.empty()) return out;  // not a job on DICOM input
  ASSIGN_OR_RETURN(std::vector<JobResultRecord> results, store.ListJobResults(job.job_id));
  std::map<int64_t, FileRecord> masks_by_source;
  for (const JobResultRecord& r : results) {
    if (!r.error.empty()) continue;
    if (const FileRecord* mask = r.File("class_mask")) masks_by_source[r.source_file_id] = *mask;
  }
  if (masks_by_source.empty()) return out;  // a classifier, or every image failed

  std::vector<Instance> instances;
  std::vector<DicomInstanceInfo> infos;
  for (FileRecord& f : dicom) {
    auto it = masks_by_source.find(f.id);
    if (it == masks_by_source.end()) continue;
    ASSIGN_OR_RETURN(std::string bytes, blobs.Get(f.sha256));
    StatusOr<DicomInstanceInfo> info = ReadDicomInfo(Bytes(bytes));
    if (!info.ok()) continue;  // checked at upload; not expected
    instances.push_back({std::move(f), it->second, *info});
    infos.push_back(std::move(*info));
  }
  ASSIGN_OR_RETURN(std::vector<FileRecord> existing,
                   store.ListJobFiles(job.job_id, std::string(kDicomSegRole)));
  std::map<std::string, FileRecord> existing_by_name;
  for (FileRecord& f : existing) {
    if (f.result_id == 0) existing_by_name[f.filename] = std::move(f);
  }

  for (const DicomSeries& series : GroupSeries(infos)) {
    const std::string uid = series.series_instance_uid;
    const std::string name = StrCat(uid.empty() ? "series" : uid, ".seg.dcm");
    // The masks, in slice order.
    std::vector<Image> masks;
    std::vector<std::string> source_bytes;
    std::string problem;
    for (size_t m : series.members) {
      const Instance& in = instances[m];
      ASSIGN_OR_RETURN(std::string mask_bytes, blobs.Get(in.mask.sha256));
      StatusOr<Image> mask = DecodeImage(Bytes(mask_bytes), job.decode);
      if (!mask.ok()) {
        problem = StrCat("the mask of '", in.file.filename, "' cannot be read (",
                         mask.status().message(), ")");
        break;
      }
      masks.push_back(std::move(*mask));
    }
    std::vector<const Image*> mask_ptrs;
    for (const Image& m : masks) mask_ptrs.push_back(&m);
    const std::vector<SegSegment> segments = problem.empty()
                                                 ? MaskSegments(job.runner, *job.model, mask_ptrs)
                                                 : std::vector<SegSegment>{};
    if (problem.empty() && segments.empty()) problem = "the model's masks have no segment";
    if (!problem.empty()) {
      out.skipped.push_back(StrCat("series ", uid, ": ", problem));
      continue;
    }
    auto entry = [&](const FileRecord& f) {
      return nlohmann::json{{"series_uid", uid},
                            {"file_id", f.id},
                            {"filename", f.filename},
                            {"frames", f.pages},
                            {"segments", SegmentsJson(segments)}};
    };
    if (auto it = existing_by_name.find(name); it != existing_by_name.end()) {
      out.files.push_back(entry(it->second));
      continue;
    }

    for (size_t m : series.members) {
      ASSIGN_OR_RETURN(std::string bytes, blobs.Get(instances[m].file.sha256));
      source_bytes.push_back(std::move(bytes));
    }
    std::vector<SegSource> seg_sources;
    for (size_t i = 0; i < series.members.size(); ++i) {
      seg_sources.push_back({Bytes(source_bytes[i]), &masks[i]});
    }
    SegOptions options;
    options.algorithm_name = job.model_name;
    options.algorithm_version = std::to_string(job.model_version);
    options.series_instance_uid = PseudonymousUid(uid, StrCat("infera-seg-series/", job.job_id));
    options.sop_instance_uid = PseudonymousUid(uid, StrCat("infera-seg-instance/", job.job_id));
    options.series_number = 1000;
    StatusOr<DicomSeg> seg = WriteDicomSeg(seg_sources, segments, options);
    if (!seg.ok()) {
      out.skipped.push_back(StrCat("series ", uid, ": ", seg.status().message()));
      continue;
    }
    ASSIGN_OR_RETURN(PinnedBlob blob, PutPinned(store, blobs, seg->bytes));
    FileRecord file;
    file.job_id = job.job_id;
    file.role = std::string(kDicomSegRole);
    file.filename = name;
    file.content_type = std::string(kDicomContentType);
    file.sha256 = blob.info.sha256;
    file.size = blob.info.size;
    file.width = seg->columns;
    file.height = seg->rows;
    file.pages = seg->frames;
    StatusOr<FileRecord> added = store.AddJobFile(file, job.worker);
    if (absl::IsAlreadyExists(added.status())) {
      // Another run of the job wrote it meanwhile: that one stands.
      blob.pin.Release();
      ASSIGN_OR_RETURN(std::vector<FileRecord> now,
                       store.ListJobFiles(job.job_id, std::string(kDicomSegRole)));
      for (const FileRecord& f : now) {
        if (f.result_id == 0 && f.filename == name) out.files.push_back(entry(f));
      }
      RETURN_IF_ERROR(
          SweepUnusedBlobs(store, blobs, std::vector<std::string>{file.sha256}).status());
      continue;
    }
    if (!added.ok()) {
      // The lease is lost or the store failed: the bytes no record took go now.
      blob.pin.Release();
      (void)SweepUnusedBlobs(store, blobs, std::vector<std::string>{file.sha256});
      return added.status();
    }
    out.files.push_back(entry(*added));
  }
  return out;
}

}  // namespace infera
