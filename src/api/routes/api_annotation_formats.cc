// Annotation files in and out (the formats are src/annotations/'s):
//   POST /api/annotations/{set}/import   multipart: `file` (one or more) and optional
//        `format` = label_images | coco | cvat_xml | cvat_seg_zip (guessed from each file
//        when absent; a ZIP with labelmap.txt is CVAT's Segmentation mask 1.1, another
//        ZIP is read entry by entry: .json as COCO, .xml as CVAT, images as label images) -> 200
//        {"imported": [...], "refused": [{source, reason}], "notes": [...]} (400 when nothing was
//        imported). A refused file or image writes nothing; the accepted ones become one new
//        revision each, written together.
//   GET  /api/annotations/{set}/export?format=label_images|coco|cvat_xml|cvat_seg_zip
//   GET  /api/inferences/{id}/export?format=...&kind=semantic|instances
//        label_images: a ZIP of masks/<stem>_mask.png (the stored label PNGs) and
//        labels.json; coco: the instances JSON; cvat_xml: CVAT for images 1.1;
//        cvat_seg_zip: CVAT's Segmentation mask 1.1 ZIP.
// Ownership as the rest of /api. Everything runs on the blocking pool.
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

struct ImportContext {
  const ImageMatcher* matcher;
  ImportOptions options;
  std::optional<Format> format;  // the one asked for
  ImportResult result;
  std::vector<std::string> notes;
};

// One file (a part, or an entry of a ZIP part).
void ImportOne(ImportContext* ic, std::string_view name, std::string_view bytes) {
  const std::string source = CleanDisplayText(name);
  std::optional<Format> format = ic->format ? ic->format : Guess(name, bytes.substr(0, 64));
  if (!format) {
    ic->result.refused.push_back(
        {source, "not an annotation file infera reads (a label PNG/TIFF, COCO JSON or CVAT XML)"});
    return;
  }
  switch (*format) {
    case Format::kLabelImages:
      ImportLabelImage(name, Bytes(bytes), *ic->matcher, ic->options, &ic->result);
      return;
    case Format::kCoco: {
      StatusOr<ImportResult> r = ImportCoco(bytes, *ic->matcher, ic->options);
      if (!r.ok()) {
        ic->result.refused.push_back({source, std::string(ToStd(r.status().message()))});
        return;
      }
      for (ImportedMask& m : r->masks) ic->result.masks.push_back(std::move(m));
      for (ImportRefusal& f : r->refused) {
        ic->result.refused.push_back({StrCat(source, ": ", f.source), std::move(f.reason)});
      }
      return;
    }
    case Format::kCvatSegZip:
      ic->result.refused.push_back({source, "a cvat_seg_zip upload is a ZIP archive"});
      return;
    case Format::kCvatXml: {
      StatusOr<CvatImportResult> r = ImportCvatXml(bytes, *ic->matcher, ic->options);
      if (!r.ok()) {
        ic->result.refused.push_back({source, std::string(ToStd(r.status().message()))});
        return;
      }
      for (ImportedMask& m : r->result.masks) ic->result.masks.push_back(std::move(m));
      for (ImportRefusal& f : r->result.refused) {
        ic->result.refused.push_back({StrCat(source, ": ", f.source), std::move(f.reason)});
      }
      for (std::string& n : r->notes) ic->notes.push_back(StrCat(source, ": ", n));
      return;
    }
  }
}

