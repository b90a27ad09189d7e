// The datasets of the /api workflow:
//   POST   /api/datasets                 {name, description} -> 201 dataset
//   GET    /api/datasets                 -> {"datasets": [...]}
//   GET    /api/datasets/{id}            -> dataset + "files"
//   DELETE /api/datasets/{id}            -> 200; blobs no file references are removed
//   POST   /api/datasets/{id}/files      multipart/form-data, field "files" (many)
//   POST   /api/datasets/{id}/archive    a ZIP of images (raw body or multipart field)
//   GET    /api/datasets/{id}/series     the dataset's DICOM files as series, in slice order
// DICOM files (.dcm, or DICOM entries of a ZIP) are decoded whole before they are stored
// (datasets/ingest.h); `anonymize=true` (a query parameter, or a multipart text field)
// de-identifies them first (dicom/anonymize.h). A DICOM file whose size differs from the
// files of its series already in the dataset (or earlier in the upload) is refused.
// Uploads are spooled to disk by the transport and parsed in chunks; each file is
// checked (decodable image within the pixel limits) and stored on its own: refused
// files are listed in "errors" with a reason and the rest is kept (201 when at least
// one file was stored, 400 when none was). Everything runs on the blocking pool.
// Uploads are idempotent by content and name: a file whose bytes the dataset already
// holds under its name is not stored again (Store::AddSourceFileOnce); "files" lists the
// file the dataset holds, with "already_stored": true. So a client that lost the answer (the server
// was killed mid-upload) sends the same upload again and gets every file once, and the full list of
// what landed.
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <span>

#include "api/http_status.h"
#include "api/multipart.h"
#include "api/routes/api_common.h"
#include "api/routes/routes.h"
#include "archive/zip_reader.h"
#include "common/json_text.h"
#include "common/logging.h"
#include "common/strings.h"
#include "common/utf8.h"
#include "datasets/ingest.h"
#include "datasets/series_check.h"
#include "dicom/anonymize.h"
#include "dicom/dicom_image.h"
#include "dicom/series.h"
#include "imaging/image_header.h"
#include "store/blob_lifetime.h"
#include "store/blob_store.h"

namespace infera {

namespace {

namespace fs = std::filesystem;

IngestLimits Limits(const ApiContext& ctx) {
  IngestLimits limits;
  limits.decode.max_pixels = ctx.max_image_pixels;
  limits.max_file_bytes = static_cast<uint64_t>(ctx.uploads.max_file_bytes);
  limits.budget = ctx.ingest_budget;
  return limits;
}

bool TrueText(std::string_view v) { return v == "true" || v == "1" || v == "yes" || v == "on"; }

// The upload's options: anonymize=true from the query or a multipart text field.
StatusOr<IngestLimits> UploadLimits(const ApiContext& ctx, const HttpRequest& req,
                                    const DatasetRecord& dataset,
                                    const std::vector<MultipartPart>& parts) {
  IngestLimits limits = Limits(ctx);
  std::string value;
  bool given = req.query_param("anonymize", &value);
  for (const MultipartPart& part : parts) {
    if (!part.is_file && part.name == "anonymize") {
      value = part.value;
      given = true;
    }
  }
  if (given) {
    if (!TrueText(value) && value != "false" && value != "0" && value != "no" && value != "off") {
      return absl::InvalidArgumentError("'anonymize' must be true or false");
    }
    limits.anonymize = TrueText(value);
  }
  // Stable per dataset, so that a series uploaded in parts stays one series.
  limits.anonymize_salt = DatasetAnonymizeSalt(dataset);
  return limits;
}

StatusOr<HttpResponse> CreateDataset(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(req));
  DatasetRecord d;
  for (const auto& [key, value] : body.items()) {
    if (key == "name") {
      if (!value.is_string()) return absl::InvalidArgumentError("'name' must be a string");
      d.name = CleanDisplayText(value.get<std::string>());  // no bidi/control characters
    } else if (key == "description") {
      if (!value.is_string() && !value.is_null()) {
        return absl::InvalidArgumentError("'description' must be a string");
      }
      if (value.is_string()) d.description = value.get<std::string>();
    } else {
      return absl::InvalidArgumentError(
          StrCat("unknown field '", key, "' (expected name, description)"));
    }
  }
  if (d.name.empty()) return absl::InvalidArgumentError("'name' is required");
  if (d.name.size() > 200) return absl::InvalidArgumentError("'name' is longer than 200 bytes");
  if (d.description.size() > 10000) {
    return absl::InvalidArgumentError("'description' is longer than 10000 bytes");
  }
  d.owner_id = CallerId(req);
  ASSIGN_OR_RETURN(DatasetRecord created, ctx.store->CreateDataset(d));
  return JsonResponse(201, JsonText(DatasetJson(created)));
}

StatusOr<HttpResponse> ListDatasets(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(std::vector<DatasetRecord> all, ctx.store->ListDatasets(OwnerFilter(req)));
  nlohmann::json list = nlohmann::json::array();
  for (const DatasetRecord& d : all) list.push_back(DatasetJson(d));
  return JsonResponse(200, JsonText(nlohmann::json{{"datasets", std::move(list)}}));
}

StatusOr<HttpResponse> GetDataset(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("id"), "dataset"));
  ASSIGN_OR_RETURN(DatasetRecord d, VisibleDataset(ctx, req, id));
  ASSIGN_OR_RETURN(std::vector<FileRecord> files, ctx.store->ListDatasetFiles(id));
  nlohmann::json j = DatasetJson(d);
  j["files"] = nlohmann::json::array();
  for (const FileRecord& f : files) j["files"].push_back(FileJson(f));
  return JsonResponse(200, JsonText(j));
}

