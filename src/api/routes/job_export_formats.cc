#include "api/routes/job_export_formats.h"

#include <array>

#include "api/http_status.h"
#include "api/routes/api_dicom_seg.h"
#include "api/routes/image_labels.h"
#include "common/strings.h"

namespace infera {

namespace {

// A result mask the mask formats export: a one-channel PNG (ExportJobMasks' rule).
bool HasMasks(const nlohmann::json& /*job*/, const std::vector<JobResultRecord>& results) {
  for (const JobResultRecord& r : results) {
    for (std::string_view kind : {"class_mask", "instance_mask"}) {
      const FileRecord* f = r.File(kind);
      if (f != nullptr && f->content_type == "image/png" && f->channels == 1) return true;
    }
  }
  return false;
}

// The job wrote DICOM SEG files (its report's "dicom_seg", jobs/inference_record.h).
bool HasDicomSeg(const nlohmann::json& job, const std::vector<JobResultRecord>& /*results*/) {
  auto it = job.find("dicom_seg");
  return it != job.end() && it->is_array() && !it->empty();
}

bool IsFinishedClassificationJob(const nlohmann::json& job,
                                 const std::vector<JobResultRecord>& results) {
  for (const JobResultRecord& r : results) {
    if (r.error.empty()) return IsClassificationJob(job, results);
  }
  return false;  // no result yet: nothing to export
}

void ExportLabelsCsvOfJob(const ApiContext& ctx, const HttpRequest& req, const Responder& respond) {
  StatusOr<HttpResponse> csv = ExportJobLabelsCsv(ctx, req);
  respond(csv.ok() ? std::move(*csv) : StatusResponse(csv.status()));
}

constexpr std::array<JobExportFormat, 6> kFormats = {{
    {"label_images", HasMasks, ExportJobMasks},
    {"coco", HasMasks, ExportJobMasks},
    {"cvat_xml", HasMasks, ExportJobMasks},
    {"cvat_seg_zip", HasMasks, ExportJobMasks},
    {"dicom_seg", HasDicomSeg, ExportDicomSeg},
    {"labels_csv", IsFinishedClassificationJob, ExportLabelsCsvOfJob},
}};

}  // namespace

std::span<const JobExportFormat> JobExportFormats() { return kFormats; }

const JobExportFormat* FindJobExportFormat(std::string_view name) {
  for (const JobExportFormat& f : kFormats) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string JobExportFormatNames() {
  std::vector<std::string_view> names;
  for (const JobExportFormat& f : kFormats) names.push_back(f.name);
  return StrJoin(names, ", ");
}

nlohmann::json JobExportFormatsOf(const nlohmann::json& job,
                                  const std::vector<JobResultRecord>& results) {
  nlohmann::json out = nlohmann::json::array();
  for (const JobExportFormat& f : kFormats) {
    if (f.applies(job, results)) out.push_back(f.name);
  }
  return out;
}

}  // namespace infera
