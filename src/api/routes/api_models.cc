// GET /api/models: the models the workflow can use, as the seed's AVAILABLE_MODELS
// lists them: {id, name, runner_name, description, versions, ready, params_schema}, plus
// the backend (engine), `version` (the version served) and the params schema's defaults
// as the model's config sets them. One entry per model name; `versions` is the lineage:
// every version folder, ascending, as {version, active, parent, training} — `active`
// the version served now, `parent` the version it was trained from (null for uploaded
// versions), `training` a summary of VERSION/training.json {created_at, annotation_sets,
// best_score, parent_score, held_back} (null for uploaded versions).
// GET /api/models/{id}: one entry as the list shows it; 404 for an unknown model.
//
// POST /api/models/{id}/versions/{v}/activate (admin): serves version v of a repository
// model (roll back or forward) live, kept across restarts (ModelManager::ActivateVersion)
// -> 200 with the model's entry. 400 for a version that is not a positive integer (or
// one that does not load: nothing changes then); 404 for an unknown model or version;
// 409 for a model of the config's list or a server without a repository.
//
// POST /api/models/upload (multipart/form-data) adds a model, or a new version of one,
// to the repository and loads it (ModelManager::Install):
//   name          the model name (required)
//   runner_name   a registered runner (required; an unknown one is refused with the list)
//   description   optional
//   model         the model file: TorchScript .pt, or .onnx with `backend` = onnx
//                 (required; also accepted as `file`)
//   model_yaml    a model.yaml (file or text; optional)
//   labels        a labels file, one label a line (file or text; optional)
//   version       the version folder to create (optional; default highest + 1)
//   <key.path>    any model.yaml key as a dotted field, the value read as YAML
//                 (e.g. input.size = [512, 512], input.color = gray, warmup = false)
// -> 201 with the model's entry as GET /api/models lists it. 400 for a bad upload or a
// model that does not load (nothing is changed then); 409 for an existing version or
// a server without a repository.
#include <map>
#include <optional>
#include <set>

#include "api/http_status.h"
#include "api/routes/api_common.h"
#include "api/routes/routes.h"
#include "common/file_util.h"
#include "common/json_text.h"
#include "common/strings.h"
#include "models/model_upload.h"
#include "models/model_versions.h"
#include "runners/runner_registry.h"

