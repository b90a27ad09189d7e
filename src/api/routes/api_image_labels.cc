// Annotation sets of kind image_labels: the label routes and what the other annotation
// routes do for such sets (see image_labels.h). Everything runs on the blocking pool.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "annotations/import_types.h"
#include "annotations/labels_csv.h"
#include "api/routes/annotation_common.h"
#include "api/routes/api_common.h"
#include "api/routes/image_labels.h"
#include "common/json_text.h"
#include "common/strings.h"
#include "common/utf8.h"
#include "jobs/inference_jobs.h"
#include "models/model.h"

namespace infera {

namespace {

namespace fs = std::filesystem;

// "1 cat, 2 dog" (the first few), for error messages.
std::string LabelList(const LabelMap& labels) {
  std::vector<std::string> names;
  for (const AnnotationLabel& l : labels) {
    if (names.size() == 12) {
      names.push_back("...");
      break;
    }
    names.push_back(StrCat(l.id, " ", l.name));
  }
  return names.empty() ? std::string("none") : StrJoin(names, ", ");
}

StatusOr<HttpResponse> GetLabel(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("set"), "annotation set"));
  ASSIGN_OR_RETURN(int64_t file_id, ParseId(req.params.at("file"), "file"));
  ASSIGN_OR_RETURN(AnnotationSetRecord set, VisibleAnnotationSet(ctx, req, id));
  RETURN_IF_ERROR(CheckLabelSet(set));
  ASSIGN_OR_RETURN(FileRecord image, ImageOfSet(ctx, set, file_id));
  ASSIGN_OR_RETURN(LabelMap labels, SetLabels(set));
  ASSIGN_OR_RETURN(std::vector<ImageLabelRecord> all,
                   ctx.annotations->ListImageLabelRevisions(id, image.id));
  if (all.empty()) {
    return JsonResponse(200, JsonText(nlohmann::json{{"set_id", set.id},
                                                     {"file_id", image.id},
                                                     {"label", nullptr},
                                                     {"label_name", nullptr},
                                                     {"revision", 0}}));
  }
  return JsonResponse(200, JsonText(ImageLabelJson(all.back(), labels)));
}

StatusOr<HttpResponse> PutLabel(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(req.params.at("set"), "annotation set"));
  ASSIGN_OR_RETURN(int64_t file_id, ParseId(req.params.at("file"), "file"));
  ASSIGN_OR_RETURN(nlohmann::json body, JsonBody(req));
  ASSIGN_OR_RETURN(AnnotationSetRecord set, VisibleAnnotationSet(ctx, req, id));
  RETURN_IF_ERROR(CheckLabelSet(set));
  ASSIGN_OR_RETURN(FileRecord image, ImageOfSet(ctx, set, file_id));
  ASSIGN_OR_RETURN(LabelMap labels, SetLabels(set));
  for (const auto& [key, value] : body.items()) {
    if (key != "label") {
      return absl::InvalidArgumentError(
          StrCat("unknown field '", key.substr(0, 64), "' (expected label)"));
    }
  }
  if (!body.contains("label")) {
    return absl::InvalidArgumentError(
        "'label' is required: a label id of the set, or null to clear the label");
  }
  const nlohmann::json& value = body["label"];
  int label_id = 0;
  if (!value.is_null()) {
    if (!value.is_number_integer()) {
      return absl::InvalidArgumentError(StrCat(
          "'label' must be a label id (an integer) or null, not ", value.dump().substr(0, 60)));
    }
    const int64_t wanted = value.get<int64_t>();
    const AnnotationLabel* label = wanted >= 1 && wanted <= kMaxLabelId
                                       ? FindLabel(labels, static_cast<int>(wanted))
                                       : nullptr;
    if (label == nullptr) {
      return absl::InvalidArgumentError(
          StrCat("label ", wanted,
                 " is not in the set's label map (its labels: ", LabelList(labels), ")"));
    }
    label_id = label->id;
  }
  ImageLabelRecord record;
  record.source_file_id = image.id;
  record.label_id = label_id;
  record.author_id = CallerId(req);
  record.origin = "edit";
  ASSIGN_OR_RETURN(std::vector<ImageLabelRecord> written,
                   ctx.annotations->AddImageLabels(set.id, {record}));
  return JsonResponse(201, JsonText(ImageLabelJson(written.at(0), labels)));
}

