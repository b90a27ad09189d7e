#include "jobs/retraining_job_handler.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "common/logging.h"
#include "common/strings.h"
#include "jobs/retraining_samples.h"
#include "runners/runner_registry.h"
#include "training/trainer.h"
#include "training/training_record.h"

namespace infera {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr size_t kMaxLogLines = 1000;                         // the report keeps the last ones
constexpr std::chrono::milliseconds kLogFlushInterval{1000};  // log lines reach the job

std::string Message(const Status& s) { return std::string(ToStd(s.message())); }

}  // namespace

RetrainingJobHandler::RetrainingJobHandler(Store* store, AnnotationStore* annotations,
                                           BlobStore* blobs, ModelManager* manager,
                                           RetrainingJobOptions options)
    : store_(store),
      annotations_(annotations),
      blobs_(blobs),
      manager_(manager),
      options_(std::move(options)) {}

// JobRun: one claimed job on one worker thread; the trainer's callbacks run on it too.
class RetrainingJobHandler::JobRun {
 public:
  JobRun(const RetrainingJobHandler& owner, JobContext& ctx) : owner_(owner), ctx_(ctx) {}

  JobOutcome Run() {
    const JobRecord& job = ctx_.job();
    StatusOr<RetrainingSpec> spec = RetrainingSpecOf(job);
    if (!spec.ok()) return Fail(Message(spec.status()));
    spec_ = std::move(*spec);
    report_ = nlohmann::json::parse(job.report_json, nullptr, false);
    if (!report_.is_object()) report_ = nlohmann::json::object();
    for (const char* key : {"epochs", "logs", "resumed_from_epoch"}) {
      if (!report_.contains(key) || !report_[key].is_array())
        report_[key] = nlohmann::json::array();
    }
    done_ = job.done;
    total_ = job.total;
    work_dir_ = owner_.options_.work_root / std::to_string(job.id);

    // A job that comes back after its version was added (a crash before FinishJob) ends
    // with that version instead of training again.
    if (std::optional<ModelVersionInfo> added = AddedVersion()) {
      AddLog(StrCat("version ", added->version, " was added by this job before it stopped"));
      return Complete(added->version, report_.value("held_back", !added->active));
    }
    if (owner_.annotations_ == nullptr) return Fail("this server's storage has no annotation sets");
    const Runner* runner = FindRunner(spec_.runner);
    if (runner == nullptr) return Fail(StrCat("runner '", spec_.runner, "' is not implemented"));
    StatusOr<std::vector<ModelConfig>> configs = owner_.manager_->FindConfigs(spec_.model);
    if (!configs.ok()) return Fail(Message(configs.status()));
    const ModelConfig* config = nullptr;
    for (const ModelConfig& c : *configs) {
      if (c.version == spec_.version) config = &c;
    }
    if (config == nullptr) {
      return Fail(StrCat("version ", spec_.version, " of model '", spec_.model, "' is gone"));
    }
    StatusOr<TrainingParams> params = ParseTrainingParams(spec_.params);
    if (!params.ok()) return Fail(Message(params.status()));
    if (owner_.options_.threads > 0) {
      params->threads = std::clamp(params->threads, 1, owner_.options_.threads);
    }
    total_ = params->epochs;

    StatusOr<RetrainingData> data = LoadRetrainingSamples(
        *owner_.store_, *owner_.annotations_, *owner_.blobs_, spec_.annotation_set_ids,
        spec_.runner, config->labels, owner_.options_.decode);
    if (!data.ok()) return Fail(Message(data.status()));
    sets_ = std::move(data->sets);
    const size_t images = data->samples.size();
    if (data->unlabelled > 0) {
      AddLog(StrCat(data->unlabelled, " image", data->unlabelled == 1 ? "" : "s",
                    " without a label skipped"));
    }

    if (JobOutcome stop; Halted(&stop)) return stop;
    std::error_code ec;
    std::filesystem::create_directories(work_dir_, ec);
    if (ec) return Fail(StrCat("cannot create ", work_dir_.string(), ": ", ec.message()));
    StatusOr<std::unique_ptr<Trainer>> trainer =
        Trainer::Create(*config, *runner, *params, std::move(data->samples), work_dir_);
    if (!trainer.ok()) return Fail(Message(trainer.status()));
    AddLog(StrCat(job.attempts > 1 ? "attempt " + std::to_string(job.attempts) + ": " : "",
                  "training '", spec_.model, "' version ", spec_.version, " (", spec_.runner,
                  ") on ", images, " annotated images for ", params->epochs, " epochs, ",
                  params->threads, " threads"));
    Flush();

    TrainingCallbacks callbacks;
    callbacks.should_stop = [this] {
      signal_ = ctx_.Check();
      if (signal_ == JobSignal::kGoOn && SteadyClock::now() - last_flush_ >= kLogFlushInterval &&
          unflushed_) {
        Flush();
      }
      return signal_ != JobSignal::kGoOn || ctx_.lost();
    };
    callbacks.on_epoch = [this](const EpochMetrics& e) { OnEpoch(e); };
    callbacks.log = [this](const std::string& line) { AddLog(line); };
    callbacks.on_checkpoint = [this](int epoch) {
      report_["checkpoint_epoch"] = epoch;
      Flush();
    };
    StatusOr<TrainingResult> result = (*trainer)->Run(callbacks);
    trainer->reset();  // the trainer's files are closed before the folder goes

    if (ctx_.lost()) return JobOutcome::Finish(JobStatus::kFailed, "lost");
    if (signal_ == JobSignal::kStop && (!result.ok() || result->stopped)) {
      AddLog(
          "the server is stopping: the job goes back to the queue and resumes from its last "
          "checkpoint");
      Flush();
      return JobOutcome::Release();
    }
    if (signal_ == JobSignal::kCancel || ctx_.canceled()) {
      AddLog(StrCat("canceled after ", done_, " of ", total_, " epochs"));
      RemoveWorkDir();
      return JobOutcome::Finish(JobStatus::kCanceled, StrCat("canceled after ", done_, " epochs"),
                                report_.dump());
    }
    if (!result.ok()) return Fail(Message(result.status()));
    if (result->stopped) return Fail("training stopped without a result");
    return AddVersion(*result, *params);
  }

