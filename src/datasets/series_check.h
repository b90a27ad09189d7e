// SeriesCheck: the series rule of DICOM ingestion — a DICOM file whose size (rows,
// columns, samples, frames...: dicom/series.h SeriesMismatch) differs from the first file
// of its series already in the dataset (or earlier in the same upload or import) is
// refused before it is stored. Used by uploads (api/routes/api_datasets.cc) and the
// DICOMweb import job (dicomweb/), so both refuse the same files for the same reasons.
//
// The dataset's series are loaded on first use from the stored files' headers. With
// anonymize on, series are compared under their pseudonymous SeriesInstanceUID (the one
// that will be stored).
//
// Thread-safety: one SeriesCheck per upload / import, on one thread. The stores must
// outlive it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "common/status.h"
#include "datasets/ingest.h"
#include "dicom/dicom_image.h"
#include "store/blob_store.h"
#include "store/store.h"

namespace infera {

// The salt of a dataset's pseudonymous UIDs (anonymize=true): stable per dataset, so a
// series uploaded (or imported) in parts stays one series.
std::string DatasetAnonymizeSalt(const DatasetRecord& dataset);

class SeriesCheck {
 public:
  // `limits` (anonymize, salt, max_file_bytes) must outlive the check.
  SeriesCheck(Store& store, BlobStore& blobs, int64_t dataset_id, const IngestLimits& limits)
      : store_(store), blobs_(blobs), dataset_id_(dataset_id), limits_(limits) {}

  // The reason the DICOM file at `path` cannot join its series, "" when it can (or is not
  // DICOM, or unreadable: ingestion gives that reason). Store errors are returned.
  StatusOr<std::string> Refusal(const std::filesystem::path& path);
  // Records a stored file's series.
  void Stored(const std::filesystem::path& path);

 private:
  std::optional<DicomInstanceInfo> ReadInfo(const std::filesystem::path& path) const;
  Status Load();

  Store& store_;
  BlobStore& blobs_;
  const int64_t dataset_id_;
  const IngestLimits& limits_;
  bool loaded_ = false;
  std::map<std::string, DicomInstanceInfo> first_;
};

}  // namespace infera
