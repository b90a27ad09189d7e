#include "dicomweb/dicomweb_routes.h"

#include <string>
#include <vector>

#include "api/routes/api_common.h"
#include "common/json_text.h"
#include "common/strings.h"
#include "dicomweb/import_record.h"

namespace infera {

namespace {

StatusOr<std::string> OptionalUid(const nlohmann::json& body, const char* name) {
  if (!body.contains(name) || body[name].is_null()) return std::string();
  if (!body[name].is_string() || !IsDicomUid(body[name].get<std::string>())) {
    return absl::InvalidArgumentError(
        StrCat("'", name, "' must be a DICOM UID (1 to 64 digits and dots)"));
  }
  return body[name].get<std::string>();
}

StatusOr<std::string> RequiredUrl(const nlohmann::json& body) {
  if (!body.contains("url")) return absl::InvalidArgumentError("'url' is required");
  if (!body["url"].is_string()) return absl::InvalidArgumentError("'url' must be a string");
  return body["url"].get<std::string>();
}

StatusOr<HttpResponse> StartImport(const DicomwebImports& imports, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t dataset_id, ParseId(req.params.at("id"), "dataset"));
  ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(req));
  for (const auto& [key, value] : body.items()) {
    if (key != "url" && key != "study_uid" && key != "series_uid" && key != "auth" &&
        key != "anonymize") {
      return absl::InvalidArgumentError(StrCat("unknown field '", key.substr(0, 60),
                                               "' (expected url, study_uid, series_uid, auth, "
                                               "anonymize)"));
    }
  }
  StartDicomwebImportRequest start;
  start.dataset_id = dataset_id;
  ASSIGN_OR_RETURN(start.url, RequiredUrl(body));
  ASSIGN_OR_RETURN(start.study_uid, OptionalUid(body, "study_uid"));
  ASSIGN_OR_RETURN(start.series_uid, OptionalUid(body, "series_uid"));
  if (start.study_uid.empty() && start.series_uid.empty()) {
    return absl::InvalidArgumentError("'study_uid' or 'series_uid' is required");
  }
  ASSIGN_OR_RETURN(start.auth, ParseDicomwebAuth(body.value("auth", nlohmann::json())));
  if (body.contains("anonymize")) {
    if (!body["anonymize"].is_boolean()) {
      return absl::InvalidArgumentError("'anonymize' must be true or false");
    }
    start.anonymize = body["anonymize"].get<bool>();
  }
  ASSIGN_OR_RETURN(JobRecord created, imports.Start(req.principal, start));
  return JsonResponse(202, JsonText(nlohmann::json{{"import_id", created.id},
                                                   {"dataset_id", created.dataset_id},
                                                   {"status", JobStatusName(created.status)}}));
}

StatusOr<HttpResponse> ListImports(const DicomwebImports& imports, const HttpRequest& req) {
  std::optional<int64_t> dataset_id;
  std::optional<JobStatus> status;
  int64_t limit = 100;
  int64_t offset = 0;
  std::string value;
  if (req.query_param("dataset_id", &value)) {
    ASSIGN_OR_RETURN(dataset_id, ParseId(value, "dataset"));
  }
  if (req.query_param("status", &value)) {
    ASSIGN_OR_RETURN(status, ParseJobStatus(value));
  }
  if (req.query_param("limit", &value)) {
    ASSIGN_OR_RETURN(limit, ParseId(value, "limit"));
    limit = std::min<int64_t>(limit, 1000);
  }
  if (req.query_param("offset", &value) && value != "0") {
    ASSIGN_OR_RETURN(offset, ParseId(value, "offset"));
  }
  ASSIGN_OR_RETURN(std::vector<JobRecord> jobs,
                   imports.List(req.principal, dataset_id, status, limit, offset));
  nlohmann::json list = nlohmann::json::array();
  for (const JobRecord& j : jobs) list.push_back(DicomwebImportJson(j));
  return JsonResponse(200, JsonText(nlohmann::json{{"imports", std::move(list)}}));
}

StatusOr<HttpResponse> GetImport(const DicomwebImports& imports, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("id"), "import"));
  ASSIGN_OR_RETURN(JobRecord job, imports.Get(req.principal, id));
  return JsonResponse(200, JsonText(DicomwebImportJson(job)));
}

StatusOr<HttpResponse> CancelImport(const DicomwebImports& imports, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("id"), "import"));
  ASSIGN_OR_RETURN(JobRecord job, imports.Cancel(req.principal, id));
  return JsonResponse(200, JsonText(DicomwebImportJson(job)));
}

StatusOr<HttpResponse> ExportInference(const DicomwebExports& exports, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("id"), "inference"));
  ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(req));
  for (const auto& [key, value] : body.items()) {
    if (key != "url" && key != "auth" && key != "role") {
      return absl::InvalidArgumentError(
          StrCat("unknown field '", key.substr(0, 60), "' (expected url, auth, role)"));
    }
  }
  DicomwebExportRequest request;
  request.inference_id = id;
  ASSIGN_OR_RETURN(request.url, RequiredUrl(body));
  ASSIGN_OR_RETURN(request.auth, ParseDicomwebAuth(body.value("auth", nlohmann::json())));
  if (body.contains("role")) {
    const nlohmann::json& role = body["role"];
    bool ok = role.is_string() && !role.get<std::string>().empty() &&
              role.get<std::string>().size() <= 64;
    if (ok) {
      for (char c : role.get<std::string>()) {
        ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-');
      }
    }
    if (!ok) {
      return absl::InvalidArgumentError(
          "'role' must be a result file role (letters, digits, '_', '-'), e.g. \"dicom_seg\"");
    }
    request.role = role.get<std::string>();
  }
  ASSIGN_OR_RETURN(DicomwebExportResult result, exports.Export(req.principal, request));
  return JsonResponse(result.http_status, JsonText(result.body));
}

template <typename Service>
Handler With(const ApiContext& ctx, const Service* service,
             StatusOr<HttpResponse> (*fn)(const Service&, const HttpRequest&)) {
  return Guarded(
      ctx, Access::kUser,
      Blocking(ctx,
               [service, fn](const ApiContext&, const HttpRequest& req) -> StatusOr<HttpResponse> {
                 if (service == nullptr) {
                   return absl::UnimplementedError("DICOMweb is not available on this server");
                 }
                 return fn(*service, req);
               }));
}

}  // namespace

void AddDicomwebRoutes(Router& router, const ApiContext& ctx, const DicomwebImports* imports,
                       const DicomwebExports* exports) {
  router.Add("POST", "/api/datasets/{id}/import/dicomweb", With(ctx, imports, StartImport));
  router.Add("GET", "/api/dicomweb/imports", With(ctx, imports, ListImports));
  router.Add("GET", "/api/dicomweb/imports/{id}", With(ctx, imports, GetImport));
  router.Add("POST", "/api/dicomweb/imports/{id}/cancel", With(ctx, imports, CancelImport));
  router.Add("POST", "/api/inferences/{id}/export/dicomweb", With(ctx, exports, ExportInference));
}

}  // namespace infera