Handler LabelRoute(const ApiContext& ctx, BlockingFn fn) {
  if (ctx.annotations == nullptr) {
    return Guarded(ctx, Access::kUser, [](HttpRequest&&, Responder respond) {
      respond(ErrorResponse(501, "this server's storage driver has no annotation sets yet"));
    });
  }
  return Guarded(ctx, Access::kUser, Blocking(ctx, std::move(fn)));
}

StatusOr<std::string> ReadPart(const MultipartPart& part, uint64_t max_bytes) {
  std::error_code ec;
  const uint64_t size = fs::file_size(part.file, ec);
  if (ec) return absl::InternalError("cannot read an uploaded file");
  if (size > max_bytes) {
    return absl::InvalidArgumentError(StrCat("the file is larger than ", max_bytes, " bytes"));
  }
  std::string bytes(size, '\0');
  std::ifstream in(part.file, std::ios::binary);
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (!in) return absl::InternalError("cannot read an uploaded file");
  return bytes;
}

// The top-1 prediction of a classify result summary: {class_id, label}, or null.
const nlohmann::json* TopPrediction(const nlohmann::json& summary) {
  if (!summary.is_object() || !summary.contains("predictions")) return nullptr;
  const nlohmann::json& p = summary["predictions"];
  if (!p.is_array() || p.empty() || !p[0].is_object()) return nullptr;
  if (!p[0].contains("class_id") || !p[0]["class_id"].is_number_unsigned()) return nullptr;
  return &p[0];
}

// The labels_csv download (text/csv, as `filename`): the header "file,label" and a line
// per label of `current` (in its order) that `labels` has, the image named as dataset
// `dataset_id` names it.
StatusOr<HttpResponse> LabelsCsvDownload(const ApiContext& ctx, int64_t dataset_id,
                                         const LabelMap& labels,
                                         const std::vector<ImageLabelRecord>& current,
                                         const std::string& filename) {
  ASSIGN_OR_RETURN(std::vector<FileRecord> files, ctx.store->ListDatasetFiles(dataset_id));
  std::map<int64_t, std::string> names;
  for (const FileRecord& f : files) names[f.id] = f.filename;
  std::string body = "file,label\n";
  for (const ImageLabelRecord& l : current) {
    const AnnotationLabel* label = FindLabel(labels, l.label_id);
    if (label == nullptr) continue;  // a label the map no longer has
    body += LabelsCsvLine(ToValidUtf8(names[l.source_file_id]), label->name);
  }
  HttpResponse response;
  response.status = 200;
  response.content_type = "text/csv; charset=utf-8";
  response.headers["content-disposition"] = StrCat("attachment; filename=\"", filename, "\"");
  response.body = std::move(body);
  return response;
}

}  // namespace

Status CheckMaskSet(const AnnotationSetRecord& set) {
  if (set.kind != AnnotationKind::kImageLabels) return absl::OkStatus();
  return absl::InvalidArgumentError(
      StrCat("annotation set ", set.id,
             " is of kind image_labels: it holds one label per image, not masks (use "
             "/api/annotations/",
             set.id, "/images/{file}/label)"));
}

Status CheckLabelSet(const AnnotationSetRecord& set) {
  if (set.kind == AnnotationKind::kImageLabels) return absl::OkStatus();
  return absl::InvalidArgumentError(StrCat(
      "annotation set ", set.id, " is of kind ", AnnotationKindName(set.kind),
      ": it holds masks, not image labels (use /api/annotations/", set.id, "/images/{file}/mask)"));
}

nlohmann::json ImageLabelJson(const ImageLabelRecord& l, const LabelMap& labels) {
  const AnnotationLabel* label = l.label_id != 0 ? FindLabel(labels, l.label_id) : nullptr;
  return {{"id", l.id},
          {"set_id", l.set_id},
          {"file_id", l.source_file_id},
          {"revision", l.revision},
          {"label", l.label_id != 0 ? nlohmann::json(l.label_id) : nlohmann::json(nullptr)},
          {"label_name", label != nullptr ? nlohmann::json(label->name) : nlohmann::json(nullptr)},
          {"author_id", l.author_id},
          {"origin", l.origin},
          {"created_at", l.created_at}};
}