StatusOr<HttpResponse> DeleteDataset(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("id"), "dataset"));
  RETURN_IF_ERROR(VisibleDataset(ctx, req, id).status());
  ASSIGN_OR_RETURN(std::vector<std::string> unreferenced, ctx.store->DeleteDataset(id));
  // Blobs another upload pinned meanwhile (the same bytes) stay.
  const size_t removed = SweepAfterDelete(ctx, unreferenced);
  return JsonResponse(200, JsonText(nlohmann::json{{"deleted", id}, {"blobs_removed", removed}}));
}

// Collects what an upload stored and what it refused.
struct UploadReport {
  nlohmann::json files = nlohmann::json::array();
  nlohmann::json errors = nlohmann::json::array();

  void Refuse(std::string_view filename, std::string_view reason) {
    errors.push_back({{"filename", CleanDisplayText(filename)}, {"error", reason}});
  }
  HttpResponse Response(int64_t dataset_id) const {
    nlohmann::json j = {{"dataset_id", dataset_id}, {"files", files}, {"errors", errors}};
    if (files.empty()) {
      j["error"] =
          errors.empty() ? "the upload holds no files" : "no file of the upload was stored";
      return JsonResponse(400, JsonText(j));
    }
    return JsonResponse(201, JsonText(j));
  }
};

// Stores one file of an upload, or records why not. Store failures (not the file's
// fault) end the upload.
Status IngestOne(const ApiContext& ctx, const DatasetRecord& dataset, std::string_view filename,
                 const fs::path& path, const IngestLimits& limits, SeriesCheck* series,
                 UploadReport* report) {
  ASSIGN_OR_RETURN(std::string refusal, series->Refusal(path));
  if (!refusal.empty()) {
    report->Refuse(filename, refusal);
    return absl::OkStatus();
  }
  StatusOr<Store::AddedFile> file =
      IngestFileOnce(*ctx.store, *ctx.blobs, dataset.id, dataset.owner_id, filename, path, limits);
  if (file.ok()) {
    if (file->file.content_type == kDicomContentType) series->Stored(path);
    nlohmann::json j = FileJson(file->file);
    // The dataset held these bytes already (a retried upload): the file it holds.
    if (!file->added) j["already_stored"] = true;
    report->files.push_back(std::move(j));
    return absl::OkStatus();
  }
  if (file.status().code() == absl::StatusCode::kInvalidArgument) {
    report->Refuse(filename, ToStd(file.status().message()));
    return absl::OkStatus();
  }
  return file.status();
}

