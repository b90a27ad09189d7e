// A job's DICOM SEG objects (jobs/dicom_seg_job.h: one per series of a job on DICOM
// input, written when the job completes), as the `dicom_seg` format of
//   GET /api/inferences/{id}/export?format=dicom_seg
// (the route is api_annotation_formats.cc's, whose other formats are the job's masks as
// annotation files; it hands this format here):
//   one series: the SEG file itself (application/dicom, attachment
//   "<series uid>.seg.dcm"); several: a ZIP of them ("<series uid>.seg.dcm" each),
//   streamed as it is built.
//   400 for a job not on DICOM input, 404 for an unknown job or a completed job with no
//   SEG (a classifier), 409 for a job that has not completed yet
//   (InferenceJobs::DicomSegFiles). The same files are in the job's ZIP
//   (/api/inferences/{id}/download, folder dicom_seg/) and listed in its JSON
//   ("dicom_seg": [{series_uid, file_id, filename, frames, segments}]).
#include "api/routes/api_dicom_seg.h"

#include <filesystem>

#include "api/http_status.h"
#include "api/response_stream.h"
#include "api/routes/api_common.h"
#include "api/routes/routes.h"
#include "archive/zip_writer.h"
#include "common/logging.h"
#include "common/strings.h"
#include "jobs/inference_jobs.h"
#include "store/blob_store.h"

namespace infera {

namespace {

// A stored SEG's name as a Content-Disposition filename: its characters are a UID's
// and ".seg.dcm"; anything else becomes '_'.
std::string AttachmentName(std::string_view filename) {
  std::string out;
  for (char c : filename) {
    const bool plain = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       c == '.' || c == '-' || c == '_';
    out.push_back(plain ? c : '_');
  }
  return StrCat("attachment; filename=\"", out, "\"");
}

Status WriteZip(const ApiContext& ctx, const std::vector<FileRecord>& files,
                const std::shared_ptr<ResponseStream>& stream) {
  ZipWriter zip([&stream](std::string_view bytes) -> Status {
    if (!stream->Write(bytes)) return absl::CancelledError("the client went away");
    return absl::OkStatus();
  });
  for (const FileRecord& f : files) {
    StatusOr<std::filesystem::path> path = ctx.blobs->LocalPath(f.sha256);
    if (path.ok()) {
      RETURN_IF_ERROR(zip.AddFileFromPath(f.filename, *path, ZipWriter::Method::kDeflate));
      continue;
    }
    ASSIGN_OR_RETURN(std::string bytes, ctx.blobs->Get(f.sha256));
    RETURN_IF_ERROR(zip.AddFile(f.filename, bytes, ZipWriter::Method::kDeflate));
  }
  return zip.Finish();
}

}  // namespace

void ExportDicomSeg(const ApiContext& ctx, const HttpRequest& req, const Responder& respond) {
  StatusOr<int64_t> id = ParseId(req.params.at("id"), "inference");
  if (!id.ok()) return respond(StatusResponse(id.status()));
  StatusOr<std::vector<FileRecord>> files = ctx.jobs->DicomSegFiles(req.principal, *id);
  if (!files.ok()) return respond(StatusResponse(files.status()));
  HttpResponse response;
  if (files->size() == 1) {
    const FileRecord& f = files->front();
    StatusOr<std::string> bytes = ctx.blobs->Get(f.sha256);
    if (!bytes.ok()) return respond(StatusResponse(bytes.status()));
    response.content_type = "application/dicom";
    response.headers["content-disposition"] = AttachmentName(f.filename);
    response.body = std::move(*bytes);
    return respond(std::move(response));
  }
  auto stream = std::make_shared<ResponseStream>();
  response.content_type = "application/zip";
  response.headers["content-disposition"] =
      AttachmentName(StrCat("inference_", *id, "_dicom_seg.zip"));
  response.stream = stream;
  respond(std::move(response));
  Status written = WriteZip(ctx, *files, stream);
  if (written.ok()) {
    stream->Close();
  } else {
    Log(LogLevel::kWarning, "download_aborted", {{"error", std::string(ToStd(written.message()))}});
    stream->Abort();
  }
}

}  // namespace infera