Status AddImageLabelsToSetJson(const ApiContext& ctx, const AnnotationSetRecord& set,
                               nlohmann::json* out) {
  ASSIGN_OR_RETURN(LabelMap labels, SetLabels(set));
  ASSIGN_OR_RETURN(std::vector<ImageLabelRecord> current,
                   ctx.annotations->ListCurrentImageLabels(set.id));
  ASSIGN_OR_RETURN(std::vector<FileRecord> files, ctx.store->ListDatasetFiles(set.dataset_id));
  std::map<int64_t, const FileRecord*> by_id;
  for (const FileRecord& f : files) by_id[f.id] = &f;
  nlohmann::json list = nlohmann::json::array();
  nlohmann::json counts = nlohmann::json::object();
  for (const AnnotationLabel& l : labels) counts[l.name] = 0;
  for (const ImageLabelRecord& l : current) {
    nlohmann::json j = ImageLabelJson(l, labels);
    auto it = by_id.find(l.source_file_id);
    j["filename"] = it != by_id.end() ? ToValidUtf8(it->second->filename) : "";
    if (j["label_name"].is_string()) {
      counts[j["label_name"].get<std::string>()] =
          counts.value(j["label_name"].get<std::string>(), 0) + 1;
    }
    list.push_back(std::move(j));
  }
  (*out)["image_labels"] = std::move(list);
  (*out)["label_counts"] = std::move(counts);
  (*out)["unlabelled"] = static_cast<int64_t>(files.size()) - static_cast<int64_t>(current.size());
  return absl::OkStatus();
}

StatusOr<HttpResponse> ImportLabelsCsv(const ApiContext& ctx, const HttpRequest& req,
                                       const AnnotationSetRecord& set,
                                       const std::vector<MultipartPart>& parts) {
  for (const MultipartPart& part : parts) {
    if (!part.is_file && part.name == "format" && !part.value.empty() &&
        part.value != "labels_csv") {
      return absl::InvalidArgumentError(StrCat("annotation set ", set.id,
                                               " is of kind image_labels: its import format is "
                                               "labels_csv (file,label lines), not '",
                                               CleanDisplayText(part.value).substr(0, 40), "'"));
    }
  }
  ASSIGN_OR_RETURN(LabelMap labels, SetLabels(set));
  ASSIGN_OR_RETURN(std::vector<FileRecord> files, ctx.store->ListDatasetFiles(set.dataset_id));
  std::vector<TargetImage> targets;
  std::map<int64_t, std::string> names;
  for (const FileRecord& f : files) {
    targets.push_back({f.id, f.filename, f.width, f.height});
    names[f.id] = f.filename;
  }
  const ImageMatcher matcher(std::move(targets));
  LabelsCsvResolver resolver(
      [&matcher](std::string_view file) -> StatusOr<LabelsCsvImage> {
        const TargetImage* image = matcher.Find(file);
        if (image == nullptr) {
          return absl::NotFoundError(
              StrCat("no image '", CleanDisplayText(file).substr(0, 200), "' in the dataset"));
        }
        return LabelsCsvImage{image->file_id, ToValidUtf8(image->filename)};
      },
      [&labels](std::string_view name) -> StatusOr<int64_t> {
        const AnnotationLabel* label = FindLabelByName(labels, name);
        if (label == nullptr) {
          return absl::NotFoundError(
              StrCat("label '", CleanDisplayText(name).substr(0, 200),
                     "' is not in the set's label map (its labels: ", LabelList(labels), ")"));
        }
        return label->id;
      });
  const uint64_t max_bytes = static_cast<uint64_t>(ctx.uploads.max_file_bytes);
  bool any_file = false;
  for (const MultipartPart& part : parts) {
    if (!part.is_file) continue;
    const std::string source = CleanDisplayText(part.filename);
    if (part.name != "file" && part.name != "files") {
      resolver.RefuseFile(source, StrCat("unexpected form field '", CleanDisplayText(part.name),
                                         "' (files go in the field 'file')"));
      continue;
    }
    any_file = true;
    StatusOr<std::string> bytes = ReadPart(part, max_bytes);
    if (!bytes.ok()) {
      if (!absl::IsInvalidArgument(bytes.status())) return bytes.status();
      resolver.RefuseFile(source, ToStd(bytes.status().message()));
      continue;
    }
    resolver.Add(source, *bytes);
  }
  nlohmann::json refused = nlohmann::json::array();
  for (const LabelsCsvRejection& r : resolver.refused()) {
    refused.push_back({{"source", r.source}, {"reason", r.reason}});
  }
  std::vector<ImageLabelRecord> records;
  std::vector<std::string> sources;
  for (const LabelsCsvAssignment& a : resolver.assigned()) {
    ImageLabelRecord r;
    r.source_file_id = a.image;
    r.label_id = static_cast<int>(a.label);
    r.author_id = CallerId(req);
    r.origin = "import";
    records.push_back(r);
    sources.push_back(a.source);
  }
  if (!any_file) return absl::InvalidArgumentError("the upload holds no file (field 'file')");
  nlohmann::json imported = nlohmann::json::array();
  if (!records.empty()) {
    ASSIGN_OR_RETURN(std::vector<ImageLabelRecord> written,
                     ctx.annotations->AddImageLabels(set.id, records));
    for (size_t i = 0; i < written.size(); ++i) {
      const AnnotationLabel* label = FindLabel(labels, written[i].label_id);
      imported.push_back({{"source", sources[i]},
                          {"file_id", written[i].source_file_id},
                          {"filename", ToValidUtf8(names[written[i].source_file_id])},
                          {"label", written[i].label_id},
                          {"label_name", label != nullptr ? label->name : ""},
                          {"revision", written[i].revision}});
    }
  }
  nlohmann::json j = {{"set_id", set.id},
                      {"imported", std::move(imported)},
                      {"refused", std::move(refused)},
                      {"notes", nlohmann::json::array()}};
  if (j["imported"].empty()) {
    j["error"] = "nothing was imported";
    return JsonResponse(400, JsonText(j));
  }
  return JsonResponse(200, JsonText(j));
}