StatusOr<HttpResponse> ImportRoute(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("set"), "annotation set"));
  ASSIGN_OR_RETURN(AnnotationSetRecord set, VisibleAnnotationSet(ctx, req, id));
  MultipartTempFiles cleanup;
  ASSIGN_OR_RETURN(std::vector<MultipartPart> parts, ReadMultipart(ctx, req, &cleanup));
  ImportContext ic;
  for (const MultipartPart& part : parts) {
    if (!part.is_file && part.name == "format" && !part.value.empty()) {
      ASSIGN_OR_RETURN(ic.format, ParseFormat(part.value));
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
  ic.matcher = &matcher;
  ic.options.instances = set.kind == AnnotationKind::kInstances;
  ASSIGN_OR_RETURN(ic.options.labels, SetLabels(set));
  ic.options.limits.max_pixels = ctx.max_image_pixels;
  const uint64_t max_bytes = static_cast<uint64_t>(ctx.uploads.max_file_bytes);
  bool any_file = false;
  for (const MultipartPart& part : parts) {
    if (!part.is_file) continue;
    const std::string source = CleanDisplayText(part.filename);
    if (part.name != "file" && part.name != "files") {
      ic.result.refused.push_back(
          {source, StrCat("unexpected form field '", CleanDisplayText(part.name),
                          "' (files go in the field 'file')")});
      continue;
    }
    any_file = true;
    std::ifstream head_in(part.file, std::ios::binary);
    char head[4] = {};
    head_in.read(head, 4);
    if (head_in.gcount() == 4 && std::string_view(head, 4) == std::string_view("PK\x03\x04", 4)) {
      ZipLimits limits;
      limits.max_entries = static_cast<uint64_t>(ctx.uploads.max_files_per_upload) * 2 + 16;
      limits.max_total_bytes = static_cast<uint64_t>(ctx.uploads.max_upload_bytes) * 4;
      limits.max_entry_bytes = max_bytes;
      StatusOr<ZipReader> reader = ZipReader::Open(part.file, limits);
      if (!reader.ok()) {
        ic.result.refused.push_back(
            {source, StrCat("not a usable ZIP archive: ", reader.status().message())});
        continue;
      }
      // Read whole (within the ZIP limits): a Segmentation mask archive is known by its
      // labelmap.txt and pairs its entries.
      std::map<std::string, std::string> read;
      StatusOr<std::vector<ZipRefusal>> refused = reader->ForEachFile(
          ctx.tmp_dir, [&](const ZipEntryInfo& info, const fs::path& file) -> Status {
            if (info.base_name.starts_with("._") || info.name.starts_with("__MACOSX/")) {
              return absl::OkStatus();
            }
            ASSIGN_OR_RETURN(read[info.name], ReadCapped(file, max_bytes));
            return absl::OkStatus();
          });
      if (!refused.ok()) return refused.status();
      for (const ZipRefusal& r : *refused) {
        ic.result.refused.push_back({CleanDisplayText(r.name), r.message});
      }
      const bool seg =
          ic.format ? *ic.format == Format::kCvatSegZip : read.count("labelmap.txt") > 0;
      if (seg) {
        StatusOr<ImportResult> r = ImportCvatSegZip(read, matcher, ic.options);
        if (!r.ok()) {
          ic.result.refused.push_back({source, std::string(ToStd(r.status().message()))});
          continue;
        }
        for (ImportedMask& m : r->masks) ic.result.masks.push_back(std::move(m));
        for (ImportRefusal& f : r->refused) ic.result.refused.push_back(std::move(f));
        continue;
      }
      for (const auto& [name, bytes] : read) {
        if (BaseName(name) == "labels.json" || BaseName(name) == "labelmap.txt") continue;
        ImportOne(&ic, name, bytes);
      }
      continue;
    }
    StatusOr<std::string> bytes = ReadCapped(part.file, max_bytes);
    if (!bytes.ok()) {
      if (!absl::IsInvalidArgument(bytes.status())) return bytes.status();
      ic.result.refused.push_back({source, std::string(ToStd(bytes.status().message()))});
      continue;
    }
    ImportOne(&ic, part.filename, *bytes);
  }
  if (!any_file) return absl::InvalidArgumentError("the upload holds no file (field 'file')");
  // One revision per image: a second mask for an image is refused. A name with a label
  // suffix ("a_mask.png") wins over the image itself ("a.png") sent along in a ZIP.
  std::stable_partition(ic.result.masks.begin(), ic.result.masks.end(),
                        [](const ImportedMask& m) { return HasLabelSuffix(m.source); });
  std::vector<PreparedMask> prepared;
  std::vector<std::pair<std::string, int64_t>> sources;
  std::set<int64_t> taken;
  nlohmann::json refused = nlohmann::json::array();
  for (const ImportRefusal& r : ic.result.refused) {
    refused.push_back({{"source", r.source}, {"reason", r.reason}});
  }
  for (ImportedMask& m : ic.result.masks) {
    if (!taken.insert(m.image.file_id).second) {
      refused.push_back(
          {{"source", m.source},
           {"reason", StrCat("another file of this import annotates ", m.image.filename)}});
      continue;
    }
    StatusOr<PreparedMask> p =
        PrepareMask(ctx, set, by_id[m.image.file_id], std::move(m.mask), CallerId(req), "import");
    if (!p.ok()) {
      if (!absl::IsInvalidArgument(p.status())) return p.status();
      refused.push_back(
          {{"source", m.source}, {"reason", std::string(ToStd(p.status().message()))}});
      continue;
    }
    sources.emplace_back(m.source, m.image.file_id);
    prepared.push_back(std::move(*p));
  }
  std::vector<MaskRevisionRecord> records;
  for (const PreparedMask& p : prepared) records.push_back(p.revision);
  nlohmann::json imported = nlohmann::json::array();
  if (!records.empty()) {
    StatusOr<std::vector<MaskRevisionRecord>> written =
        ctx.annotations->AddMaskRevisions(set.id, records);
    if (!written.ok()) {
      // Nothing was written: the blobs of this import go unless something else holds them.
      std::vector<std::string> shas;
      for (PreparedMask& p : prepared) {
        shas.push_back(p.revision.sha256);
        p.blob.pin.Release();
      }
      (void)SweepUnusedBlobs(*ctx.store, *ctx.blobs, shas);
      return written.status();
    }
    for (size_t i = 0; i < written->size(); ++i) {
      imported.push_back({{"source", sources[i].first},
                          {"file_id", sources[i].second},
                          {"filename", ToValidUtf8(by_id[sources[i].second].filename)},
                          {"revision", (*written)[i].revision}});
    }
  }
  nlohmann::json j = {{"set_id", set.id},
                      {"imported", std::move(imported)},
                      {"refused", std::move(refused)},
                      {"notes", ic.notes}};
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

void ExportJobRoute(const ApiContext& ctx, const HttpRequest& req, const Responder& respond) {
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
