// Annotation sets (store/annotation_store.h) of the /api workflow:
//   POST   /api/datasets/{id}/annotations    {name, kind: semantic|instances|image_labels,
//                                            labels: [{id, name, colour}]} -> 201 set
//                                            (image_labels needs at least one label)
//   GET    /api/datasets/{id}/annotations    -> {"annotation_sets": [...]}
//   GET    /api/annotations/{set}            -> set + "masks" (the current mask of each image;
//                                            image_labels sets: + "image_labels",
//                                            "label_counts", "unlabelled")
//   DELETE /api/annotations/{set}            -> 200; blobs nothing references are removed
//   GET    /api/annotations/{set}/images/{file}/mask  ?revision=N: a label PNG (current)
//   PUT    /api/annotations/{set}/images/{file}/mask  body: a label PNG or TIFF (one
//                                            channel, 8/16-bit) of the image's shape ->
//                                            201 the new revision; instance sets: the
//                                            optional X-Infera-Classes header, JSON
//                                            {"<instance id>": <class id>, ...}, sets the
//                                            class of those instances (each must be in
//                                            the mask, each class in the label map); the
//                                            other instances keep the previous revision's
//                                            classes (all of them without the header)
//   GET    /api/annotations/{set}/images/{file}/revisions -> {"revisions": [...]} (the
//                                            mask's, or an image_labels set's label's)
//   GET/PUT /api/annotations/{set}/images/{file}/label  image_labels sets (image_labels.h)
//   POST   /api/annotations/{set}/images/{file}/assist  {tool: grabcut|watershed, ...} ->
//                                            a proposed label PNG, not stored
//                                            (api_annotation_assist.cc)
//   POST   /api/inferences/{id}/annotations  {name?, kind?} -> 201 a set made of the job's
//                                            masks (class masks: semantic, a binary
//                                            segmenter's 0/255 as class 1; instance
//                                            masks: instances; a classifier's top-1
//                                            classes: image_labels) with per-image verdicts
// (import and export: api_annotation_formats.cc). Ownership as datasets: the creator
// and admins see a set, anyone else gets 404. Everything runs on the blocking pool.
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string_view>

#include "annotations/label_image.h"
#include "annotations/label_map.h"
#include "annotations/model_classes.h"
#include "api/http_status.h"
#include "api/routes/annotation_common.h"
#include "api/routes/api_common.h"
#include "api/routes/image_labels.h"
#include "api/routes/routes.h"
#include "common/json_text.h"
#include "common/logging.h"
#include "common/strings.h"
#include "common/utf8.h"
#include "jobs/inference_jobs.h"
#include "models/model.h"
#include "store/blob_lifetime.h"
#include "store/blob_store.h"

namespace infera {

namespace {

constexpr std::string_view kClassesHeader = "X-Infera-Classes";

std::span<const std::byte> Bytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

StatusOr<HttpResponse> CreateSet(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t dataset_id, ParseId(req.params.at("id"), "dataset"));
  ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(req));
  AnnotationSetRecord set;
  LabelMap labels;
  for (const auto& [key, value] : body.items()) {
    if (key == "name") {
      if (!value.is_string()) return absl::InvalidArgumentError("'name' must be a string");
      set.name = CleanDisplayText(value.get<std::string>());
    } else if (key == "kind") {
      if (!value.is_string()) return absl::InvalidArgumentError("'kind' must be a string");
      ASSIGN_OR_RETURN(set.kind, ParseAnnotationKind(value.get<std::string>()));
    } else if (key == "labels") {
      ASSIGN_OR_RETURN(labels, ParseLabelMap(value));
    } else {
      return absl::InvalidArgumentError(
          StrCat("unknown field '", key.substr(0, 64), "' (expected name, kind, labels)"));
    }
  }
  if (set.name.empty()) return absl::InvalidArgumentError("'name' is required");
  if (set.name.size() > 200) return absl::InvalidArgumentError("'name' is longer than 200 bytes");
  if (!body.contains("kind")) return absl::InvalidArgumentError("'kind' is required");
  if (set.kind == AnnotationKind::kImageLabels && labels.empty()) {
    return absl::InvalidArgumentError(
        "an image_labels set needs at least one label ('labels': [{id, name}]): each image "
        "gets one of them");
  }
  ASSIGN_OR_RETURN(DatasetRecord dataset, VisibleDataset(ctx, req, dataset_id));
  set.dataset_id = dataset.id;
  set.owner_id = CallerId(req);
  set.labels_json = LabelMapJson(labels).dump();
  ASSIGN_OR_RETURN(AnnotationSetRecord created, ctx.annotations->CreateAnnotationSet(set, {}));
  return JsonResponse(201, JsonText(AnnotationSetJson(created)));
}

