// The DICOMweb routes (issue 21; the rules are dicomweb/dicomweb_imports.h's):
//   POST /api/datasets/{id}/import/dicomweb  {url, study_uid | series_uid, auth?, anonymize?}
//                                   -> 202 {import_id, dataset_id, status: "queued"}
//   GET  /api/dicomweb/imports      ?dataset_id=&status=&limit=&offset= -> {"imports": [...]}
//                                   (the caller's own; an admin's: all)
//   GET  /api/dicomweb/imports/{id} -> the import: status, progress (instances done of
//                                   instances), imported file ids, refusals, note
//   POST /api/dicomweb/imports/{id}/cancel -> the import (stops before its next instance)
//   POST /api/inferences/{id}/export/dicomweb {url, auth?, role?} -> 200 what the PACS said
//                                   per object; 502 when the PACS failed a request
// auth: {type: "basic", username, password} or {type: "bearer", token}; shown redacted.
// Malformed ids and bodies 400; a URL whose host is not in dicomweb.allowed_hosts 403;
// unknown (or someone else's) datasets, imports and inferences 404; exporting an
// inference that has not completed, or has no such files, 409.
//
// Registered by the server (server/server.cc) with its services; the services must
// outlive the router. Null services: the routes answer 501.
#pragma once

#include "api/api_context.h"
#include "api/router.h"
#include "dicomweb/dicomweb_imports.h"

namespace infera {

void AddDicomwebRoutes(Router& router, const ApiContext& ctx, const DicomwebImports* imports,
                       const DicomwebExports* exports);

}  // namespace infera
