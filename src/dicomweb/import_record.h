// DicomwebImportRecord: a job of kind "dicomweb_import" (a PACS's study or series pulled
// into a dataset over DICOMweb, issue 21) — the generic JobRecord (store/job_queue.h) with
// its spec read. The spec is stored as
//   {"url", "study_uid", "series_uid", "anonymize", "auth_type", "auth_sealed"}
// where auth_sealed holds the credentials sealed (dicomweb/dicomweb_auth.h), "" for none.
//
// While it runs, the handler keeps the job's report as
//   {"listed": bool, "instances": N,
//    "imported": [{"sop_instance_uid", "file_id", "already_stored"}],
//    "refused": [{"sop_instance_uid", "error"}]}
// and its progress as instances done (imported or refused) of instances; a run that
// comes back after a restart skips the instances the report names (it does not fetch
// them again). The dataset is the job's dataset_id (deleting it deletes the job).
//
// Pure functions and wrappers over the queue; thread-safe as the queue is.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"
#include "store/job_queue.h"

namespace infera {

inline constexpr std::string_view kDicomwebImportJobKind = "dicomweb_import";

struct DicomwebImportSpec {
  std::string url;        // the DICOMweb base URL (dicomweb/dicomweb_url.h)
  std::string study_uid;  // at least one of study_uid and series_uid
  std::string series_uid;
  bool anonymize = false;          // de-identify each instance before it is stored
  std::string auth_type = "none";  // "none", "basic", "bearer"
  std::string auth_sealed;         // CredentialSealer::Seal; "" for none
};

// The queued job importing into `dataset_id` for `owner_id`. InvalidArgument for an
// empty url, no UID or a dataset id <= 0.
StatusOr<JobRecord> DicomwebImportJob(const DicomwebImportSpec& spec, int64_t owner_id,
                                      int64_t dataset_id);
// InvalidArgument for a job of another kind or a malformed spec.
StatusOr<DicomwebImportSpec> DicomwebImportSpecOf(const JobRecord& job);
// The job `id` when it is an import; "import <id> not found" (NotFound) otherwise.
StatusOr<JobRecord> GetDicomwebImport(JobQueue& queue, int64_t id);

// The API's JSON of an import: {import_id, dataset_id, status, note, url, study_uid,
// series_uid, anonymize, auth: null | {type, redacted: true}, progress: {instances_done,
// instances (null until listed)}, imported (count), already_stored (count), file_ids,
// refused: [{sop_instance_uid, error}], owner_id, attempts, cancel_requested,
// created_at, started_at, finished_at}. Never the credentials.
nlohmann::json DicomwebImportJson(const JobRecord& job);

}  // namespace infera