StatusOr<HttpResponse> ListSets(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t dataset_id, ParseId(req.params.at("id"), "dataset"));
  RETURN_IF_ERROR(VisibleDataset(ctx, req, dataset_id).status());
  ASSIGN_OR_RETURN(std::vector<AnnotationSetRecord> sets,
                   ctx.annotations->ListAnnotationSets(dataset_id));
  nlohmann::json list = nlohmann::json::array();
  for (const AnnotationSetRecord& s : sets) {
    if (CheckVisible(req.principal, s.owner_id, "annotation set", s.id).ok()) {
      list.push_back(AnnotationSetJson(s));
    }
  }
  return JsonResponse(200, JsonText(nlohmann::json{{"annotation_sets", std::move(list)}}));
}

StatusOr<HttpResponse> GetSet(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("set"), "annotation set"));
  ASSIGN_OR_RETURN(AnnotationSetRecord set, VisibleAnnotationSet(ctx, req, id));
  ASSIGN_OR_RETURN(std::vector<MaskRevisionRecord> masks, ctx.annotations->ListCurrentMasks(id));
  nlohmann::json j = AnnotationSetJson(set);
  j["masks"] = nlohmann::json::array();
  for (const MaskRevisionRecord& m : masks) j["masks"].push_back(MaskRevisionJson(m));
  if (set.kind == AnnotationKind::kImageLabels) {
    RETURN_IF_ERROR(AddImageLabelsToSetJson(ctx, set, &j));
  }
  return JsonResponse(200, JsonText(j));
}

StatusOr<HttpResponse> DeleteSet(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("set"), "annotation set"));
  RETURN_IF_ERROR(VisibleAnnotationSet(ctx, req, id).status());
  ASSIGN_OR_RETURN(std::vector<std::string> unreferenced, ctx.annotations->DeleteAnnotationSet(id));
  const size_t removed = SweepAfterDelete(ctx, unreferenced);
  return JsonResponse(200, JsonText(nlohmann::json{{"deleted", id}, {"blobs_removed", removed}}));
}

StatusOr<HttpResponse> GetMask(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("set"), "annotation set"));
  ASSIGN_OR_RETURN(int64_t file_id, ParseId(req.params.at("file"), "file"));
  ASSIGN_OR_RETURN(AnnotationSetRecord set, VisibleAnnotationSet(ctx, req, id));
  RETURN_IF_ERROR(CheckMaskSet(set));
  ASSIGN_OR_RETURN(FileRecord image, ImageOfSet(ctx, set, file_id));
  MaskRevisionRecord mask;
  std::string value;
  if (req.query_param("revision", &value)) {
    ASSIGN_OR_RETURN(int64_t wanted, ParseId(value, "revision"));
    ASSIGN_OR_RETURN(std::vector<MaskRevisionRecord> all,
                     ctx.annotations->ListMaskRevisions(id, image.id));
    bool found = false;
    for (const MaskRevisionRecord& r : all) {
      if (r.revision == wanted) {
        mask = r;
        found = true;
      }
    }
    if (!found) {
      return absl::NotFoundError(
          StrCat("file ", image.id, " has no revision ", wanted, " in annotation set ", id));
    }
  } else {
    ASSIGN_OR_RETURN(mask, ctx.annotations->GetCurrentMask(id, image.id));
  }
  ASSIGN_OR_RETURN(std::string bytes, ctx.blobs->Get(mask.sha256));
  HttpResponse response;
  response.content_type = "image/png";
  response.headers["cache-control"] = "private, no-cache";
  response.headers["etag"] = StrCat("\"", mask.sha256, "\"");
  response.headers["x-mask-revision"] = std::to_string(mask.revision);
  response.body = std::move(bytes);
  return response;
}

