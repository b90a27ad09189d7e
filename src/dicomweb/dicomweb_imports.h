// DicomwebImports: the DICOMweb import service the routes call (issue 21) — starting an
// import job into a dataset, listing, reading and cancelling imports — and
// DicomwebExports, which stores an inference's DICOM result files in a PACS with STOW-RS.
//
// Start checks, so that a job never fails later on what the caller could be told at once:
// the dataset exists and the caller may see it (its owner or an admin; NotFound
// "dataset <id> not found" otherwise); the URL parses (dicomweb/dicomweb_url.h:
// InvalidArgument) and its host is allowed (dicomweb.allowed_hosts: PermissionDenied);
// the UIDs are DICOM UIDs; the credentials parse (InvalidArgument) and are sealed before
// the job is stored. The PACS is not contacted here: the job reports what it says.
//
// Export: the inference must be visible to the caller (NotFound otherwise) and completed
// (FailedPrecondition); its files of `role` ("dicom_seg" by default: role and content type
// application/dicom of its results' files; "source": the DICOM source images it ran on)
// are sent in STOW-RS requests of at most 32 files / 256 MiB each. A PACS that cannot be
// reached, refuses the credentials or fails a request ends the export (a 502 result with
// its reason); per-object refusals are reported per object.
//
// Thread-safety: every method is safe from any thread. The store, blobs, sealer and
// workers (null: none run here) must outlive the object.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "dicomweb/dicomweb_auth.h"
#include "dicomweb/dicomweb_options.h"
#include "jobs/job_workers.h"
#include "serving/ownership.h"
#include "store/blob_store.h"
#include "store/store.h"

namespace infera {

struct StartDicomwebImportRequest {
  int64_t dataset_id = 0;
  std::string url;
  std::string study_uid;
  std::string series_uid;
  DicomwebAuth auth;
  bool anonymize = false;
};

class DicomwebImports {
 public:
  DicomwebImports(Store* store, const CredentialSealer* sealer, DicomwebOptions options,
                  JobWorkers* workers)
      : store_(store), sealer_(sealer), options_(std::move(options)), workers_(workers) {}

  // Queues a job for `caller` (its owner) and wakes the workers.
  StatusOr<JobRecord> Start(const Caller& caller, const StartDicomwebImportRequest& request) const;
  // The imports `caller` may see, newest first (dataset and status filters optional).
  StatusOr<std::vector<JobRecord>> List(const Caller& caller, std::optional<int64_t> dataset_id,
                                        std::optional<JobStatus> status, int64_t limit,
                                        int64_t offset) const;
  StatusOr<JobRecord> Get(const Caller& caller, int64_t id) const;
  // Stores a cancel request; a running import stops before its next instance.
  StatusOr<JobRecord> Cancel(const Caller& caller, int64_t id) const;

  const DicomwebOptions& options() const { return options_; }

 private:
  Store* const store_;
  const CredentialSealer* const sealer_;
  const DicomwebOptions options_;
  JobWorkers* const workers_;
};

struct DicomwebExportRequest {
  int64_t inference_id = 0;
  std::string url;
  DicomwebAuth auth;
  std::string role = "dicom_seg";
};

// 200 with the per-object outcomes, or 502 when the PACS failed a request (unreachable,
// credentials refused, an HTTP error): the body then has "error" and what was stored
// before ("not_sent": the files not sent).
struct DicomwebExportResult {
  int http_status = 200;
  nlohmann::json body;
};

class DicomwebExports {
 public:
  DicomwebExports(Store* store, BlobStore* blobs, DicomwebOptions options)
      : store_(store), blobs_(blobs), options_(std::move(options)) {}

  // {inference_id, url, role, stored, failed, objects: [{file_id, filename,
  //  sop_instance_uid, status: "stored" | "failed", retrieve_url, reason}]}.
  StatusOr<DicomwebExportResult> Export(const Caller& caller,
                                        const DicomwebExportRequest& request) const;

 private:
  Store* const store_;
  BlobStore* const blobs_;
  const DicomwebOptions options_;
};

// A DICOM UID as the routes accept it: 1-64 characters of digits and dots.
bool IsDicomUid(std::string_view uid);

}  // namespace infera
