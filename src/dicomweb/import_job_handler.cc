#include "dicomweb/import_job_handler.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>
#include <utility>
#include <vector>

#include "common/logging.h"
#include "common/strings.h"
#include "datasets/series_check.h"
#include "dicomweb/dicomweb_client.h"
#include "dicomweb/dicomweb_url.h"

namespace infera {

namespace {

namespace fs = std::filesystem;

// Removes a file on scope exit.
struct RemoveOnExit {
  fs::path path;
  ~RemoveOnExit() {
    std::error_code ec;
    fs::remove(path, ec);
  }
};

JobOutcome Fail(const std::string& reason) {
  return JobOutcome::Finish(JobStatus::kFailed, reason);
}

}  // namespace

DicomwebImportJobHandler::DicomwebImportJobHandler(Store* store, BlobStore* blobs,
                                                   const CredentialSealer* sealer,
                                                   DicomwebImportJobOptions options)
    : store_(store), blobs_(blobs), sealer_(sealer), options_(std::move(options)) {}

JobOutcome DicomwebImportJobHandler::Run(JobContext& ctx) {
  const JobRecord& job = ctx.job();
  StatusOr<DicomwebImportSpec> spec = DicomwebImportSpecOf(job);
  if (!spec.ok()) return Fail(std::string(ToStd(spec.status().message())));
  StatusOr<DicomwebUrl> url = ParseDicomwebUrl(spec->url);
  if (!url.ok()) return Fail(std::string(ToStd(url.status().message())));
  if (Status allowed = CheckAllowedHost(*url, options_.dicomweb.allowed_hosts); !allowed.ok()) {
    return Fail(std::string(ToStd(allowed.message())));
  }
  DicomwebAuth auth;
  if (!spec->auth_sealed.empty()) {
    StatusOr<DicomwebAuth> opened = sealer_->Open(spec->auth_sealed);
    if (!opened.ok()) return Fail(std::string(ToStd(opened.status().message())));
    auth = std::move(*opened);
  }
  StatusOr<DatasetRecord> dataset = store_->GetDataset(job.dataset_id);
  if (!dataset.ok()) return Fail(std::string(ToStd(dataset.status().message())));

  // What an earlier run of this job recorded.
  nlohmann::json report = nlohmann::json::parse(job.report_json, nullptr, false);
  if (!report.is_object()) report = nlohmann::json::object();
  if (!report.contains("imported") || !report["imported"].is_array()) {
    report["imported"] = nlohmann::json::array();
  }
  if (!report.contains("refused") || !report["refused"].is_array()) {
    report["refused"] = nlohmann::json::array();
  }
  std::set<std::string> done;
  for (const char* list : {"imported", "refused"}) {
    for (const nlohmann::json& item : report[list]) {
      if (item.is_object() && item.contains("sop_instance_uid") &&
          item["sop_instance_uid"].is_string()) {
        done.insert(item["sop_instance_uid"].get<std::string>());
      }
    }
  }

  DicomwebClient client(*url, std::move(auth), options_.dicomweb.timeout);
  StatusOr<std::vector<DicomwebInstanceRef>> refs =
      client.SearchInstances(spec->study_uid, spec->series_uid);
  if (!refs.ok()) return Fail(std::string(ToStd(refs.status().message())));
  const int64_t total = static_cast<int64_t>(refs->size());
  int64_t done_count = 0;
  for (const DicomwebInstanceRef& ref : *refs) done_count += done.count(ref.sop_instance_uid);
  report["listed"] = true;
  report["instances"] = total;
  auto save = [&]() -> bool {
    Status s = store_->UpdateJobProgress(job.id, ctx.worker(), done_count, total, report.dump());
    if (absl::IsFailedPrecondition(s)) {
      ctx.MarkLost();
      return false;
    }
    if (!s.ok()) {
      Log(LogLevel::kWarning, "dicomweb_import_progress_failed",
          {{"job", std::to_string(job.id)}, {"error", std::string(ToStd(s.message()))}});
    }
    return true;
  };
  if (!save()) return JobOutcome::Finish(JobStatus::kFailed, "lost");

  IngestLimits limits = options_.ingest;
  limits.anonymize = spec->anonymize;
  limits.anonymize_salt = DatasetAnonymizeSalt(*dataset);
  SeriesCheck series(*store_, *blobs_, dataset->id, limits);
  std::error_code ec;
  fs::create_directories(options_.tmp_dir, ec);
  int64_t index = 0;
  for (const DicomwebInstanceRef& ref : *refs) {
    ++index;
    if (done.count(ref.sop_instance_uid) > 0) continue;
    switch (ctx.Check()) {
      case JobSignal::kGoOn:
        break;
      case JobSignal::kCancel:
        return JobOutcome::Finish(
            JobStatus::kCanceled,
            StrCat("canceled after ", done_count, " of ", total, " instances"), report.dump());
      case JobSignal::kLost:
        return JobOutcome::Finish(JobStatus::kFailed, "lost");
      case JobSignal::kStop:
        return JobOutcome::Release();
    }
    auto refuse = [&](std::string_view reason) {
      report["refused"].push_back(
          {{"sop_instance_uid", ref.sop_instance_uid}, {"error", std::string(reason)}});
    };
    StatusOr<std::string> bytes = client.RetrieveInstance(ref, limits.max_file_bytes);
    if (!bytes.ok()) {
      // An instance gone since the search, or too large: that instance's refusal.
      if (absl::IsNotFound(bytes.status()) || absl::IsInvalidArgument(bytes.status())) {
        refuse(ToStd(bytes.status().message()));
      } else {
        return JobOutcome::Finish(JobStatus::kFailed, std::string(ToStd(bytes.status().message())),
                                  report.dump());
      }
    } else {
      RemoveOnExit file{options_.tmp_dir / StrCat("dicomweb-", job.id, "-", index, ".dcm")};
      {
        std::ofstream out(file.path, std::ios::binary | std::ios::trunc);
        out.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
        if (!out) {
          return JobOutcome::Finish(JobStatus::kFailed, StrCat("cannot write ", file.path.string()),
                                    report.dump());
        }
      }
      bytes->clear();
      bytes->shrink_to_fit();
      StatusOr<std::string> refusal = series.Refusal(file.path);
      if (!refusal.ok()) {
        return JobOutcome::Finish(JobStatus::kFailed,
                                  std::string(ToStd(refusal.status().message())), report.dump());
      }
      if (!refusal->empty()) {
        refuse(*refusal);
      } else {
        StatusOr<Store::AddedFile> added =
            IngestFileOnce(*store_, *blobs_, dataset->id, dataset->owner_id,
                           StrCat(ref.sop_instance_uid, ".dcm"), file.path, limits);
        if (added.ok()) {
          series.Stored(file.path);
          report["imported"].push_back({{"sop_instance_uid", ref.sop_instance_uid},
                                        {"file_id", added->file.id},
                                        {"already_stored", !added->added}});
        } else if (absl::IsInvalidArgument(added.status())) {
          refuse(ToStd(added.status().message()));
        } else {
          return JobOutcome::Finish(JobStatus::kFailed,
                                    std::string(ToStd(added.status().message())), report.dump());
        }
      }
    }
    done.insert(ref.sop_instance_uid);
    ++done_count;
    if (!save()) return JobOutcome::Finish(JobStatus::kFailed, "lost");
  }
  const size_t imported = report["imported"].size();
  const size_t refused = report["refused"].size();
  if (imported == 0 && refused > 0) {
    return JobOutcome::Finish(JobStatus::kFailed,
                              StrCat("no instance was stored; the first refusal: ",
                                     report["refused"][0].value("error", std::string())),
                              report.dump());
  }
  std::string note = StrCat("imported ", imported, " of ", total, " instances");
  if (refused > 0) note += StrCat(" (", refused, " refused)");
  return JobOutcome::Finish(JobStatus::kCompleted, note, report.dump());
}

}  // namespace infera