namespace infera {

namespace {

nlohmann::json VersionJson(int64_t version, bool active, std::optional<int64_t> parent,
                           const nlohmann::json& training) {
  return {{"version", version},
          {"active", active},
          {"parent", parent ? nlohmann::json(*parent) : nlohmann::json()},
          {"training", TrainingSummary(training)}};
}

// The lineage of `name` (see the file comment); `loaded` are its versions in the
// registry, the fallback when the manager cannot list its folders.
nlohmann::json VersionsJson(const ApiContext& ctx, const std::string& name,
                            const std::vector<std::shared_ptr<Model>>& loaded) {
  nlohmann::json out = nlohmann::json::array();
  if (ctx.manager != nullptr) {
    if (StatusOr<std::vector<ModelVersionInfo>> versions = ctx.manager->Versions(name);
        versions.ok()) {
      for (const ModelVersionInfo& v : *versions) {
        out.push_back(VersionJson(v.version, v.active, v.parent, v.training));
      }
      return out;
    }
  }
  for (const auto& m : loaded) out.push_back(VersionJson(m->config().version, true, {}, nullptr));
  return out;
}

nlohmann::json ListModels(const ApiContext& ctx) {
  std::map<std::string, std::vector<std::shared_ptr<Model>>> by_name;
  for (auto& m : ctx.models->List()) by_name[m->config().name].push_back(m);
  nlohmann::json list = nlohmann::json::array();
  for (auto& [name, versions] : by_name) {
    const Model& latest = *versions.back();  // List() is by name then version
    nlohmann::json v = VersionsJson(ctx, name, versions);
    list.push_back({{"id", name},
                    {"name", name},
                    {"runner_name", latest.config().runner},
                    {"backend", latest.config().backend},
                    {"description", latest.config().description},
                    {"versions", std::move(v)},
                    {"version", latest.config().version},
                    {"ready", true},
                    {"params_schema", latest.runner().ModelParamsSchema(latest.description())}});
  }
  if (ctx.manager != nullptr) {  // known but not loaded (explicit model control)
    for (const ModelState& s : ctx.manager->Index(false)) {
      if (by_name.count(s.name)) continue;
      nlohmann::json entry = {
          {"id", s.name},   {"name", s.name},    {"runner_name", ""},
          {"backend", ""},  {"description", ""}, {"versions", VersionsJson(ctx, s.name, {})},
          {"ready", false}, {"state", s.state},  {"reason", s.reason}};
      if (StatusOr<ModelConfig> config = ctx.manager->FindConfig(s.name); config.ok()) {
        entry["runner_name"] = config->runner;
        entry["backend"] = config->backend;
        entry["description"] = config->description;
        if (const Runner* runner = FindRunner(config->runner)) {
          entry["params_schema"] = runner->ModelParamsSchema(*config);
        }
      }
      list.push_back(std::move(entry));
    }
  }
  return list;
}

// The text of a part: its value, or its file's content for a file part.
StatusOr<std::string> PartText(const MultipartPart& part, uint64_t max_bytes) {
  if (!part.is_file) return part.value;
  if (part.size > max_bytes) {
    return absl::InvalidArgumentError(
        StrCat("form field '", part.name, "' is over ", max_bytes, " bytes"));
  }
  return ReadFileToString(part.file);
}

StatusOr<HttpResponse> UploadModel(const ApiContext& ctx, const HttpRequest& req) {
  if (ctx.manager == nullptr) {
    return absl::FailedPreconditionError("this server cannot add models at run time");
  }
  MultipartTempFiles cleanup;
  ASSIGN_OR_RETURN(std::vector<MultipartPart> parts, ReadMultipart(ctx, req, &cleanup));
  static const std::set<std::string> kYamlKeys = {"backend",  "artifact",  "input", "outputs",
                                                  "batching", "instances", "warmup"};
  constexpr uint64_t kMaxTextBytes = 1 << 20;
  ModelUpload upload;
  std::set<std::string> seen;
  for (const MultipartPart& part : parts) {
    if (!seen.insert(part.name).second) {
      return absl::InvalidArgumentError(StrCat("form field '", part.name, "' is given twice"));
    }
    const std::string& key = part.name;
    if (key == "model" || key == "file") {
      if (!part.is_file) {
        return absl::InvalidArgumentError(StrCat("form field '", key, "' must be a file"));
      }
      upload.artifact = part.file;
    } else if (key == "labels") {
      if (part.is_file) {
        upload.labels = part.file;
      } else {
        const std::filesystem::path file =
            ctx.tmp_dir / StrCat("labels-", std::hash<std::string>{}(req.request_id), ".txt");
        RETURN_IF_ERROR(WriteFileDurably(file, part.value));
        cleanup.Add(file);
        upload.labels = file;
      }
    } else {
      ASSIGN_OR_RETURN(std::string text, PartText(part, kMaxTextBytes));
      if (key == "name") {
        upload.name = text;
      } else if (key == "runner_name" || key == "runner") {
        upload.runner = text;
      } else if (key == "description") {
        upload.description = text;
      } else if (key == "model_yaml" || key == "model.yaml" || key == "config") {
        upload.yaml_text = text;
      } else if (key == "version") {
        ASSIGN_OR_RETURN(upload.version, ParseId(text, "model version"));
      } else if (key.find('.') != std::string::npos || kYamlKeys.count(key)) {
        upload.fields[key] = text;
      } else {
        return absl::InvalidArgumentError(StrCat(
            "unknown form field '", key,
            "' (expected name, runner_name, description, model, model_yaml, labels, version, or "
            "a model.yaml key such as input.size)"));
      }
    }
  }
  if (upload.name.empty()) return absl::InvalidArgumentError("form field 'name' is required");
  if (upload.artifact.empty()) {
    return absl::InvalidArgumentError("form field 'model' (the TorchScript .pt file) is required");
  }
  ASSIGN_OR_RETURN(ModelConfig installed, ctx.manager->Install(upload));
  for (nlohmann::json& entry : ListModels(ctx)) {
    if (entry["name"] == installed.name) return JsonResponse(201, JsonText(entry));
  }
  return absl::InternalError("the uploaded model is not listed");
}

// The entry ListModels gives `name`; NotFound when it lists none.
StatusOr<nlohmann::json> ModelEntry(const ApiContext& ctx, const std::string& name) {
  for (nlohmann::json& entry : ListModels(ctx)) {
    if (entry["name"] == name) return std::move(entry);
  }
  return absl::NotFoundError(StrCat("model '", name, "' not found"));
}

StatusOr<HttpResponse> GetModel(const ApiContext& ctx, const HttpRequest& req) {
  ASSIGN_OR_RETURN(nlohmann::json entry, ModelEntry(ctx, req.params.at("id")));
  return JsonResponse(200, JsonText(entry));
}

StatusOr<HttpResponse> ActivateVersion(const ApiContext& ctx, const HttpRequest& req) {
  const std::string& name = req.params.at("id");
  ASSIGN_OR_RETURN(int64_t version, ParseId(req.params.at("version"), "model version"));
  if (ctx.manager == nullptr) {
    return absl::FailedPreconditionError("this server cannot change its models at run time");
  }
  RETURN_IF_ERROR(ctx.manager->ActivateVersion(name, version));
  ASSIGN_OR_RETURN(nlohmann::json entry, ModelEntry(ctx, name));
  return JsonResponse(200, JsonText(entry));
}

}  // namespace

void AddApiModelRoutes(Router& router, const ApiContext& ctx) {
  RouteOptions upload;
  upload.spool = true;
  upload.max_body_bytes = static_cast<uint64_t>(ctx.uploads.max_upload_bytes);
  router.Add("POST", "/api/models/upload", Guarded(ctx, Access::kAdmin, Blocking(ctx, UploadModel)),
             upload);
  // The list reads each model's folder (model.yaml, training records): off the I/O threads.
  router.Add("GET", "/api/models",
             Guarded(ctx, Access::kUser, Blocking(ctx, [](const ApiContext& c, const HttpRequest&) {
                       return StatusOr<HttpResponse>(
                           JsonResponse(200, JsonText(nlohmann::json{{"models", ListModels(c)},
                                                                     {"runners", RunnerNames()}})));
                     })));
  router.Add("GET", "/api/models/{id}", Guarded(ctx, Access::kUser, Blocking(ctx, GetModel)));
  router.Add("POST", "/api/models/{id}/versions/{version}/activate",
             Guarded(ctx, Access::kAdmin, Blocking(ctx, ActivateVersion)));
}

}  // namespace infera
