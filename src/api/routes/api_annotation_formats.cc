// Annotation files in and out (the formats are src/annotations/'s):
//   POST /api/annotations/{set}/import   multipart: `file` (one or more) and optional
//        `format` = label_images | coco | cvat_xml | cvat_seg_zip (guessed from each file
//        when absent; a ZIP with labelmap.txt is CVAT's Segmentation mask 1.1, another
//        ZIP is read entry by entry: .json as COCO, .xml as CVAT, images as label images) -> 200
//        {"imported": [...], "refused": [{source, reason}], "notes": [...]} (400 when nothing was
//        imported). Streamed (ImportStaging): files one at a time (ZIP entries kept on disk,
//        a CVAT XML read in pieces), each image's mask stored as its importer hands it over,
//        so one decoded mask is held at a time. A refused file or image writes nothing (a
//        file refused midway drops what it staged); the accepted images become one new
//        revision each, written together at the end. One revision per image per import:
//        the first mask of an image wins, label images with a label suffix going first.
//   GET  /api/annotations/{set}/export?format=label_images|coco|cvat_xml|cvat_seg_zip
//   POST/GET the same on an image_labels set: format labels_csv only (`file,label` lines;
//        annotations/labels_csv.h), and labels_csv on a mask set is 400 (image_labels.h)
//   GET  /api/inferences/{id}/export?format=...&kind=semantic|instances
//        the formats are job_export_formats.h's table: the mask formats here
//        (ExportJobMasks), dicom_seg (the job's DICOM SEG files, api_dicom_seg.cc) and
//        labels_csv (a classification job's top-1 classes, api_image_labels.cc)
//        label_images: a ZIP of masks/<stem>_mask.png (the stored label PNGs) and
//        labels.json; coco: the instances JSON; cvat_xml: CVAT for images 1.1;
//        cvat_seg_zip: CVAT's Segmentation mask 1.1 ZIP.
// Ownership as the rest of /api. Everything runs on the blocking pool.
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <span>

#include "annotations/coco.h"
#include "annotations/cvat_seg_zip.h"
#include "annotations/cvat_xml.h"
#include "annotations/label_images.h"
#include "api/blob_download.h"
#include "api/http_status.h"
#include "api/response_stream.h"
#include "api/routes/annotation_common.h"
#include "api/routes/api_common.h"
#include "api/routes/image_labels.h"
#include "api/routes/import_staging.h"
#include "api/routes/job_export_formats.h"
#include "api/routes/routes.h"
#include "archive/zip_reader.h"
#include "archive/zip_writer.h"
#include "common/json_text.h"
#include "common/logging.h"
#include "common/strings.h"
#include "common/utf8.h"
#include "jobs/inference_jobs.h"
#include "models/model.h"
#include "store/blob_store.h"