StatusOr<HttpResponse> ExportLabelsCsv(const ApiContext& ctx, const AnnotationSetRecord& set) {
  ASSIGN_OR_RETURN(LabelMap labels, SetLabels(set));
  ASSIGN_OR_RETURN(std::vector<ImageLabelRecord> current,
                   ctx.annotations->ListCurrentImageLabels(set.id));
  return LabelsCsvDownload(ctx, set.dataset_id, labels, current,
                           StrCat("annotation_set_", set.id, "_labels.csv"));
}

bool IsClassificationJob(const nlohmann::json& job, const std::vector<JobResultRecord>& results) {
  if (job.value("runner_name", "") == "classify") return true;
  for (const JobResultRecord& r : results) {
    if (r.File("class_mask") != nullptr || r.File("instance_mask") != nullptr) return false;
  }
  for (const JobResultRecord& r : results) {
    if (TopPrediction(nlohmann::json::parse(r.summary_json, nullptr, false)) != nullptr) {
      return true;
    }
  }
  return false;
}

StatusOr<JobImageLabels> ImageLabelsOfJob(const ApiContext& ctx, const HttpRequest& req,
                                          int64_t job_id, const nlohmann::json& job,
                                          const std::vector<JobResultRecord>& results) {
  std::vector<std::string> class_names;
  if (ctx.models != nullptr) {
    if (std::shared_ptr<Model> model = ctx.models->Get(job.value("model_id", ""))) {
      class_names = model->description().labels;
    }
  }
  JobImageLabels out;
  nlohmann::json& verdicts = out.verdicts;
  std::vector<ImageLabelRecord>& records = out.records;
  std::map<int, std::string> classes;  // class index -> name, those the model names and seen
  for (size_t k = 0; k < class_names.size() && k < static_cast<size_t>(kMaxLabelId); ++k) {
    classes[static_cast<int>(k)] = class_names[k];
  }
  for (const JobResultRecord& r : results) {
    nlohmann::json verdict = {{"file_id", r.source_file_id},
                              {"filename", ToValidUtf8(r.source_filename)}};
    auto skip = [&](std::string_view reason) {
      verdict["status"] = "skipped";
      verdict["reason"] = reason;
      verdicts.push_back(verdict);
    };
    if (!r.error.empty()) {
      skip("the image failed in the job");
      continue;
    }
    const nlohmann::json summary = nlohmann::json::parse(r.summary_json, nullptr, false);
    const nlohmann::json* top = TopPrediction(summary);
    if (top == nullptr) {
      skip("the result has no class prediction");
      continue;
    }
    const uint64_t class_id = (*top)["class_id"].get<uint64_t>();
    if (class_id >= static_cast<uint64_t>(kMaxLabelId)) {
      skip(StrCat("class ", class_id, " is beyond the largest label id"));
      continue;
    }
    if (!ctx.store->GetFile(r.source_file_id).ok()) {
      skip("the image is gone");
      continue;
    }
    const int k = static_cast<int>(class_id);
    if (!classes.count(k)) {
      classes[k] = (*top).contains("label") && (*top)["label"].is_string()
                       ? (*top)["label"].get<std::string>()
                       : "";
    }
    ImageLabelRecord l;
    l.source_file_id = r.source_file_id;
    l.label_id = k + 1;
    l.author_id = CallerId(req);
    l.origin = StrCat("job:", job_id);
    records.push_back(l);
    verdict["status"] = "added";
    verdict["label"] = k + 1;
    verdicts.push_back(verdict);
  }
  LabelMap& labels = out.labels;
  std::set<std::string> used;
  for (const auto& [k, raw] : classes) {
    std::string n = CleanDisplayText(raw);
    if (n.size() > 200) n.resize(200);
    if (n.empty() || !used.insert(n).second) n = StrCat("class ", k);
    used.insert(n);
    labels.push_back({k + 1, n, VocColour(k + 1)});
  }
  // Names must be unique and valid: checked as any label map is.
  ASSIGN_OR_RETURN(labels, ParseLabelMap(LabelMapJson(labels)));
  return out;
}

