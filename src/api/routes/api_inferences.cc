// Dataset inference jobs (translation: the rules are serving/inference_jobs'):
//   POST /api/inferences/start      {dataset_id, model_id, params, model_version?}
//                                   -> 202 {inference_id, status: "queued"}
//   GET  /api/inferences            ?dataset_id=&status=&limit=&offset= -> {"inferences": [...]}
//   GET  /api/inferences/{id}       -> the job with its results, and "export_formats": the
//                                   formats of GET /api/inferences/{id}/export that apply to
//                                   its results (job_export_formats.h)
//   POST /api/inferences/{id}/cancel
//   POST /api/inferences/{id}/retry     a failed job runs again (the disk was full, say):
//                                   202 with the job, which keeps its results; 409 unless failed
//   GET  /api/inferences/{id}/download  -> a ZIP streamed as it is built: images/,
//                                   masks/, previews/, dicom_seg/ (a job on DICOM input:
//                                   its SEG files), results.json
// Missing or malformed ids are 400, unknown datasets/models/jobs 404, runner param
// errors 400 (checked at start, so a job never fails on them later).
#include <map>
#include <set>
#include <string_view>

#include "api/blob_download.h"
#include "api/http_status.h"
#include "api/response_stream.h"
#include "api/routes/api_common.h"
#include "api/routes/job_export_formats.h"
#include "api/routes/routes.h"
#include "archive/zip_writer.h"
#include "common/json_text.h"
#include "common/logging.h"
#include "common/strings.h"
#include "common/task_pool.h"
#include "common/utf8.h"
#include "jobs/inference_jobs.h"
#include "jobs/job_export.h"
#include "models/model.h"
#include "store/blob_store.h"

namespace infera {

namespace {

StatusOr<HttpResponse> StartRoute(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(req));
  for (const auto& [key, value] : body.items()) {
    if (key != "dataset_id" && key != "model_id" && key != "params" && key != "model_version") {
      return absl::InvalidArgumentError(StrCat(
          "unknown field '", key, "' (expected dataset_id, model_id, params, model_version)"));
    }
  }
  if (!body.contains("dataset_id")) return absl::InvalidArgumentError("'dataset_id' is required");
  if (!body.contains("model_id")) return absl::InvalidArgumentError("'model_id' is required");
  ASSIGN_OR_RETURN(int64_t dataset_id, ParseIdJson(body["dataset_id"], "dataset"));
  const nlohmann::json& model_id = body["model_id"];
  if (!model_id.is_string() || !ValidateModelName(model_id.get<std::string>()).ok()) {
    return absl::InvalidArgumentError(
        StrCat("invalid model_id ", model_id.dump().substr(0, 140), " (expected a model name)"));
  }
  std::optional<int64_t> version;
  if (body.contains("model_version") && !body["model_version"].is_null()) {
    ASSIGN_OR_RETURN(version, ParseIdJson(body["model_version"], "model version"));
  }
  nlohmann::json params = body.value("params", nlohmann::json::object());
  if (!params.is_object() && !params.is_null()) {
    return absl::InvalidArgumentError("'params' must be an object");
  }
  StartInferenceRequest start;
  start.dataset_id = dataset_id;
  start.model_name = model_id.get<std::string>();
  start.model_version = version;
  start.params = params;
  ASSIGN_OR_RETURN(InferenceRecord created, ctx.jobs->Start(req.principal, start));
  return JsonResponse(202, JsonText(nlohmann::json{{"inference_id", created.id},
                                                   {"status", JobStatusName(created.status)},
                                                   {"total", created.total}}));
}

StatusOr<HttpResponse> ListRoute(const ApiContext& ctx, const HttpRequest& req) {
  InferenceFilter filter;
  std::string value;
  if (req.query_param("dataset_id", &value)) {
    ASSIGN_OR_RETURN(filter.dataset_id, ParseId(value, "dataset"));
  }
  if (req.query_param("status", &value)) {
    ASSIGN_OR_RETURN(filter.status, ParseJobStatus(value));
  }
  if (req.query_param("limit", &value)) {
    ASSIGN_OR_RETURN(int64_t limit, ParseId(value, "limit"));
    filter.limit = std::min<int64_t>(limit, 1000);
  }
  if (req.query_param("offset", &value) && value != "0") {
    ASSIGN_OR_RETURN(filter.offset, ParseId(value, "offset"));
  }
  ASSIGN_OR_RETURN(std::vector<InferenceRecord> jobs, ctx.jobs->List(req.principal, filter));
  nlohmann::json list = nlohmann::json::array();
  for (const InferenceRecord& j : jobs) list.push_back(InferenceJson(j));
  return JsonResponse(200, JsonText(nlohmann::json{{"inferences", std::move(list)}}));
}

StatusOr<HttpResponse> GetRoute(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("id"), "inference"));
  std::vector<JobResultRecord> results;
  ASSIGN_OR_RETURN(nlohmann::json j, ctx.jobs->Report(req.principal, id, &results));
  // The export route answers 501 without an annotation store (api_annotation_formats.cc).
  j["export_formats"] =
      ctx.annotations != nullptr ? JobExportFormatsOf(j, results) : nlohmann::json::array();
  return JsonResponse(200, JsonText(j));
}

