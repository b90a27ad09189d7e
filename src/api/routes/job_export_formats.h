// The formats of a job's export, GET /api/inferences/{id}/export?format=NAME: one table
// (JobExportFormats) that the export route dispatches on, that its 400s list ("unknown
// format", "'format' is required") and that GET /api/inferences/{id} reports per job as
// "export_formats" (the formats that apply to that job's results; the web page's job
// links). A new format is a row here, so the route, its errors and the page cannot drift.
//
// The export functions the rows name live beside their formats: ExportJobMasks
// (api_annotation_formats.cc: label_images, coco, cvat_xml, cvat_seg_zip), ExportDicomSeg
// (api_dicom_seg.h), ExportJobLabelsCsv (image_labels.h). Each checks the id and the
// caller itself. Stateless; safe from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_context.h"
#include "api/router.h"
#include "store/store.h"

namespace infera {

struct JobExportFormat {
  std::string_view name;  // the `format` query value
  // Whether the format applies to a job (its report, ctx.jobs->Report, and its results):
  // what export_formats lists. The export itself answers 400/404/409 for a job it does
  // not apply to, with the reason.
  bool (*applies)(const nlohmann::json& job, const std::vector<JobResultRecord>& results);
  // Answers the request (streams, or responds once). The request's `format` is `name`.
  void (*export_job)(const ApiContext& ctx, const HttpRequest& req, const Responder& respond);
};

// Every format, in the order the errors and export_formats list them.
std::span<const JobExportFormat> JobExportFormats();

// The row of `name`, or nullptr when no format has that name.
const JobExportFormat* FindJobExportFormat(std::string_view name);

// "label_images, coco, cvat_xml, cvat_seg_zip, dicom_seg, labels_csv": every name, for
// error messages.
std::string JobExportFormatNames();

// The names of the formats that apply to a job (JobExportFormat::applies), as a JSON array.
nlohmann::json JobExportFormatsOf(const nlohmann::json& job,
                                  const std::vector<JobResultRecord>& results);

// The mask formats of a job (api_annotation_formats.cc): its class (or instance, `kind=`)
// masks as label_images, coco, cvat_xml or cvat_seg_zip, streamed.
void ExportJobMasks(const ApiContext& ctx, const HttpRequest& req, const Responder& respond);

}  // namespace infera