StatusOr<HttpResponse> UploadFiles(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("id"), "dataset"));
  ASSIGN_OR_RETURN(DatasetRecord dataset, VisibleDataset(ctx, req, id));
  MultipartTempFiles cleanup;
  ASSIGN_OR_RETURN(std::vector<MultipartPart> parts, ReadMultipart(ctx, req, &cleanup));
  ASSIGN_OR_RETURN(IngestLimits limits, UploadLimits(ctx, req, dataset, parts));
  SeriesCheck series(*ctx.store, *ctx.blobs, dataset.id, limits);
  UploadReport report;
  int64_t count = 0;
  for (const MultipartPart& part : parts) {
    if (!part.is_file) continue;  // a plain form field
    if (part.name != "files" && part.name != "file") {
      report.Refuse(part.filename, StrCat("unexpected form field '", part.name,
                                          "' (files go in the field 'files')"));
      continue;
    }
    if (++count > ctx.uploads.max_files_per_upload) {
      report.Refuse(part.filename,
                    StrCat("more than ", ctx.uploads.max_files_per_upload, " files in one upload"));
      continue;
    }
    RETURN_IF_ERROR(IngestOne(ctx, dataset, part.filename, part.file, limits, &series, &report));
  }
  return report.Response(dataset.id);
}

StatusOr<HttpResponse> UploadArchive(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("id"), "dataset"));
  ASSIGN_OR_RETURN(DatasetRecord dataset, VisibleDataset(ctx, req, id));
  std::error_code ec;
  fs::create_directories(ctx.tmp_dir, ec);
  // The archive: a multipart field, the spooled raw body, or a small raw body.
  MultipartTempFiles cleanup;
  fs::path archive;
  std::optional<BodyFile> small;
  std::vector<MultipartPart> parts;
  if (req.header("content-type").starts_with("multipart/")) {
    ASSIGN_OR_RETURN(parts, ReadMultipart(ctx, req, &cleanup));
    for (const MultipartPart& part : parts) {
      if (part.is_file) {
        archive = part.file;
        break;
      }
    }
    if (archive.empty()) return absl::InvalidArgumentError("the upload holds no ZIP file");
  } else if (req.body_file) {
    archive = req.body_file->path;
  } else {
    if (req.body.empty()) return absl::InvalidArgumentError("empty body; expected a ZIP archive");
    small.emplace();
    small->path =
        ctx.tmp_dir / StrCat("archive-", id, "-", std::hash<std::string>{}(req.request_id), ".zip");
    std::ofstream out(small->path, std::ios::binary);
    out.write(req.body.data(), static_cast<std::streamsize>(req.body.size()));
    if (!out) return absl::InternalError("cannot store the archive");
    archive = small->path;
  }
  ZipLimits limits;
  limits.max_entries = static_cast<uint64_t>(ctx.uploads.max_files_per_upload) * 2 + 16;
  limits.max_total_bytes = static_cast<uint64_t>(ctx.uploads.max_upload_bytes) * 4;
  limits.max_entry_bytes =
      static_cast<uint64_t>(ctx.uploads.max_file_bytes);  // what an image needs
  StatusOr<ZipReader> reader = ZipReader::Open(archive, limits);
  if (!reader.ok()) {
    return absl::InvalidArgumentError(
        StrCat("not a usable ZIP archive: ", reader.status().message()));
  }
  ASSIGN_OR_RETURN(IngestLimits ingest, UploadLimits(ctx, req, dataset, parts));
  SeriesCheck series(*ctx.store, *ctx.blobs, dataset.id, ingest);
  UploadReport report;
  StatusOr<std::vector<ZipRefusal>> refused = reader->ForEachFile(
      ctx.tmp_dir,
      [&](const ZipEntryInfo& info, const fs::path& file) -> Status {
        // macOS resource forks and hidden files are not images people meant to upload.
        if (info.base_name.starts_with("._") || info.name.starts_with("__MACOSX/")) {
          return absl::OkStatus();
        }
        return IngestOne(ctx, dataset, info.base_name, file, ingest, &series, &report);
      },
      // A bomb (not an image, or more pixels than allowed) stops at its first chunk.
      [&](const ZipEntryInfo& info, std::string_view head) -> Status {
        if (info.base_name.starts_with("._") || info.name.starts_with("__MACOSX/")) {
          return absl::OkStatus();  // skipped above
        }
        // DICOM: decoded (within the limits) when ingested.
        if (LooksLikeDicom(std::as_bytes(std::span(head.data(), head.size())))) {
          return absl::OkStatus();
        }
        return CheckImageHeader(std::as_bytes(std::span(head.data(), head.size())),
                                Limits(ctx).decode)
            .status();
      });
  if (!refused.ok()) return refused.status();
  for (const ZipRefusal& r : *refused) report.Refuse(r.name, r.message);
  return report.Response(dataset.id);
}