StatusOr<HttpResponse> CancelRoute(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("id"), "inference"));
  ASSIGN_OR_RETURN(InferenceRecord job, ctx.jobs->Cancel(req.principal, id));
  return JsonResponse(200, JsonText(InferenceJson(job)));
}

StatusOr<HttpResponse> RetryRoute(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("id"), "inference"));
  ASSIGN_OR_RETURN(InferenceRecord job, ctx.jobs->Retry(req.principal, id));
  return JsonResponse(202, JsonText(InferenceJson(job)));
}

// The ZIP entry name for an export path built from stored names: valid UTF-8 without
// control or bidi characters (names stored before they were checked at the door may hold
// them), made unique among `used` with "_2", "_3", ... before the extension.
std::string ArchiveEntryName(std::string_view path, std::set<std::string>* used) {
  std::string clean = CleanDisplayText(path);
  if (clean.empty() || clean.back() == '/') clean += "file";
  std::string name = clean;
  const size_t slash = clean.rfind('/');
  const size_t dot = clean.rfind('.');
  const size_t stem_end =
      dot != std::string::npos && (slash == std::string::npos || dot > slash + 1) ? dot
                                                                                  : clean.size();
  for (int n = 2; used->count(name) != 0; ++n) {
    name = StrCat(clean.substr(0, stem_end), "_", n, clean.substr(stem_end));
  }
  used->insert(name);
  return name;
}

// Writes the job's ZIP into `stream`. Runs on the blocking pool after the response
// header went out; an error midway aborts the stream (the client sees a cut transfer).
void WriteArchive(const ApiContext& ctx, int64_t id, const nlohmann::json& record,
                  const std::vector<JobResultRecord>& results,
                  const std::shared_ptr<ResponseStream>& stream) {
  ZipWriter zip([&stream](std::string_view bytes) -> Status {
    if (!stream->Write(bytes)) return absl::CancelledError("the client went away");
    return absl::OkStatus();
  });
  Status status = [&]() -> Status {
    ASSIGN_OR_RETURN(std::vector<ExportEntry> entries,
                     JobExportEntries(*ctx.store, results, /*include_sources=*/true));
    ASSIGN_OR_RETURN(std::vector<ExportEntry> job_files, JobFileExportEntries(*ctx.store, id));
    entries.insert(entries.end(), job_files.begin(), job_files.end());
    std::set<std::string> used;
    for (const ExportEntry& e : entries) {
      const std::string name = ArchiveEntryName(e.path, &used);
      // Pulled from the blob store piece by piece, on either store (api/blob_download.h).
      RETURN_IF_ERROR(AddBlobToZip(zip, *ctx.blobs, name, e.file.sha256));
    }
    RETURN_IF_ERROR(zip.AddFile("results.json", JsonText(record, 2)));
    return zip.Finish();
  }();
  if (status.ok()) {
    stream->Close();
  } else {
    Log(LogLevel::kWarning, "download_aborted", {{"error", std::string(ToStd(status.message()))}});
    stream->Abort();
  }
}

void Download(const ApiContext& ctx, const HttpRequest& req, const Responder& respond) {
  StatusOr<int64_t> id = ParseId(req.params.at("id"), "inference");
  if (!id.ok()) return respond(StatusResponse(id.status()));
  std::vector<JobResultRecord> results;
  StatusOr<nlohmann::json> record = ctx.jobs->Report(req.principal, *id, &results);
  if (!record.ok()) return respond(StatusResponse(record.status()));
  auto stream = std::make_shared<ResponseStream>();
  HttpResponse response;
  response.content_type = "application/zip";
  response.headers["content-disposition"] =
      StrCat("attachment; filename=\"inference_", *id, ".zip\"");
  response.stream = stream;
  respond(std::move(response));
  WriteArchive(ctx, *id, *record, results, stream);
}

}  // namespace

void AddApiInferenceRoutes(Router& router, const ApiContext& ctx) {
  router.Add("POST", "/api/inferences/start",
             Guarded(ctx, Access::kUser, Blocking(ctx, StartRoute)));
  router.Add("GET", "/api/inferences", Guarded(ctx, Access::kUser, Blocking(ctx, ListRoute)));
  router.Add("GET", "/api/inferences/{id}", Guarded(ctx, Access::kUser, Blocking(ctx, GetRoute)));
  router.Add("POST", "/api/inferences/{id}/cancel",
             Guarded(ctx, Access::kUser, Blocking(ctx, CancelRoute)));
  router.Add("POST", "/api/inferences/{id}/retry",
             Guarded(ctx, Access::kUser, Blocking(ctx, RetryRoute)));
  router.Add("GET", "/api/inferences/{id}/download",
             Guarded(ctx, Access::kUser, Streaming(ctx, Download)));
}

}  // namespace infera