namespace infera {

namespace {

namespace fs = std::filesystem;

enum class Format { kLabelImages, kCoco, kCvatXml, kCvatSegZip };

StatusOr<Format> ParseFormat(std::string_view name) {
  if (name == "labels_csv") {
    return absl::InvalidArgumentError(
        "format labels_csv is for annotation sets of kind image_labels (one label per image)");
  }
  if (name == "label_images") return Format::kLabelImages;
  if (name == "coco") return Format::kCoco;
  if (name == "cvat_xml") return Format::kCvatXml;
  if (name == "cvat_seg_zip") return Format::kCvatSegZip;
  return absl::InvalidArgumentError(StrCat("unknown format '", name.substr(0, 40),
                                           "' (expected label_images, coco, cvat_xml, "
                                           "cvat_seg_zip)"));
}

std::span<const std::byte> Bytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

StatusOr<std::string> ReadCapped(const fs::path& path, uint64_t max_bytes) {
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec) return absl::InternalError("cannot read an uploaded file");
  if (size > max_bytes) {
    return absl::InvalidArgumentError(StrCat("the file is larger than ", max_bytes, " bytes"));
  }
  std::string bytes(size, '\0');
  std::ifstream in(path, std::ios::binary);
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (!in) return absl::InternalError("cannot read an uploaded file");
  return bytes;
}

// What a file is, from its name and first bytes.
std::optional<Format> Guess(std::string_view name, std::string_view head) {
  const std::span<const std::byte> bytes = Bytes(head);
  const ImageFormat image = DetectImageFormat(bytes);
  if (image == ImageFormat::kPng || image == ImageFormat::kTiff) return Format::kLabelImages;
  size_t p = 0;
  if (head.starts_with("\xEF\xBB\xBF")) p = 3;
  while (p < head.size() &&
         (head[p] == ' ' || head[p] == '\n' || head[p] == '\r' || head[p] == '\t'))
    ++p;
  if (p < head.size() && head[p] == '{') return Format::kCoco;
  if (p < head.size() && head[p] == '<') return Format::kCvatXml;
  if (name.ends_with(".json")) return Format::kCoco;
  if (name.ends_with(".xml")) return Format::kCvatXml;
  return std::nullopt;
}

// A folder of the request's own under tmp_dir (ZIP entries kept on disk until read),
// removed with its contents on destruction.
class ScratchDir {
 public:
  static StatusOr<ScratchDir> Make(const fs::path& parent) {
    std::string templ = (parent / "import-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) {
      return absl::InternalError("cannot create a folder for the import");
    }
    return ScratchDir(templ);
  }
  ScratchDir(ScratchDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  ScratchDir& operator=(ScratchDir&&) = delete;
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit ScratchDir(fs::path path) : path_(std::move(path)) {}
  fs::path path_;
};

// One file to import: a part, an entry of a ZIP part, or a whole Segmentation mask
// archive; its bytes on disk until its turn.
struct ImportItem {
  std::string name;  // as sent: the part's filename or the entry's name
  fs::path path;
  std::optional<Format> format;  // asked for or guessed; none: not a format infera reads
  bool seg_zip = false;
  std::map<std::string, fs::path> archive;  // seg_zip: entry name -> its file
};

StatusOr<std::string> ReadHead(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InternalError("cannot read an uploaded file");
  std::string head(64, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  return head;
}

// Reads a CVAT XML file in 64 KiB pieces into the importer (never whole).
Status FeedCvatXml(const fs::path& path, uint64_t max_bytes, CvatXmlImporter* importer) {
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec) return absl::InternalError("cannot read an uploaded file");
  if (size > max_bytes) {
    return absl::InvalidArgumentError(StrCat("the file is larger than ", max_bytes, " bytes"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InternalError("cannot read an uploaded file");
  std::string piece(size_t{64} << 10, '\0');
  while (in) {
    in.read(piece.data(), static_cast<std::streamsize>(piece.size()));
    const size_t got = static_cast<size_t>(in.gcount());
    if (got == 0) break;
    RETURN_IF_ERROR(importer->Feed(std::string_view(piece.data(), got)));
  }
  if (in.bad()) return absl::InternalError("cannot read an uploaded file");
  return importer->Finish();
}

// One item through its importer into `staging`, as one file (see ImportStaging).
Status ImportItemInto(const ImportItem& item, const ImageMatcher& matcher,
                      const ImportOptions& options, uint64_t max_bytes, ImportStaging* staging) {
  const std::string source = CleanDisplayText(item.name);
  if (item.seg_zip) {
    std::vector<std::string> names;
    for (const auto& [name, path] : item.archive) names.push_back(name);
    staging->BeginFile(source, /*prefix=*/false);
    Status status = ImportCvatSegZip(
        names,
        [&](const std::string& name) -> StatusOr<std::string> {
          StatusOr<std::string> bytes = ReadCapped(item.archive.at(name), max_bytes);
          if (!bytes.ok() && absl::IsInvalidArgument(bytes.status())) {
            return absl::InvalidArgumentError(
                StrCat(CleanDisplayText(name), ": ", bytes.status().message()));
          }
          return bytes;
        },
        matcher, options, staging);
    return staging->EndFile(status);
  }
  if (!item.format) {
    staging->RefuseFile(
        source, "not an annotation file infera reads (a label PNG/TIFF, COCO JSON or CVAT XML)");
    return absl::OkStatus();
  }
  if (*item.format == Format::kCvatSegZip) {
    staging->RefuseFile(source, "a cvat_seg_zip upload is a ZIP archive");
    return absl::OkStatus();
  }
  if (*item.format == Format::kCvatXml) {
    staging->BeginFile(source, /*prefix=*/true);
    CvatXmlImporter importer(matcher, options, staging);
    return staging->EndFile(FeedCvatXml(item.path, max_bytes, &importer));
  }
  StatusOr<std::string> bytes = ReadCapped(item.path, max_bytes);
  if (!bytes.ok()) {
    if (!absl::IsInvalidArgument(bytes.status())) return bytes.status();
    staging->RefuseFile(source, std::string(ToStd(bytes.status().message())));
    return absl::OkStatus();
  }
  if (*item.format == Format::kLabelImages) {
    staging->BeginFile(source, /*prefix=*/false);
    return staging->EndFile(ImportLabelImage(item.name, Bytes(*bytes), matcher, options, staging));
  }
  staging->BeginFile(source, /*prefix=*/true);  // COCO
  return staging->EndFile(ImportCoco(*bytes, matcher, options, staging));
}

StatusOr<HttpResponse> ImportRoute(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("set"), "annotation set"));
  ASSIGN_OR_RETURN(AnnotationSetRecord set, VisibleAnnotationSet(ctx, req, id));
  MultipartTempFiles cleanup;
  ASSIGN_OR_RETURN(std::vector<MultipartPart> parts, ReadMultipart(ctx, req, &cleanup));
  std::optional<Format> asked;
  if (set.kind == AnnotationKind::kImageLabels) return ImportLabelsCsv(ctx, req, set, parts);
  for (const MultipartPart& part : parts) {
    if (!part.is_file && part.name == "format" && !part.value.empty()) {
      ASSIGN_OR_RETURN(asked, ParseFormat(part.value));
    }
  }
  ASSIGN_OR_RETURN(std::vector<FileRecord> files, ctx.store->ListDatasetFiles(set.dataset_id));
  std::vector<TargetImage> targets;
  std::map<int64_t, FileRecord> by_id;
  for (const FileRecord& f : files) {
    targets.push_back({f.id, f.filename, f.width, f.height});
    by_id[f.id] = f;
  }
  const ImageMatcher matcher(std::move(targets));
  ImportOptions options;
  options.instances = set.kind == AnnotationKind::kInstances;
  ASSIGN_OR_RETURN(options.labels, SetLabels(set));
  options.limits.max_pixels = ctx.max_image_pixels;
  const uint64_t max_bytes = static_cast<uint64_t>(ctx.uploads.max_file_bytes);
  ImportStaging staging(ctx, set, by_id, CallerId(req));
  ASSIGN_OR_RETURN(ScratchDir scratch, ScratchDir::Make(ctx.tmp_dir));

  // 1. What the upload holds, on disk: parts, and ZIP entries extracted one by one.
  std::vector<ImportItem> items;
  bool any_file = false;
  uint64_t kept = 0;
  for (const MultipartPart& part : parts) {
    if (!part.is_file) continue;
    const std::string source = CleanDisplayText(part.filename);
    if (part.name != "file" && part.name != "files") {
      staging.RefuseFile(source, StrCat("unexpected form field '", CleanDisplayText(part.name),
                                        "' (files go in the field 'file')"));
      continue;
    }
    any_file = true;
    std::ifstream head_in(part.file, std::ios::binary);
    char head[4] = {};
    head_in.read(head, 4);
    if (head_in.gcount() != 4 || std::string_view(head, 4) != std::string_view("PK\x03\x04", 4)) {
      items.push_back({part.filename, part.file, asked, false, {}});
      continue;
    }
    ZipLimits limits;
    limits.max_entries = static_cast<uint64_t>(ctx.uploads.max_files_per_upload) * 2 + 16;
    limits.max_total_bytes = static_cast<uint64_t>(ctx.uploads.max_upload_bytes) * 4;
    limits.max_entry_bytes = max_bytes;
    StatusOr<ZipReader> reader = ZipReader::Open(part.file, limits);
    if (!reader.ok()) {
      staging.RefuseFile(source, StrCat("not a usable ZIP archive: ", reader.status().message()));
      continue;
    }
    // Each entry kept on disk (never all in memory): a Segmentation mask archive is known
    // by its labelmap.txt and pairs its entries; other entries are files of their own.
    std::vector<std::pair<std::string, fs::path>> entries;
    StatusOr<std::vector<ZipRefusal>> refused = reader->ForEachFile(
        ctx.tmp_dir, [&](const ZipEntryInfo& info, const fs::path& file) -> Status {
          if (info.base_name.starts_with("._") || info.name.starts_with("__MACOSX/")) {
            return absl::OkStatus();
          }
          const fs::path keep = scratch.path() / std::to_string(kept++);
          std::error_code ec;
          fs::rename(file, keep, ec);
          if (ec) return absl::InternalError("cannot keep an extracted ZIP entry");
          entries.emplace_back(info.name, keep);
          return absl::OkStatus();
        });
    if (!refused.ok()) return refused.status();
    for (const ZipRefusal& r : *refused) staging.RefuseFile(CleanDisplayText(r.name), r.message);
    bool seg = false;
    for (const auto& [name, path] : entries) seg = seg || name == "labelmap.txt";
    if (asked) seg = *asked == Format::kCvatSegZip;
    if (seg) {
      ImportItem item{part.filename, part.file, Format::kCvatSegZip, true, {}};
      for (auto& [name, path] : entries) item.archive.emplace(name, std::move(path));
      items.push_back(std::move(item));
      continue;
    }
    for (auto& [name, path] : entries) {
      if (BaseName(name) == "labels.json" || BaseName(name) == "labelmap.txt") continue;
      items.push_back({name, std::move(path), asked, false, {}});
    }
  }
  if (!any_file) return absl::InvalidArgumentError("the upload holds no file (field 'file')");
  for (ImportItem& item : items) {
    if (item.seg_zip || item.format) continue;
    ASSIGN_OR_RETURN(std::string head, ReadHead(item.path));
    item.format = Guess(item.name, head);
  }
  // 2. The order decides which mask of an image wins (one revision per image per
  // import: the first): label images named with a label suffix ("a_mask.png") first, so
  // that they win over the image itself ("a.png") sent along; then the rest as sent.
  std::stable_partition(items.begin(), items.end(), [](const ImportItem& item) {
    return !item.seg_zip && item.format == Format::kLabelImages && HasLabelSuffix(item.name);
  });
  // 3. One file at a time, one image at a time: staged as it comes, dropped when its file
  // is refused, all written together at the end.
  for (const ImportItem& item : items) {
    RETURN_IF_ERROR(ImportItemInto(item, matcher, options, max_bytes, &staging));
  }
  ASSIGN_OR_RETURN(nlohmann::json imported, staging.Commit());
  nlohmann::json j = {{"set_id", set.id},
                      {"imported", std::move(imported)},
                      {"refused", staging.refused()},
                      {"notes", staging.notes()}};
  if (j["imported"].empty()) {
    j["error"] = "nothing was imported";
    return JsonResponse(400, JsonText(j));
  }
  return JsonResponse(200, JsonText(j));
}

// The masks to export and how.
struct ExportPlan {
  std::string name;  // download name without extension
  bool instances = false;
  LabelMap labels;
  struct Item {
    int64_t file_id;
    std::string filename;
    std::string sha256;  // the label PNG
    std::string classes_json = "{}";
  };
  std::vector<Item> items;
};

// Streams the export: the response header goes out first, then each mask is read,
// decoded and written one at a time (nothing of the masks is held between images). An
// error midway aborts the stream (the client sees a cut transfer) and is logged.
void Export(const ApiContext& ctx, const HttpRequest& req, const Responder& respond,
            const ExportPlan& plan) {
  std::string value;
  if (!req.query_param("format", &value)) {
    return respond(StatusResponse(absl::InvalidArgumentError(
        "'format' is required (label_images, coco, cvat_xml, cvat_seg_zip)")));
  }
  StatusOr<Format> format = ParseFormat(value);
  if (!format.ok()) return respond(StatusResponse(format.status()));
  auto stream = std::make_shared<ResponseStream>();
  HttpResponse response;
  std::string suffix;
  switch (*format) {
    case Format::kLabelImages:
      response.content_type = "application/zip";
      suffix = "_label_images.zip";
      break;
    case Format::kCoco:
      response.content_type = "application/json";
      suffix = "_coco.json";
      break;
    case Format::kCvatXml:
      response.content_type = "application/xml";
      suffix = "_cvat.xml";
      break;
    case Format::kCvatSegZip:
      response.content_type = "application/zip";
      suffix = "_cvat_segmentation_mask.zip";
      break;
  }
  response.headers["content-disposition"] =
      StrCat("attachment; filename=\"", plan.name, suffix, "\"");
  response.stream = stream;
  respond(std::move(response));
  auto write = [&stream](std::string_view bytes) -> Status {
    if (!stream->Write(bytes)) return absl::CancelledError("the client went away");
    return absl::OkStatus();
  };
  ZipWriter zip(write);
  DecodeLimits limits;
  limits.max_pixels = ctx.max_image_pixels;
  auto image_of = [&](const ExportPlan::Item& item) -> StatusOr<ExportImage> {
    ASSIGN_OR_RETURN(std::string bytes, ctx.blobs->Get(item.sha256));
    StatusOr<Image> labels = DecodeLabelImage(Bytes(bytes), limits);
    if (!labels.ok()) {
      return absl::InternalError(StrCat("the stored mask of file ", item.file_id,
                                        " does not decode: ", labels.status().message()));
    }
    ExportImage image;
    image.id = item.file_id;
    image.filename = ToValidUtf8(item.filename);
    image.mask.labels = std::move(*labels);
    StatusOr<std::map<int, int>> classes =
        ParseClassesJson(nlohmann::json::parse(item.classes_json, nullptr, false));
    if (classes.ok()) image.mask.classes = std::move(*classes);
    return image;
  };
  // Each image through a writer's Add, then its Finish.
  auto each = [&](auto& writer) -> Status {
    for (const ExportPlan::Item& item : plan.items) {
      ASSIGN_OR_RETURN(ExportImage image, image_of(item));
      RETURN_IF_ERROR(writer.Add(image));
    }
    return writer.Finish();
  };
  Status status = [&]() -> Status {
    switch (*format) {
      case Format::kLabelImages: {
        std::set<std::string> used;
        for (const ExportPlan::Item& item : plan.items) {
          std::string name =
              StrCat("masks/", LabelImageExportName(CleanDisplayText(item.filename)));
          for (int n = 2; used.count(name) != 0; ++n) {
            name = StrCat("masks/", Stem(LabelImageExportName(item.filename)), "_", n, ".png");
          }
          used.insert(name);
          RETURN_IF_ERROR(AddBlobToZip(zip, *ctx.blobs, name, item.sha256));
        }
        RETURN_IF_ERROR(
            zip.AddFile("labels.json",
                        JsonText(nlohmann::json{{"kind", plan.instances ? "instances" : "semantic"},
                                                {"labels", LabelMapJson(plan.labels)}},
                                 2)));
        return zip.Finish();
      }
      case Format::kCoco: {
        CocoWriter writer(plan.labels, plan.instances, write);
        return each(writer);
      }
      case Format::kCvatXml: {
        CvatXmlWriter writer(plan.labels, plan.instances, write);
        return each(writer);
      }
      case Format::kCvatSegZip: {
        CvatSegZipWriter writer(
            plan.labels, plan.instances,
            [&zip](std::string_view name, std::string bytes) { return zip.AddFile(name, bytes); });
        RETURN_IF_ERROR(each(writer));
        return zip.Finish();
      }
    }
    return absl::InternalError("unknown export format");
  }();
  if (status.ok()) {
    stream->Close();
  } else {
    Log(LogLevel::kWarning, "export_aborted", {{"error", std::string(ToStd(status.message()))}});
    stream->Abort();
  }
}

void ExportSetRoute(const ApiContext& ctx, const HttpRequest& req, const Responder& respond) {
  StatusOr<AnnotationSetRecord> set = [&]() -> StatusOr<AnnotationSetRecord> {
    ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("set"), "annotation set"));
    return VisibleAnnotationSet(ctx, req, id);
  }();
  if (!set.ok()) return respond(StatusResponse(set.status()));
  if (set->kind == AnnotationKind::kImageLabels) {
    std::string format;
    if (!req.query_param("format", &format) || format != "labels_csv") {
      return respond(StatusResponse(absl::InvalidArgumentError(StrCat(
          "annotation set ", set->id,
          " is of kind image_labels: its export format is labels_csv (format=labels_csv)"))));
    }
    StatusOr<HttpResponse> csv = ExportLabelsCsv(ctx, *set);
    return respond(csv.ok() ? std::move(*csv) : StatusResponse(csv.status()));
  }
  StatusOr<ExportPlan> plan = [&]() -> StatusOr<ExportPlan> {
    ExportPlan plan;
    plan.name = StrCat("annotation_set_", set->id);
    plan.instances = set->kind == AnnotationKind::kInstances;
    ASSIGN_OR_RETURN(plan.labels, SetLabels(*set));
    ASSIGN_OR_RETURN(std::vector<MaskRevisionRecord> masks,
                     ctx.annotations->ListCurrentMasks(set->id));
    for (const MaskRevisionRecord& m : masks) {
      ASSIGN_OR_RETURN(FileRecord file, ctx.store->GetFile(m.source_file_id));
      plan.items.push_back({m.source_file_id, file.filename, m.sha256, m.classes_json});
    }
    return plan;
  }();
  if (!plan.ok()) return respond(StatusResponse(plan.status()));
  Export(ctx, req, respond, *plan);
}

// GET /api/inferences/{id}/export: the format's row of job_export_formats answers.
void ExportJobRoute(const ApiContext& ctx, const HttpRequest& req, const Responder& respond) {
  std::string format;
  if (!req.query_param("format", &format) || format.empty()) {
    return respond(StatusResponse(
        absl::InvalidArgumentError(StrCat("'format' is required (", JobExportFormatNames(), ")"))));
  }
  const JobExportFormat* row = FindJobExportFormat(format);
  if (row == nullptr) {
    return respond(StatusResponse(absl::InvalidArgumentError(StrCat(
        "unknown format '", format.substr(0, 40), "' (expected ", JobExportFormatNames(), ")"))));
  }
  row->export_job(ctx, req, respond);
}

}  // namespace