 private:
  // The version this job added, when a previous run of it got that far.
  std::optional<ModelVersionInfo> AddedVersion() {
    StatusOr<std::vector<ModelVersionInfo>> versions = owner_.manager_->Versions(spec_.model);
    if (!versions.ok()) return std::nullopt;
    for (const ModelVersionInfo& v : *versions) {
      if (v.training.is_object() && v.training.value("job_id", int64_t{0}) == ctx_.job().id) {
        return v;
      }
    }
    return std::nullopt;
  }

  JobOutcome AddVersion(const TrainingResult& result, const TrainingParams& params) {
    const bool activate = !HeldBack(result);
    report_["best_epoch"] = result.best_epoch;
    report_["parent_score"] = result.parent_score;
    report_["best_score"] = result.best_score;
    report_["seconds"] = result.seconds;
    report_["images_per_second"] = result.images_per_second;
    report_["train_images"] = result.train_names;
    report_["val_images"] = result.val_names;
    // The training record (VERSION/training.json): what the version was made from, and
    // the job that made it (a job that comes back finds its version by it).
    nlohmann::json record =
        TrainingRecordJson(result, params, spec_.version, spec_.runner,
                           nlohmann::json{{"annotation_sets", sets_}, {"job_id", ctx_.job().id}});
    record["job_id"] = ctx_.job().id;
    AddLog(StrCat("best epoch ", result.best_epoch, ": score ", result.best_score,
                  " (the parent scores ", result.parent_score, " on the same split)"));
    StatusOr<int64_t> version =
        owner_.manager_->AddVersion(spec_.model, result.artifact, record, activate);
    if (!version.ok()) {
      return Fail(StrCat("the trained version was not added: ", version.status().message()));
    }
    return Complete(*version, !activate);
  }

