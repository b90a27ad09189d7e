// GET /api/inferences/{id}/export?format=dicom_seg: a job's DICOM SEG files (see
// api_dicom_seg.cc), the one file or a ZIP of several. The export route
// (api_annotation_formats.cc) calls it for that format; it checks the id and the caller.
#pragma once

#include "api/api_context.h"
#include "api/router.h"

namespace infera {

void ExportDicomSeg(const ApiContext& ctx, const HttpRequest& req, const Responder& respond);

}  // namespace infera