// The classes the mask PUT's X-Infera-Classes header gives ({"<instance id>": class id}),
// nullopt when the header is absent. InvalidArgument when it is not such JSON, when the
// set is not an instance set, when an instance is not in `labels` or a class not in the
// set's label map (any id 1..65535 when the map is empty).
StatusOr<std::optional<std::map<int, int>>> ClassesHeader(const AnnotationSetRecord& set,
                                                          const HttpRequest& req,
                                                          const Image& labels) {
  const std::string_view text = req.header(kClassesHeader);
  if (text.empty()) return std::nullopt;
  if (set.kind != AnnotationKind::kInstances) {
    return absl::InvalidArgumentError(StrCat(kClassesHeader,
                                             " applies to instance sets; annotation set ", set.id,
                                             " is semantic (its mask values are the classes)"));
  }
  const nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
  if (parsed.is_discarded()) {
    return absl::InvalidArgumentError(StrCat(kClassesHeader,
                                             " is not JSON; expected {\"<instance id>\": "
                                             "<class id>, ...}"));
  }
  StatusOr<std::map<int, int>> classes = ParseClassesJson(parsed);
  if (!classes.ok()) {
    return absl::InvalidArgumentError(StrCat(kClassesHeader, ": ", classes.status().message()));
  }
  ASSIGN_OR_RETURN(LabelMap label_map, SetLabels(set));
  const std::vector<int> present = LabelsPresent(labels);
  for (const auto& [instance, label] : *classes) {
    if (!std::binary_search(present.begin(), present.end(), instance)) {
      return absl::InvalidArgumentError(
          StrCat(kClassesHeader, ": instance ", instance, " is not in the mask"));
    }
    if (!label_map.empty() && FindLabel(label_map, label) == nullptr) {
      return absl::InvalidArgumentError(StrCat(kClassesHeader, ": class ", label, " of instance ",
                                               instance, " is not in the set's label map"));
    }
  }
  return std::optional<std::map<int, int>>(std::move(*classes));
}

StatusOr<HttpResponse> PutMask(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("set"), "annotation set"));
  ASSIGN_OR_RETURN(int64_t file_id, ParseId(req.params.at("file"), "file"));
  ASSIGN_OR_RETURN(AnnotationSetRecord set, VisibleAnnotationSet(ctx, req, id));
  RETURN_IF_ERROR(CheckMaskSet(set));
  ASSIGN_OR_RETURN(FileRecord image, ImageOfSet(ctx, set, file_id));
  if (req.body.empty()) {
    return absl::InvalidArgumentError("empty body; expected a label PNG (one channel, 8/16-bit)");
  }
  DecodeLimits limits;
  limits.max_pixels = ctx.max_image_pixels;
  ASSIGN_OR_RETURN(Image labels, DecodeLabelImage(Bytes(req.body), limits));
  std::optional<std::map<int, int>> given;
  ASSIGN_OR_RETURN(given, ClassesHeader(set, req, labels));
  AnnotationMask mask{std::move(labels), {}};
  if (set.kind == AnnotationKind::kInstances) {
    // The instances still present keep the classes the previous revision gave them,
    // unless the request gives them one.
    StatusOr<MaskRevisionRecord> previous = ctx.annotations->GetCurrentMask(id, image.id);
    if (previous.ok()) {
      ASSIGN_OR_RETURN(mask.classes, ParseClassesJson(nlohmann::json::parse(previous->classes_json,
                                                                            nullptr, false)));
    }
    if (given) {
      for (const auto& [instance, label] : *given) mask.classes[instance] = label;
    }
  }
  ASSIGN_OR_RETURN(MaskRevisionRecord written,
                   WriteMaskRevision(ctx, set, image, std::move(mask), CallerId(req), "edit",
                                     DetectImageFormat(Bytes(req.body)) == ImageFormat::kPng
                                         ? std::optional<std::string_view>(req.body)
                                         : std::nullopt));
  return JsonResponse(201, JsonText(MaskRevisionJson(written)));
}

StatusOr<HttpResponse> ListRevisions(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("set"), "annotation set"));
  ASSIGN_OR_RETURN(int64_t file_id, ParseId(req.params.at("file"), "file"));
  ASSIGN_OR_RETURN(AnnotationSetRecord set, VisibleAnnotationSet(ctx, req, id));
  ASSIGN_OR_RETURN(FileRecord image, ImageOfSet(ctx, set, file_id));
  nlohmann::json list = nlohmann::json::array();
  if (set.kind == AnnotationKind::kImageLabels) {
    ASSIGN_OR_RETURN(LabelMap labels, SetLabels(set));
    ASSIGN_OR_RETURN(std::vector<ImageLabelRecord> all,
                     ctx.annotations->ListImageLabelRevisions(id, image.id));
    for (const ImageLabelRecord& r : all) list.push_back(ImageLabelJson(r, labels));
    return JsonResponse(
        200, JsonText(nlohmann::json{{"file_id", image.id}, {"revisions", std::move(list)}}));
  }
  ASSIGN_OR_RETURN(std::vector<MaskRevisionRecord> all,
                   ctx.annotations->ListMaskRevisions(id, image.id));
  for (const MaskRevisionRecord& r : all) list.push_back(MaskRevisionJson(r));
  return JsonResponse(
      200, JsonText(nlohmann::json{{"file_id", image.id}, {"revisions", std::move(list)}}));
}