  JobOutcome Complete(int64_t version, bool held_back) {
    report_["new_version"] = version;
    report_["held_back"] = held_back;
    std::string note;
    if (held_back) {
      note = StrCat("version ", version, " is held back: its validation score ",
                    report_.value("best_score", 0.0), " is below the parent's ",
                    report_.value("parent_score", 0.0),
                    " on the same split; promote it with POST /api/models/", spec_.model,
                    "/versions/", version, "/activate");
    }
    AddLog(held_back ? note : StrCat("version ", version, " serves now"));
    RemoveWorkDir();
    return JobOutcome::Finish(JobStatus::kCompleted, note, report_.dump());
  }

  JobOutcome Fail(const std::string& why) {
    AddLog(StrCat("failed: ", why));
    Log(LogLevel::kWarning, "retraining_failed",
        {{"job", std::to_string(ctx_.job().id)}, {"error", why}});
    RemoveWorkDir();
    return JobOutcome::Finish(JobStatus::kFailed, why, report_.dump());
  }

  // Before the (long) trainer set-up: a cancel or a stop that came while loading.
  bool Halted(JobOutcome* out) {
    signal_ = ctx_.Check();
    if (signal_ == JobSignal::kGoOn) return false;
    if (signal_ == JobSignal::kStop) {
      *out = JobOutcome::Release();
    } else {
      RemoveWorkDir();
      *out = JobOutcome::Finish(
          signal_ == JobSignal::kCancel ? JobStatus::kCanceled : JobStatus::kFailed,
          "canceled before training", report_.dump());
    }
    return true;
  }

  void OnEpoch(const EpochMetrics& e) {
    nlohmann::json& epochs = report_["epochs"];
    nlohmann::json entry = EpochMetricsJson(e);
    // An epoch run again after a resume replaces the one recorded before.
    auto it = std::find_if(epochs.begin(), epochs.end(), [&](const nlohmann::json& x) {
      return x.value("epoch", -1) == e.epoch;
    });
    if (it != epochs.end()) {
      *it = std::move(entry);
    } else {
      epochs.push_back(std::move(entry));
      std::sort(epochs.begin(), epochs.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
        return a.value("epoch", 0) < b.value("epoch", 0);
      });
    }
    if (e.epoch > 0 && !first_trained_epoch_) {
      first_trained_epoch_ = e.epoch;
      if (e.epoch > 1) {
        // This run started after a checkpoint: say where it resumed.
        report_["resumed_from_epoch"].push_back(e.epoch - 1);
      }
    }
    done_ = std::min<int64_t>(std::max<int64_t>(done_, e.epoch), total_);
    Flush();
  }

  void AddLog(const std::string& line) {
    nlohmann::json& logs = report_["logs"];
    logs.push_back(line);
    if (logs.size() > kMaxLogLines) logs.erase(logs.begin());
    unflushed_ = true;
  }

  // Writes the report and progress to the job; a refused write means the job is lost.
  void Flush() {
    last_flush_ = SteadyClock::now();
    unflushed_ = false;
    Status s = owner_.store_->UpdateJobProgress(ctx_.job().id, ctx_.worker(),
                                                std::min(done_, total_), total_, report_.dump());
    if (absl::IsFailedPrecondition(s)) {
      ctx_.MarkLost();
    } else if (!s.ok()) {
      Log(LogLevel::kWarning, "retraining_progress_not_saved",
          {{"job", std::to_string(ctx_.job().id)}, {"error", Message(s)}});
    }
  }

  void RemoveWorkDir() {
    std::error_code ec;
    std::filesystem::remove_all(work_dir_, ec);
  }

  const RetrainingJobHandler& owner_;
  JobContext& ctx_;
  RetrainingSpec spec_;
  nlohmann::json report_;
  nlohmann::json sets_ = nlohmann::json::array();
  std::filesystem::path work_dir_;
  int64_t done_ = 0;
  int64_t total_ = 0;
  int first_trained_epoch_ = 0;
  JobSignal signal_ = JobSignal::kGoOn;
  bool unflushed_ = false;
  SteadyClock::time_point last_flush_ = SteadyClock::now();
};

JobOutcome RetrainingJobHandler::Run(JobContext& ctx) { return JobRun(*this, ctx).Run(); }

}  // namespace infera
