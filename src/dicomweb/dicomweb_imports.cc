#include "dicomweb/dicomweb_imports.h"

#include <map>
#include <span>
#include <utility>

#include "common/strings.h"
#include "datasets/ingest.h"
#include "dicom/dicom_image.h"
#include "dicomweb/dicomweb_client.h"
#include "dicomweb/dicomweb_url.h"
#include "dicomweb/import_record.h"
#include "jobs/inference_record.h"

namespace infera {

namespace {

Status AsImport(const Status& s) {
  std::string message(ToStd(s.message()));
  if (message.starts_with("job ")) message = "import " + message.substr(4);
  return absl::Status(s.code(), message);
}

constexpr size_t kStowMaxFiles = 32;
constexpr size_t kStowMaxBytes = size_t{256} << 20;

}  // namespace

bool IsDicomUid(std::string_view uid) {
  if (uid.empty() || uid.size() > 64) return false;
  for (char c : uid) {
    if ((c < '0' || c > '9') && c != '.') return false;
  }
  return true;
}

StatusOr<JobRecord> DicomwebImports::Start(const Caller& caller,
                                           const StartDicomwebImportRequest& request) const {
  RETURN_IF_ERROR(VisibleDataset(*store_, caller, request.dataset_id).status());
  ASSIGN_OR_RETURN(DicomwebUrl url, ParseDicomwebUrl(request.url));
  RETURN_IF_ERROR(CheckAllowedHost(url, options_.allowed_hosts));
  if (request.study_uid.empty() && request.series_uid.empty()) {
    return absl::InvalidArgumentError("'study_uid' or 'series_uid' is required");
  }
  if (!request.study_uid.empty() && !IsDicomUid(request.study_uid)) {
    return absl::InvalidArgumentError("'study_uid' must be a DICOM UID (digits and dots)");
  }
  if (!request.series_uid.empty() && !IsDicomUid(request.series_uid)) {
    return absl::InvalidArgumentError("'series_uid' must be a DICOM UID (digits and dots)");
  }
  DicomwebImportSpec spec;
  spec.url = request.url;
  spec.study_uid = request.study_uid;
  spec.series_uid = request.series_uid;
  spec.anonymize = request.anonymize;
  spec.auth_type = std::string(request.auth.TypeName());
  if (request.auth.type != DicomwebAuth::Type::kNone) {
    ASSIGN_OR_RETURN(spec.auth_sealed, sealer_->Seal(request.auth));
  }
  ASSIGN_OR_RETURN(JobRecord job, DicomwebImportJob(spec, CallerId(caller), request.dataset_id));
  ASSIGN_OR_RETURN(JobRecord created, store_->CreateJob(job));
  if (workers_ != nullptr) workers_->Notify();
  return created;
}

StatusOr<std::vector<JobRecord>> DicomwebImports::List(const Caller& caller,
                                                       std::optional<int64_t> dataset_id,
                                                       std::optional<JobStatus> status,
                                                       int64_t limit, int64_t offset) const {
  if (dataset_id) RETURN_IF_ERROR(VisibleDataset(*store_, caller, *dataset_id).status());
  JobFilter filter;
  filter.kind = std::string(kDicomwebImportJobKind);
  filter.owner_id = OwnerFilter(caller);
  filter.dataset_id = dataset_id;
  filter.status = status;
  filter.limit = limit;
  filter.offset = offset;
  return store_->ListJobs(filter);
}

StatusOr<JobRecord> DicomwebImports::Get(const Caller& caller, int64_t id) const {
  ASSIGN_OR_RETURN(JobRecord job, GetDicomwebImport(*store_, id));
  RETURN_IF_ERROR(CheckVisible(caller, job.owner_id, "import", id));
  return job;
}

StatusOr<JobRecord> DicomwebImports::Cancel(const Caller& caller, int64_t id) const {
  RETURN_IF_ERROR(Get(caller, id).status());
  StatusOr<JobRecord> canceled = store_->CancelJob(id);
  if (!canceled.ok()) return AsImport(canceled.status());
  if (workers_ != nullptr) workers_->Cancel(id);
  return canceled;
}

StatusOr<DicomwebExportResult> DicomwebExports::Export(const Caller& caller,
                                                       const DicomwebExportRequest& request) const {
  ASSIGN_OR_RETURN(InferenceRecord inference, GetInference(*store_, request.inference_id));
  RETURN_IF_ERROR(CheckVisible(caller, inference.owner_id, "inference", request.inference_id));
  ASSIGN_OR_RETURN(DicomwebUrl url, ParseDicomwebUrl(request.url));
  RETURN_IF_ERROR(CheckAllowedHost(url, options_.allowed_hosts));
  if (inference.status != JobStatus::kCompleted) {
    return absl::FailedPreconditionError(StrCat("inference ", inference.id, " is ",
                                                JobStatusName(inference.status),
                                                "; its results can be exported once it completed"));
  }
  // The files to send, each once: the job's DICOM sources in result order, or its files
  // of the role (job-level files such as the DICOM SEG of each series, and its results').
  std::vector<FileRecord> files;
  if (request.role == "source") {
    ASSIGN_OR_RETURN(std::vector<JobResultRecord> results, store_->ListJobResults(inference.id));
    std::map<int64_t, bool> seen;
    for (const JobResultRecord& result : results) {
      if (result.source_file_id == 0 || seen[result.source_file_id]) continue;
      seen[result.source_file_id] = true;
      StatusOr<FileRecord> source = store_->GetFile(result.source_file_id);
      if (absl::IsNotFound(source.status())) continue;
      RETURN_IF_ERROR(source.status());
      if (source->content_type == kDicomContentType) files.push_back(std::move(*source));
    }
  } else {
    ASSIGN_OR_RETURN(std::vector<FileRecord> of_role,
                     store_->ListJobFiles(inference.id, request.role));
    for (FileRecord& f : of_role) {
      if (f.content_type == kDicomContentType) files.push_back(std::move(f));
    }
  }
  if (files.empty()) {
    return absl::FailedPreconditionError(StrCat(
        "inference ", inference.id, " has no DICOM files of role '", request.role, "' to export"));
  }
  DicomwebClient client(url, request.auth, options_.timeout);
  nlohmann::json objects = nlohmann::json::array();
  int64_t stored = 0;
  int64_t failed = 0;
  nlohmann::json statuses = nlohmann::json::array();
  for (size_t begin = 0; begin < files.size();) {
    // One STOW-RS request: up to kStowMaxFiles files / kStowMaxBytes.
    std::vector<std::string> bytes;
    std::vector<std::string> uids;
    size_t end = begin;
    size_t batch_bytes = 0;
    while (end < files.size() && bytes.size() < kStowMaxFiles &&
           (bytes.empty() || batch_bytes + static_cast<size_t>(files[end].size) <= kStowMaxBytes)) {
      ASSIGN_OR_RETURN(std::string b, blobs_->Get(files[end].sha256));
      StatusOr<DicomInstanceInfo> info =
          ReadDicomInfo(std::as_bytes(std::span(b.data(), b.size())));
      uids.push_back(info.ok() ? info->sop_instance_uid : std::string());
      batch_bytes += b.size();
      bytes.push_back(std::move(b));
      ++end;
    }
    std::vector<std::string_view> views(bytes.begin(), bytes.end());
    StatusOr<StowResult> sent = client.Store(views);
    if (!sent.ok()) {
      // The PACS failed the request (unreachable, credentials refused, an HTTP error):
      // what went before stands; this batch and the rest were not stored.
      return DicomwebExportResult{
          502, nlohmann::json{{"error", std::string(ToStd(sent.status().message()))},
                              {"inference_id", inference.id},
                              {"url", url.ToString()},
                              {"role", request.role},
                              {"http_status", statuses},
                              {"stored", stored},
                              {"failed", failed},
                              {"not_sent", files.size() - begin},
                              {"objects", std::move(objects)}}};
    }
    const StowResult& result = *sent;
    statuses.push_back(result.http_status);
    for (size_t i = begin; i < end; ++i) {
      const std::string& uid = uids[i - begin];
      nlohmann::json o = {{"file_id", files[i].id},  {"filename", files[i].filename},
                          {"sop_instance_uid", uid}, {"status", "failed"},
                          {"retrieve_url", nullptr}, {"reason", nullptr}};
      const StowOutcome* outcome = nullptr;
      for (const StowOutcome& candidate : result.outcomes) {
        if (!uid.empty() && candidate.sop_instance_uid == uid) outcome = &candidate;
      }
      if (outcome != nullptr && outcome->stored) {
        o["status"] = "stored";
        if (!outcome->retrieve_url.empty()) o["retrieve_url"] = outcome->retrieve_url;
        ++stored;
      } else {
        o["reason"] = outcome != nullptr ? outcome->reason
                                         : StrCat("the PACS did not name this object (HTTP ",
                                                  result.http_status, ")");
        ++failed;
      }
      objects.push_back(std::move(o));
    }
    begin = end;
  }
  return DicomwebExportResult{200, nlohmann::json{{"inference_id", inference.id},
                                                  {"url", url.ToString()},
                                                  {"role", request.role},
                                                  {"http_status", statuses},
                                                  {"stored", stored},
                                                  {"failed", failed},
                                                  {"objects", std::move(objects)}}};
}

}  // namespace infera
