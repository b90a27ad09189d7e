// DicomwebImportJobHandler: runs jobs of kind "dicomweb_import" (dicomweb/import_record.h)
// — the instances of a study or series of a PACS pulled into a dataset:
//
//   QIDO-RS search (the instances, listed on every run) -> for each instance not yet in
//   the job's report: WADO-RS retrieve -> the upload path of a dataset: SeriesCheck
//   (datasets/series_check.h), IngestFileOnce (datasets/ingest.h: decoded whole,
//   `anonymize` de-identifies first, per-file refusals) -> report and progress.
//
// The report (UpdateJobProgress after every instance) names every instance done, so a job
// that comes back after a restart (Release, a crash: its lease expires) fetches only the
// ones not done yet; an instance stored but not yet reported when the server died is
// stored once (IngestFileOnce: same bytes, same name). ctx.Check() runs before every
// instance: a cancel ends the job `canceled` with what was imported kept; the workers
// stopping hand it back (Release).
//
// The job fails, with a reason naming the PACS URL (never the credentials), when the PACS
// cannot be reached, refuses the credentials (HTTP 401/403: "refused the credentials"),
// knows no such study/series, or answers against the standard; or when the URL's host is
// no longer allowed (dicomweb.allowed_hosts), the dataset is gone, or the sealed
// credentials cannot be opened. Instances the dataset refuses (undecodable, not fitting
// their series, too large) are listed with their reason and the rest kept; a job that
// stored nothing and refused something fails with the first reason.
//
// Each HTTP exchange is bounded by DicomwebOptions::timeout, which should stay below two
// thirds of the job lease (Check renews it between instances).
//
// Thread-safety: Run is called from several worker threads at once; each run keeps its
// own state. The stores, the sealer and the budget must outlive the handler.
#pragma once

#include <filesystem>
#include <string_view>

#include "datasets/ingest.h"
#include "dicomweb/dicomweb_auth.h"
#include "dicomweb/dicomweb_options.h"
#include "dicomweb/import_record.h"
#include "jobs/job_handler.h"
#include "store/blob_store.h"
#include "store/store.h"

namespace infera {

struct DicomwebImportJobOptions {
  DicomwebOptions dicomweb;
  // decode limits, max_file_bytes and the ingest budget of uploads (anonymize and its salt
  // are set per job).
  IngestLimits ingest;
  std::filesystem::path tmp_dir;  // where each fetched instance is written before ingestion
};

class DicomwebImportJobHandler final : public JobHandler {
 public:
  DicomwebImportJobHandler(Store* store, BlobStore* blobs, const CredentialSealer* sealer,
                           DicomwebImportJobOptions options);
  std::string_view kind() const override { return kDicomwebImportJobKind; }
  JobOutcome Run(JobContext& ctx) override;

 private:
  Store* const store_;
  BlobStore* const blobs_;
  const CredentialSealer* const sealer_;
  const DicomwebImportJobOptions options_;
};

}  // namespace infera