// The mask formats of a job (job_export_formats.h).
void ExportJobMasks(const ApiContext& ctx, const HttpRequest& req, const Responder& respond) {
  StatusOr<ExportPlan> plan = [&]() -> StatusOr<ExportPlan> {
    ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("id"), "inference"));
    std::vector<JobResultRecord> results;
    ASSIGN_OR_RETURN(nlohmann::json job, ctx.jobs->Report(req.principal, id, &results));
    ExportPlan plan;
    plan.name = StrCat("inference_", id);
    std::string kind;
    if (req.query_param("kind", &kind)) {
      ASSIGN_OR_RETURN(AnnotationKind k, ParseAnnotationKind(kind));
      plan.instances = k == AnnotationKind::kInstances;
    } else {
      for (const JobResultRecord& r : results) {
        if (r.File("instance_mask") != nullptr) plan.instances = true;
      }
    }
    std::vector<std::string> class_names;
    if (ctx.models != nullptr) {
      if (std::shared_ptr<Model> model = ctx.models->Get(job.value("model_id", ""))) {
        class_names = model->description().labels;
      }
    }
    std::set<std::string> names;
    for (size_t k = 1; k < class_names.size(); ++k) {
      std::string n = CleanDisplayText(class_names[k]);
      if (n.empty() || !names.insert(n).second) n = StrCat("class ", k);
      plan.labels.push_back({static_cast<int>(k), n, VocColour(static_cast<int>(k))});
    }
    if (plan.instances) {
      plan.labels = {
          {1, class_names.size() > 1 ? plan.labels.front().name : "object", VocColour(1)}};
    }
    const std::string_view mask_kind = plan.instances ? "instance_mask" : "class_mask";
    for (const JobResultRecord& r : results) {
      const FileRecord* f = r.File(mask_kind);
      if (f == nullptr || f->content_type != "image/png" || f->channels != 1) continue;
      plan.items.push_back({r.source_file_id, r.source_filename, f->sha256, "{}"});
    }
    return plan;
  }();
  if (!plan.ok()) return respond(StatusResponse(plan.status()));
  Export(ctx, req, respond, *plan);
}

