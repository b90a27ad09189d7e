#include "datasets/series_check.h"

#include <fstream>
#include <span>
#include <system_error>
#include <vector>

#include "common/strings.h"
#include "dicom/anonymize.h"
#include "dicom/series.h"

namespace infera {

namespace fs = std::filesystem;

std::string DatasetAnonymizeSalt(const DatasetRecord& dataset) {
  return StrCat("infera-dataset-", dataset.id, "-", dataset.created_at);
}

StatusOr<std::string> SeriesCheck::Refusal(const fs::path& path) {
  std::optional<DicomInstanceInfo> info = ReadInfo(path);
  if (!info) return std::string();
  RETURN_IF_ERROR(Load());
  auto it = first_.find(info->series_instance_uid);
  if (it == first_.end()) return std::string();
  const std::string mismatch = SeriesMismatch(it->second, *info);
  return mismatch.empty() ? mismatch
                          : StrCat("this DICOM file does not fit its series: ", mismatch);
}

void SeriesCheck::Stored(const fs::path& path) {
  if (std::optional<DicomInstanceInfo> info = ReadInfo(path)) {
    first_.emplace(info->series_instance_uid, *info);
  }
}

std::optional<DicomInstanceInfo> SeriesCheck::ReadInfo(const fs::path& path) const {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec || size < 132 || size > limits_.max_file_bytes) return std::nullopt;
  std::vector<std::byte> bytes(size);
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) {
    return std::nullopt;
  }
  if (!LooksLikeDicom(bytes)) return std::nullopt;
  StatusOr<DicomInstanceInfo> info = ReadDicomInfo(bytes);
  if (!info.ok()) return std::nullopt;
  if (limits_.anonymize) {
    info->series_instance_uid = PseudonymousUid(info->series_instance_uid, limits_.anonymize_salt);
  }
  return *info;
}

Status SeriesCheck::Load() {
  if (loaded_) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<FileRecord> files, store_.ListDatasetFiles(dataset_id_));
  for (const FileRecord& f : files) {
    if (f.content_type != kDicomContentType) continue;
    ASSIGN_OR_RETURN(std::string bytes, blobs_.Get(f.sha256));
    StatusOr<DicomInstanceInfo> info =
        ReadDicomInfo(std::as_bytes(std::span(bytes.data(), bytes.size())));
    if (info.ok()) first_.emplace(info->series_instance_uid, *info);
  }
  loaded_ = true;
  return absl::OkStatus();
}

}  // namespace infera
