#include "jobs/retraining_jobs.h"

#include <algorithm>
#include <set>

#include "common/strings.h"
#include "jobs/retraining_samples.h"
#include "models/model.h"
#include "training/trainer.h"

namespace infera {

namespace {

// A store message about "job <id>" as one about "retraining <id>".
Status AsRetraining(const Status& s) {
  std::string message(ToStd(s.message()));
  if (message.starts_with("job ")) message = "retraining " + message.substr(4);
  return absl::Status(s.code(), message);
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
  const std::vector<std::string> trainable = TrainableRunners();
  if (std::find(trainable.begin(), trainable.end(), config.runner) == trainable.end()) {
    return absl::InvalidArgumentError(StrCat("model '", name, "' has runner '", config.runner,
                                             "', which cannot be trained; runners that can: [",
                                             StrJoin(trainable, ", "), "]"));
  }
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
    if (set->mask_count == 0) {
      return absl::InvalidArgumentError(StrCat(
          "annotation set ", id, " ('", set->name, "') has no ",
          set->kind == AnnotationKind::kImageLabels ? "labelled images" : "masks", " to train on"));
    }
    if (set->kind == AnnotationKind::kImageLabels) {
      RETURN_IF_ERROR(MapImageLabelsToModel(*annotations_, *set, config.labels).status());
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
