#include "jobs/retraining_jobs.h"

#include <map>
#include <set>

#include "annotations/label_map.h"
#include "common/strings.h"
#include "jobs/retraining_samples.h"
#include "models/model.h"
#include "training/losses.h"
#include "training/trainer.h"

namespace infera {

namespace {

// A store message about "job <id>" as one about "retraining <id>".
Status AsRetraining(const Status& s) {
  std::string message(ToStd(s.message()));
  if (message.starts_with("job ")) message = "retraining " + message.substr(4);
  return absl::Status(s.code(), message);
}

// K, the class count that bounds the class indices a model trains on, when its runner's
// targets are class indices (TargetsAreClasses: multiclass_argmax, classify, custom_tiff
// with K > 1): the channels of its first output as warm-up saw it ([N, K, H, W], [N, K]
// for classify; [N, H, W] is K = 1, custom_tiff's binary task). nullopt for the other
// tasks, or when K is unknown (no warm-up): the trainer then checks the targets
// themselves when the job runs.
std::optional<int64_t> WarmupClassBound(const Model& model) {
  const std::vector<TensorInfo>& outputs = model.OutputInfo();
  if (outputs.empty()) return std::nullopt;
  const std::string& runner = model.config().runner;
  StatusOr<TrainingTask> task = TaskForRunner(runner);
  if (!task.ok()) return std::nullopt;
  const Shape& shape = outputs[0].shape;
  OutputType output;
  if (*task == TrainingTask::kClassify ? shape.size() == 2 : shape.size() == 4) {
    if (shape[1] <= 0) return std::nullopt;
    output.classes = shape[1];
  } else if (*task == TrainingTask::kClassify || shape.size() != 3) {
    return std::nullopt;
  }
  task = TaskForRunner(runner, output);
  if (!task.ok() || !TargetsAreClasses(*task)) return std::nullopt;
  return output.classes;
}

// A set whose labels a K-class model (K > 1) cannot learn: InvalidArgument naming the
// first label id >= K (255 and 65535 mark unannotated pixels in masks, not classes).
Status CheckSetLabelsFit(const AnnotationSetRecord& set, const std::string& model,
                         int64_t classes) {
  StatusOr<LabelMap> labels = ParseLabelMap(nlohmann::json::parse(set.labels_json, nullptr, false));
  if (!labels.ok()) {
    return absl::InternalError(StrCat("annotation set ", set.id, " has corrupt labels"));
  }
  for (const AnnotationLabel& label : *labels) {
    if (label.id >= classes && label.id != 255 && label.id != 65535) {
      return absl::InvalidArgumentError(StrCat("annotation set ", set.id, " ('", set.name,
                                               "') has label ", label.id, " ('", label.name,
                                               "') but model '", model, "' outputs K = ", classes,
                                               " classes (labels 0..", classes - 1, ")"));
    }
  }
  return absl::OkStatus();
}

// An image_labels set whose labels name classes a K-class classifier does not output
// (a labels file longer than the model's output): InvalidArgument naming the first.
// `classes` maps the set's label ids to the model's class indices.
Status CheckImageLabelsFit(const AnnotationSetRecord& set, const std::map<int, int>& classes,
                           const std::string& model, int64_t k) {
  for (const auto& [label_id, index] : classes) {
    if (index >= k) {
      return absl::InvalidArgumentError(StrCat("annotation set ", set.id, " ('", set.name,
                                               "') has label ", label_id, ", the model's class ",
                                               index, ", but model '", model, "' outputs K = ", k,
                                               " classes (labels 0..", k - 1, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<JobRecord> RetrainingJobs::Start(const Caller& caller,
                                          const StartRetrainingRequest& request) const {
  if (annotations_ == nullptr) {
    return absl::UnimplementedError("this server's storage driver has no annotation sets");
  }
  const std::string& name = request.model_name;
  std::shared_ptr<Model> model = models_->Get(name, std::nullopt);
  if (model == nullptr) return absl::NotFoundError(StrCat("unknown model '", name, "'"));
  const ModelConfig& config = model->config();
  RETURN_IF_ERROR(CheckRunnerTrains(name, config.runner));
  if (config.backend != "torchscript") {
    return absl::InvalidArgumentError(StrCat("model '", name, "' runs on backend '", config.backend,
                                             "'; only torchscript models can be trained"));
  }
  // The new version goes into the repository: the model must be one of its folders (not
  // the config's list form), refused here rather than after the training.
  RETURN_IF_ERROR(manager_->CheckCanAddVersion(name));
  const nlohmann::json params_json =
      request.params.is_null() ? nlohmann::json::object() : request.params;
  StatusOr<TrainingParams> params = ParseTrainingParams(params_json);
  if (!params.ok()) {
    return absl::InvalidArgumentError(StrCat("params: ", params.status().message()));
  }
  if (request.annotation_set_ids.empty()) {
    return absl::InvalidArgumentError("'annotation_set_ids' needs at least one annotation set");
  }
  const std::optional<int64_t> classes = WarmupClassBound(*model);
  std::set<int64_t> seen;
  for (int64_t id : request.annotation_set_ids) {
    if (!seen.insert(id).second) {
      return absl::InvalidArgumentError(StrCat("annotation set ", id, " is named twice"));
    }
  }
  for (int64_t id : request.annotation_set_ids) {
    StatusOr<AnnotationSetRecord> set = annotations_->GetAnnotationSet(id);
    if (absl::IsNotFound(set.status())) {
      return absl::NotFoundError(StrCat("annotation set ", id, " not found"));
    }
    RETURN_IF_ERROR(set.status());
    RETURN_IF_ERROR(CheckVisible(caller, set->owner_id, "annotation set", id));
    RETURN_IF_ERROR(CheckSetsTrainRunner(set->kind, id, config.runner));
    if (classes.has_value() && set->kind != AnnotationKind::kImageLabels) {
      RETURN_IF_ERROR(CheckSetLabelsFit(*set, name, *classes));
    }
    if (set->mask_count == 0) {
      return absl::InvalidArgumentError(StrCat(
          "annotation set ", id, " ('", set->name, "') has no ",
          set->kind == AnnotationKind::kImageLabels ? "labelled images" : "masks", " to train on"));
    }
    if (set->kind == AnnotationKind::kImageLabels) {
      StatusOr<std::map<int, int>> mapped =
          MapImageLabelsToModel(*annotations_, *set, config.labels);
      RETURN_IF_ERROR(mapped.status());
      if (classes.has_value()) RETURN_IF_ERROR(CheckImageLabelsFit(*set, *mapped, name, *classes));
    }
  }
  RetrainingSpec spec;
  spec.model = name;
  spec.version = config.version;
  spec.runner = config.runner;
  spec.annotation_set_ids = request.annotation_set_ids;
  spec.params = TrainingParamsToJson(*params);
  ASSIGN_OR_RETURN(JobRecord job, RetrainingJob(spec, CallerId(caller), params->epochs));
  ASSIGN_OR_RETURN(JobRecord created, store_->CreateJob(job));
  if (workers_ != nullptr) workers_->Notify();
  return created;
}

StatusOr<std::vector<JobRecord>> RetrainingJobs::List(const Caller& caller,
                                                      std::optional<JobStatus> status,
                                                      int64_t limit, int64_t offset) const {
  JobFilter filter;
  filter.kind = std::string(kRetrainingJobKind);
  filter.owner_id = OwnerFilter(caller);
  filter.status = status;
  filter.limit = limit;
  filter.offset = offset;
  return store_->ListJobs(filter);
}

StatusOr<JobRecord> RetrainingJobs::Get(const Caller& caller, int64_t id) const {
  ASSIGN_OR_RETURN(JobRecord job, GetRetraining(*store_, id));
  RETURN_IF_ERROR(CheckVisible(caller, job.owner_id, "retraining", id));
  return job;
}

StatusOr<JobRecord> RetrainingJobs::Cancel(const Caller& caller, int64_t id) const {
  RETURN_IF_ERROR(Get(caller, id).status());
  StatusOr<JobRecord> canceled = store_->CancelJob(id);
  if (!canceled.ok()) return AsRetraining(canceled.status());
  if (workers_ != nullptr) workers_->Cancel(id);
  return canceled;
}

}  // namespace infera