StatusOr<HttpResponse> ImageLabelsSetFromJob(const ApiContext& ctx, const HttpRequest& req,
                                             int64_t job_id, const std::string& name,
                                             const nlohmann::json& job,
                                             const std::vector<JobResultRecord>& results) {
  ASSIGN_OR_RETURN(JobImageLabels made, ImageLabelsOfJob(ctx, req, job_id, job, results));
  AnnotationSetRecord set;
  set.dataset_id = job.value("dataset_id", int64_t{0});
  set.owner_id = CallerId(req);
  set.name = name.empty() ? StrCat("inference ", job_id) : name;
  set.kind = AnnotationKind::kImageLabels;
  set.labels_json = LabelMapJson(made.labels).dump();
  ASSIGN_OR_RETURN(AnnotationSetRecord created,
                   ctx.annotations->CreateAnnotationSet(set, {}, made.records));
  nlohmann::json j = {{"annotation_set", AnnotationSetJson(created)},
                      {"images", std::move(made.verdicts)}};
  return JsonResponse(201, JsonText(j));
}

StatusOr<HttpResponse> ExportJobLabelsCsv(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(int64_t job_id, ParseId(req.params.at("id"), "inference"));
  std::vector<JobResultRecord> results;
  ASSIGN_OR_RETURN(nlohmann::json job, ctx.jobs->Report(req.principal, job_id, &results));
  if (!IsClassificationJob(job, results)) {
    return absl::InvalidArgumentError(
        StrCat("inference ", job_id,
               " is not a classification job: format labels_csv is a classifier's top-1 "
               "classes (its masks export as label_images, coco, cvat_xml or cvat_seg_zip)"));
  }
  ASSIGN_OR_RETURN(JobImageLabels made, ImageLabelsOfJob(ctx, req, job_id, job, results));
  // As the set's export lists them: by image.
  std::sort(made.records.begin(), made.records.end(),
            [](const ImageLabelRecord& a, const ImageLabelRecord& b) {
              return a.source_file_id < b.source_file_id;
            });
  return LabelsCsvDownload(ctx, job.value("dataset_id", int64_t{0}), made.labels, made.records,
                           StrCat("inference_", job_id, "_labels.csv"));
}

void AddApiImageLabelRoutes(Router& router, const ApiContext& ctx) {
  router.Add("GET", "/api/annotations/{set}/images/{file}/label", LabelRoute(ctx, GetLabel));
  router.Add("PUT", "/api/annotations/{set}/images/{file}/label", LabelRoute(ctx, PutLabel));
}

}  // namespace infera