namespace {

// Without an annotation store every route answers 501.
Handler Unavailable(const ApiContext& ctx) {
  return Guarded(ctx, Access::kUser, [](HttpRequest&&, Responder respond) {
    respond(ErrorResponse(501, "this server's storage driver has no annotation sets yet"));
  });
}

Handler Annotations(const ApiContext& ctx, StreamingFn fn) {
  if (ctx.annotations == nullptr) return Unavailable(ctx);
  return Guarded(ctx, Access::kUser, Streaming(ctx, std::move(fn)));
}

Handler Annotations(const ApiContext& ctx, BlockingFn fn) {
  if (ctx.annotations == nullptr) return Unavailable(ctx);
  return Guarded(ctx, Access::kUser, Blocking(ctx, std::move(fn)));
}

}  // namespace

void AddApiAnnotationFormatRoutes(Router& router, const ApiContext& ctx) {
  RouteOptions upload;
  upload.spool = true;
  upload.max_body_bytes = static_cast<uint64_t>(ctx.uploads.max_upload_bytes);
  router.Add("POST", "/api/annotations/{set}/import", Annotations(ctx, BlockingFn(ImportRoute)),
             upload);
  router.Add("GET", "/api/annotations/{set}/export", Annotations(ctx, StreamingFn(ExportSetRoute)));
  router.Add("GET", "/api/inferences/{id}/export", Annotations(ctx, StreamingFn(ExportJobRoute)));
}

}  // namespace infera