// POST /api/inferences/{id}/annotations: the job's masks as a new set. The masks' blobs
// are the job's own (a revision references them as the result file does).
StatusOr<HttpResponse> SetFromJob(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t job_id, ParseId(req.params.at("id"), "inference"));
  ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(req));
  std::string name;
  std::optional<AnnotationKind> kind;
  for (const auto& [key, value] : body.items()) {
    if (key == "name") {
      if (!value.is_string()) return absl::InvalidArgumentError("'name' must be a string");
      name = CleanDisplayText(value.get<std::string>());
    } else if (key == "kind") {
      if (!value.is_string()) return absl::InvalidArgumentError("'kind' must be a string");
      ASSIGN_OR_RETURN(kind, ParseAnnotationKind(value.get<std::string>()));
    } else {
      return absl::InvalidArgumentError(
          StrCat("unknown field '", key.substr(0, 64), "' (expected name, kind)"));
    }
  }
  if (name.size() > 200) return absl::InvalidArgumentError("'name' is longer than 200 bytes");
  std::vector<JobResultRecord> results;
  ASSIGN_OR_RETURN(nlohmann::json job, ctx.jobs->Report(req.principal, job_id, &results));
  const std::string status = job.value("status", "");
  if (status == "queued" || status == "running") {
    return absl::FailedPreconditionError(
        StrCat("inference ", job_id, " is ", status, "; its masks become a set once it ends"));
  }
  // A classifier's results: each image's top-1 class as its label.
  if (kind == AnnotationKind::kImageLabels || (!kind && IsClassificationJob(job, results))) {
    return ImageLabelsSetFromJob(ctx, req, job_id, name, job, results);
  }
  if (!kind) {
    kind = AnnotationKind::kSemantic;
    for (const JobResultRecord& r : results) {
      if (r.File("instance_mask") != nullptr) kind = AnnotationKind::kInstances;
    }
  }
  const std::string_view mask_kind =
      *kind == AnnotationKind::kInstances ? "instance_mask" : "class_mask";
  std::vector<std::string> class_names;
  if (ctx.models != nullptr) {
    if (std::shared_ptr<Model> model = ctx.models->Get(job.value("model_id", ""))) {
      class_names = model->description().labels;
    }
  }
  const int64_t dataset_id = job.value("dataset_id", int64_t{0});
  nlohmann::json verdicts = nlohmann::json::array();
  std::vector<MaskRevisionRecord> masks;
  std::vector<BlobPin> pins;
  std::vector<PinnedBlob> remapped;  // binary masks rewritten with class 1
  bool binary_seen = false;
  std::set<int> classes_seen;
  DecodeLimits limits;
  limits.max_pixels = ctx.max_image_pixels;
  for (const JobResultRecord& r : results) {
    nlohmann::json verdict = {{"file_id", r.source_file_id},
                              {"filename", ToValidUtf8(r.source_filename)}};
    auto skip = [&](std::string_view reason) {
      verdict["status"] = "skipped";
      verdict["reason"] = reason;
      verdicts.push_back(verdict);
    };
    const FileRecord* file = r.File(mask_kind);
    if (!r.error.empty()) {
      skip("the image failed in the job");
      continue;
    }
    if (file == nullptr) {
      skip(StrCat("the result has no ", mask_kind));
      continue;
    }
    StatusOr<FileRecord> source = ctx.store->GetFile(r.source_file_id);
    if (!source.ok()) {
      skip("the image is gone");
      continue;
    }
    if (file->content_type != "image/png" || file->channels != 1 ||
        (file->bit_depth != 8 && file->bit_depth != 16)) {
      skip(StrCat("the ", mask_kind, " is not a one-channel 8/16-bit PNG"));
      continue;
    }
    if (file->width != source->width || file->height != source->height) {
      skip(StrCat("the ", mask_kind, " is ", file->width, "x", file->height, ", the image ",
                  source->width, "x", source->height));
      continue;
    }
    ASSIGN_OR_RETURN(int64_t pin, ctx.store->PinBlob(file->sha256, file->size, kBlobPinMs));
    pins.emplace_back(ctx.store, pin);
    std::string sha256 = file->sha256;
    int64_t size = file->size;
    if (*kind == AnnotationKind::kSemantic) {
      ASSIGN_OR_RETURN(std::string bytes, ctx.blobs->Get(file->sha256));
      ASSIGN_OR_RETURN(Image labels, DecodeLabelImage(Bytes(bytes), limits));
      if (IsBinaryForegroundMask(labels, class_names.size())) {
        // A binary segmenter's 0/255 mask: its foreground is class 1 (a mask of its own).
        MapBinaryForeground(&labels);
        ASSIGN_OR_RETURN(std::vector<std::byte> png, EncodeLabelPng(labels));
        ASSIGN_OR_RETURN(PinnedBlob blob, PutPinned(*ctx.store, *ctx.blobs, png));
        sha256 = blob.info.sha256;
        size = blob.info.size;
        remapped.push_back(std::move(blob));
        binary_seen = true;
      }
      for (int v : LabelsPresent(labels)) classes_seen.insert(v);
    }
    MaskRevisionRecord m;
    m.source_file_id = r.source_file_id;
    m.sha256 = sha256;
    m.size = size;
    m.width = file->width;
    m.height = file->height;
    m.bit_depth = file->bit_depth;
    m.author_id = CallerId(req);
    m.origin = StrCat("job:", job_id);
    masks.push_back(std::move(m));
    verdict["status"] = "added";
    verdicts.push_back(verdict);
  }
  LabelMap labels;
  auto class_name = [&](int k) {
    return k == 1 && binary_seen ? ModelForegroundName(class_names, "foreground")
                                 : ModelClassName(class_names, k);
  };
  if (*kind == AnnotationKind::kInstances) {
    labels.push_back({1, ModelForegroundName(class_names, "object"), VocColour(1)});
  } else {
    // Every class the model has (0 is background), and any the masks hold beyond them.
    for (int k = 1; k < static_cast<int>(class_names.size()); ++k) classes_seen.insert(k);
    std::set<std::string> names;
    for (int k : classes_seen) {
      std::string n = class_name(k);
      if (!names.insert(n).second) n = StrCat(n, " (", k, ")");
      labels.push_back({k, n, VocColour(k)});
    }
  }
  AnnotationSetRecord set;
  set.dataset_id = dataset_id;
  set.owner_id = CallerId(req);
  set.name = name.empty() ? StrCat("inference ", job_id) : name;
  set.kind = *kind;
  set.labels_json = LabelMapJson(labels).dump();
  ASSIGN_OR_RETURN(AnnotationSetRecord created, ctx.annotations->CreateAnnotationSet(set, masks));
  nlohmann::json j = {{"annotation_set", AnnotationSetJson(created)}, {"images", verdicts}};
  return JsonResponse(201, JsonText(j));
}