// The dataset's DICOM files grouped into series (dicom/series.h), each in slice order.
StatusOr<HttpResponse> ListSeries(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("id"), "dataset"));
  RETURN_IF_ERROR(VisibleDataset(ctx, req, id).status());
  ASSIGN_OR_RETURN(std::vector<FileRecord> all, ctx.store->ListDatasetFiles(id));
  std::vector<FileRecord> files;
  std::vector<DicomInstanceInfo> infos;
  for (FileRecord& f : all) {
    if (f.content_type != kDicomContentType) continue;
    ASSIGN_OR_RETURN(std::string bytes, ctx.blobs->Get(f.sha256));
    StatusOr<DicomInstanceInfo> info =
        ReadDicomInfo(std::as_bytes(std::span(bytes.data(), bytes.size())));
    if (!info.ok()) continue;  // checked at upload; not expected
    files.push_back(std::move(f));
    infos.push_back(std::move(*info));
  }
  nlohmann::json list = nlohmann::json::array();
  for (const DicomSeries& s : GroupSeries(infos)) {
    const DicomInstanceInfo& first = infos[s.members.front()];
    nlohmann::json j = {{"series_instance_uid", s.series_instance_uid},
                        {"study_instance_uid", s.study_instance_uid},
                        {"modality", s.modality},
                        {"series_description", ToValidUtf8(first.series_description)},
                        {"ordered_by", s.ordered_by},
                        {"rows", first.rows},
                        {"columns", first.columns},
                        {"photometric", first.photometric},
                        {"pixel_spacing", nullptr},
                        {"window", nullptr},
                        {"files", nlohmann::json::array()}};
    if (first.pixel_spacing) {
      j["pixel_spacing"] = {first.pixel_spacing->row_mm, first.pixel_spacing->column_mm};
    }
    if (first.window) j["window"] = {first.window->center, first.window->width};
    for (size_t m : s.members) {
      const DicomInstanceInfo& info = infos[m];
      nlohmann::json f = {{"id", files[m].id},
                          {"filename", files[m].filename},
                          {"sop_instance_uid", info.sop_instance_uid},
                          {"frames", info.frames},
                          {"instance_number", nullptr},
                          {"image_position", nullptr}};
      if (info.instance_number) f["instance_number"] = *info.instance_number;
      if (info.image_position) f["image_position"] = *info.image_position;
      j["files"].push_back(std::move(f));
    }
    list.push_back(std::move(j));
  }
  return JsonResponse(200,
                      JsonText(nlohmann::json{{"dataset_id", id}, {"series", std::move(list)}}));
}

}  // namespace

void AddApiDatasetRoutes(Router& router, const ApiContext& ctx) {
  RouteOptions upload;
  upload.spool = true;
  upload.max_body_bytes = static_cast<uint64_t>(ctx.uploads.max_upload_bytes);
  router.Add("POST", "/api/datasets", Guarded(ctx, Access::kUser, Blocking(ctx, CreateDataset)));
  router.Add(
      "GET", "/api/datasets",
      Guarded(ctx, Access::kUser, Blocking(ctx, [](const ApiContext& c, const HttpRequest& r) {
                return ListDatasets(c, r);
              })));
  router.Add("GET", "/api/datasets/{id}", Guarded(ctx, Access::kUser, Blocking(ctx, GetDataset)));
  router.Add("GET", "/api/datasets/{id}/series",
             Guarded(ctx, Access::kUser, Blocking(ctx, ListSeries)));
  router.Add("DELETE", "/api/datasets/{id}",
             Guarded(ctx, Access::kUser, Blocking(ctx, DeleteDataset)));
  router.Add("POST", "/api/datasets/{id}/files",
             Guarded(ctx, Access::kUser, Blocking(ctx, UploadFiles)), upload);
  router.Add("POST", "/api/datasets/{id}/archive",
             Guarded(ctx, Access::kUser, Blocking(ctx, UploadArchive)), upload);
}

}  // namespace infera
