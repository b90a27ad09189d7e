// JobExport: an inference job's results as a tree of files — the layout the ZIP
// download streams and `infera infer --output` writes:
//   images/<source filename>        the originals (when include_sources)
//   masks/<stem>_mask.png           class masks (`_instances.png`, `_probability.tif`, or
//                                   `.tif` for label maps over 16 bits)
//   previews/<stem>_preview.png     overlays
//   dicom_seg/<series uid>.seg.dcm  the job-level files: DICOM SEG objects, one per
//                                   series of a job on DICOM input (jobs/dicom_seg_job.h)
//   results.json                    JobReport (written by the caller)
// Thread-safe as the Store is.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace infera {

struct ExportEntry {
  std::string path;  // relative, '/'-separated ("masks/a_mask.png")
  FileRecord file;   // the stored file (its blob is file.sha256)
};

// The folder a result file of `kind` goes in: "previews" for previews, "masks" for
// every other kind.
std::string_view ExportFolder(std::string_view kind);

// The job record as the API returns it, with "results" (every result record) and
// "errors" ([{source_filename, error}] of the images that failed). *records receives the
// result records when not null. NotFound for an unknown job.
StatusOr<nlohmann::json> JobReport(Store& store, int64_t id,
                                   std::vector<JobResultRecord>* records = nullptr);

// The files of `results`, in result order (within a result: the source, the masks, the
// previews). A source file that is gone (its dataset was deleted) is left out.
StatusOr<std::vector<ExportEntry>> JobExportEntries(Store& store,
                                                    const std::vector<JobResultRecord>& results,
                                                    bool include_sources);

// The job's job-level files (Store::AddJobFile: its DICOM SEG objects) as
// "<role>/<filename>" entries, by id. NotFound for an unknown job.
StatusOr<std::vector<ExportEntry>> JobFileExportEntries(Store& store, int64_t job_id);

}  // namespace infera