// Without an annotation store every route answers 501.
Handler Annotations(const ApiContext& ctx, BlockingFn fn) {
  if (ctx.annotations == nullptr) {
    return Guarded(ctx, Access::kUser, [](HttpRequest&&, Responder respond) {
      respond(ErrorResponse(501, "this server's storage driver has no annotation sets yet"));
    });
  }
  return Guarded(ctx, Access::kUser, Blocking(ctx, std::move(fn)));
}

}  // namespace

// api_annotation_formats.cc
void AddApiAnnotationFormatRoutes(Router& router, const ApiContext& ctx);
// api_annotation_assist.cc
StatusOr<HttpResponse> AssistRoute(const ApiContext& ctx, const HttpRequest& req);

void AddApiAnnotationRoutes(Router& router, const ApiContext& ctx) {
  RouteOptions mask_upload;
  mask_upload.max_body_bytes = static_cast<uint64_t>(ctx.uploads.max_file_bytes);
  router.Add("POST", "/api/datasets/{id}/annotations", Annotations(ctx, CreateSet));
  router.Add("GET", "/api/datasets/{id}/annotations", Annotations(ctx, ListSets));
  router.Add("GET", "/api/annotations/{set}", Annotations(ctx, GetSet));
  router.Add("DELETE", "/api/annotations/{set}", Annotations(ctx, DeleteSet));
  router.Add("GET", "/api/annotations/{set}/images/{file}/mask", Annotations(ctx, GetMask));
  router.Add("PUT", "/api/annotations/{set}/images/{file}/mask", Annotations(ctx, PutMask),
             mask_upload);
  router.Add("GET", "/api/annotations/{set}/images/{file}/revisions",
             Annotations(ctx, ListRevisions));
  router.Add("POST", "/api/inferences/{id}/annotations", Annotations(ctx, SetFromJob));
  router.Add("POST", "/api/annotations/{set}/images/{file}/assist", Annotations(ctx, AssistRoute));
  AddApiAnnotationFormatRoutes(router, ctx);
  AddApiImageLabelRoutes(router, ctx);
}

}  // namespace infera
