#include "jobs/inference_workers.h"

#include <unistd.h>

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "common/logging.h"
#include "common/strings.h"
#include "datasets/ingest.h"
#include "models/model.h"
#include "runners/runner_registry.h"
#include "store/blob_lifetime.h"

namespace infera {

namespace {

using Clock = std::chrono::steady_clock;

double MsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

constexpr int kMaxAttemptsPerImage = 3;  // for a full queue / timed-out image

}  // namespace

std::string ArtifactFilename(std::string_view source_filename, std::string_view kind,
                             std::string_view extension) {
  std::string stem(source_filename);
  const size_t dot = stem.rfind('.');
  if (dot != std::string::npos && dot > 0) stem.resize(dot);
  std::string suffix;
  if (kind == "class_mask") {
    suffix = "mask";
  } else if (kind == "instance_mask") {
    suffix = "instances";
  } else {
    suffix = std::string(kind);
  }
  return StrCat(stem, "_", suffix, ".", extension);
}

// JobRun: one claimed job on one worker thread. Everything runs on that thread except
// the batcher callbacks, which only push onto `completed_`.
class InferenceWorkers::JobRun {
 public:
  // Set to drop this run's images still queued in the batcher (InferenceWorkers::Cancel).
  std::shared_ptr<std::atomic<bool>> drop_flag() const { return drop_queued_; }

  JobRun(InferenceWorkers& owner, std::string worker, InferenceRecord job)
      : owner_(owner), worker_(std::move(worker)), job_(std::move(job)) {}

  void Run() {
    start_ = Clock::now();
    Log(LogLevel::kInfo, "job_started",
        {{"inference_id", std::to_string(job_.id)},
         {"worker", worker_},
         {"model", job_.model_name},
         {"attempt", std::to_string(job_.attempts)}});
    runner_ = FindRunner(job_.runner_name);
    if (runner_ == nullptr) {
      return Finish(JobStatus::kFailed, StrCat("Runner '", job_.runner_name,
                                               "' is not implemented. Available runners: [",
                                               StrJoin(RunnerNames(), ", "), "]"));
    }
    model_ = owner_.models_->Get(job_.model_name, job_.model_version);
    if (model_ == nullptr) {
      return Finish(JobStatus::kFailed, StrCat("model '", job_.model_name, "' version ",
                                               job_.model_version, " is not loaded"));
    }
    nlohmann::json raw = nlohmann::json::parse(job_.params_json, nullptr, false);
    if (raw.is_discarded()) raw = nlohmann::json::object();
    StatusOr<nlohmann::json> params = runner_->ResolveParams(raw, model_->description());
    if (!params.ok())
      return Finish(JobStatus::kFailed, std::string(ToStd(params.status().message())));
    params_ = std::move(*params);

    StatusOr<std::vector<FileRecord>> files = owner_.store_->ListDatasetFiles(job_.dataset_id);
    if (!files.ok())
      return Finish(JobStatus::kFailed, std::string(ToStd(files.status().message())));
    StatusOr<std::vector<InferenceResultRecord>> done =
        owner_.store_->ListInferenceResults(job_.id);
    if (!done.ok()) return Finish(JobStatus::kFailed, std::string(ToStd(done.status().message())));
    std::set<int64_t> finished;
    for (const InferenceResultRecord& r : *done) finished.insert(r.source_file_id);
    for (FileRecord& f : *files) {
      if (!finished.count(f.id)) pending_.push_back(std::move(f));
    }

    int max_in_flight = owner_.options_.max_in_flight;
    if (max_in_flight <= 0) {
      max_in_flight =
          static_cast<int>(2 * std::max<int64_t>(1, model_->config().batching.max_batch_size));
    }
    last_renew_ = last_cancel_check_ = Clock::now();
    // A cancel may have come between the claim and now: the first Housekeeping looks.
    seen_generation_ = ~owner_.generation();
    size_t next = 0;
    while (true) {
      while (!halted() && next < pending_.size() && in_flight_ < max_in_flight) {
        Submit(pending_[next++], 1);
      }
      DrainRetries();
      if (in_flight_ == 0 && retries_.empty() && (halted() || next >= pending_.size())) break;
      WaitAndHandle();
      Housekeeping();
    }
    SweepDropped();
    if (lost_) {
      Log(LogLevel::kWarning, "job_lease_lost",
          {{"inference_id", std::to_string(job_.id)}, {"worker", worker_}});
      return;
    }
    if (drop_queued_->load(std::memory_order_acquire)) canceled_ = true;  // not lost: above
    if (owner_.stopping() && !canceled_ && next < pending_.size()) {
      (void)owner_.store_->ReleaseInference(job_.id, worker_);
      Log(LogLevel::kInfo, "job_released", {{"inference_id", std::to_string(job_.id)}});
      return;
    }
    if (canceled_) {
      return Finish(JobStatus::kCanceled, StrCat("canceled after ", processed_ + finished.size(),
                                                 " of ", files->size(), " images"));
    }
    std::string note;
    if (failed_ > 0) note = StrCat(failed_, " of ", processed_, " images failed");
    Finish(JobStatus::kCompleted, note);
  }

 private:
  // One image on its way through the model.
  struct Flight {
    FileRecord file;
    int attempt = 1;
    Clock::time_point start;
  };
  struct Completion {
    std::shared_ptr<Flight> flight;
    StatusOr<ImageResult> result;
  };

  // The drop flag is set by a cancel (InferenceWorkers::Cancel, after the store has the
  // request) or a lost lease: either way no more images go in.
  bool halted() const {
    return lost_ || canceled_ || drop_queued_->load(std::memory_order_acquire) || owner_.stopping();
  }

  void Submit(const FileRecord& file, int attempt) {
    auto flight = std::make_shared<Flight>();
    flight->file = file;
    flight->attempt = attempt;
    flight->start = Clock::now();
    StatusOr<std::string> bytes = owner_.blobs_->Get(file.sha256);
    if (!bytes.ok())
      return RecordError(*flight, StrCat("cannot read the file: ", bytes.status().message()));
    std::span<const std::byte> span(reinterpret_cast<const std::byte*>(bytes->data()),
                                    bytes->size());
    StatusOr<PreparedImage> prepared = ImagePipeline::Prepare(*runner_, model_->description(), span,
                                                              params_, owner_.options_.decode);
    if (!prepared.ok())
      return RecordError(*flight, std::string(ToStd(prepared.status().message())));
    ++in_flight_;
    RequestContext ctx;
    ctx.request_id = StrCat("job-", job_.id, "/", file.id);
    ctx.priority = owner_.options_.priority;
    ctx.canceled = drop_queued_;
    owner_.pipeline_->Submit(model_, std::move(*prepared), ctx,
                             [this, flight](StatusOr<ImageResult> r) {
                               // Notified under the lock: once the lock is released the run
                               // may end and go away.
                               MutexLock lock(&mu_);
                               completed_.push_back(Completion{flight, std::move(r)});
                               cv_.Signal();
                             });
  }

  void WaitAndHandle() {
    std::deque<Completion> batch;
    {
      MutexLock lock(&mu_);
      // Short waits: Housekeeping (cancel requests, the lease) runs between them.
      if (completed_.empty()) cv_.WaitFor(&mu_, std::chrono::milliseconds(25));
      batch.swap(completed_);
    }
    for (Completion& c : batch) {
      --in_flight_;
      Handle(c);
    }
  }

  void Handle(Completion& c) {
    Flight& f = *c.flight;
    // A canceled (or lost) job keeps no more results: images that were already in the
    // model when the cancel came are neither post-processed nor saved; images the
    // batcher dropped (Cancelled) are no one's error.
    if (canceled_ || lost_) return;
    if (c.result.status().code() == absl::StatusCode::kCancelled) return;
    if (!c.result.ok()) {
      // A full queue or an expired wait is the server being busy, not the image's fault.
      if (c.result.status().code() == absl::StatusCode::kUnavailable &&
          f.attempt < kMaxAttemptsPerImage && !halted()) {
        retries_.push_back(
            {f.file, f.attempt + 1, Clock::now() + std::chrono::milliseconds(200 * f.attempt)});
        return;
      }
      if (halted() && c.result.status().code() == absl::StatusCode::kUnavailable) return;
      return RecordError(f, std::string(ToStd(c.result.status().message())));
    }
    std::vector<FileRecord> outputs;
    std::vector<BlobPin> pins;  // released once the result is saved (or refused)
    for (const EncodedArtifact& encoded : c.result->artifacts) {
      const RunnerArtifact& artifact = encoded.artifact;
      StatusOr<PinnedBlob> blob = PutPinned(*owner_.store_, *owner_.blobs_, encoded.bytes);
      if (!blob.ok()) return RecordError(f, std::string(ToStd(blob.status().message())));
      pins.push_back(std::move(blob->pin));
      FileRecord file;
      file.owner_id = job_.owner_id;
      file.inference_id = job_.id;
      file.role = artifact.kind;
      file.filename =
          ArtifactFilename(f.file.filename, artifact.kind, ArtifactExtension(artifact.format));
      file.content_type = std::string(ArtifactContentType(artifact.format));
      file.sha256 = blob->info.sha256;
      file.size = blob->info.size;
      DescribeImage(artifact.image, &file);
      outputs.push_back(std::move(file));
    }
    const Clock::time_point end = Clock::now();
    const PipelineTimings& t = c.result->timings;
    totals_.decode_ms += t.decode_ms;
    totals_.preprocess_ms += t.preprocess_ms;
    totals_.queue_ms += t.queue_ms;
    totals_.compute_ms += t.compute_ms;
    totals_.postprocess_ms += t.postprocess_ms;
    InferenceResultRecord result;
    result.inference_id = job_.id;
    result.source_file_id = f.file.id;
    result.source_filename = f.file.filename;
    result.summary_json = c.result->summary.dump();
    result.elapsed_ms = MsBetween(f.start, end);
    Save(result, outputs);
  }

  void RecordError(const Flight& f, std::string error) {
    InferenceResultRecord result;
    result.inference_id = job_.id;
    result.source_file_id = f.file.id;
    result.source_filename = f.file.filename;
    result.error = std::move(error);
    result.elapsed_ms = MsBetween(f.start, Clock::now());
    Save(result, {});
  }

  void Save(const InferenceResultRecord& result, const std::vector<FileRecord>& outputs) {
    if (lost_) return;
    StatusOr<InferenceResultRecord> saved =
        owner_.store_->AddInferenceResult(result, outputs, worker_);
    if (saved.ok()) {
      ++processed_;
      if (!result.error.empty()) ++failed_;
      return;
    }
    if (saved.status().code() == absl::StatusCode::kFailedPrecondition) {
      lost_ = true;  // another worker owns the job now
      drop_queued_->store(true, std::memory_order_release);
    } else if (saved.status().code() != absl::StatusCode::kAlreadyExists) {
      Log(LogLevel::kError, "job_result_not_saved",
          {{"inference_id", std::to_string(job_.id)},
           {"file", result.source_filename},
           {"error", std::string(ToStd(saved.status().message()))}});
    }
    // Outputs no record took: swept when the job ends (pins released by then).
    for (const FileRecord& out : outputs) dropped_blobs_.push_back(out.sha256);
  }

  // Removes the blobs of outputs no record took, unless something else uses them.
  void SweepDropped() {
    if (dropped_blobs_.empty()) return;
    StatusOr<std::vector<std::string>> swept =
        SweepUnusedBlobs(*owner_.store_, *owner_.blobs_, dropped_blobs_);
    if (!swept.ok()) {
      Log(LogLevel::kWarning, "blob_sweep_failed",
          {{"inference_id", std::to_string(job_.id)},
           {"error", std::string(ToStd(swept.status().message()))}});
    }
    dropped_blobs_.clear();
  }

  void DrainRetries() {
    const Clock::time_point now = Clock::now();
    while (!retries_.empty() && !halted() && retries_.front().not_before <= now) {
      Retry r = retries_.front();
      retries_.pop_front();
      Submit(r.file, r.attempt);
    }
    if (halted()) retries_.clear();
  }

  // Renews the lease every lease / 3, and looks for a cancel request when the workers
  // were notified (a cancel notifies) or at least once a second.
  void Housekeeping() {
    const Clock::time_point now = Clock::now();
    const uint64_t generation = owner_.generation();
    if (generation != seen_generation_ || MsBetween(last_cancel_check_, now) >= 1000.0) {
      seen_generation_ = generation;
      last_cancel_check_ = now;
      StatusOr<InferenceRecord> current = owner_.store_->GetInference(job_.id);
      if (current.ok() && current->cancel_requested) {
        canceled_ = true;
        // The images still queued in the batcher leave without running.
        drop_queued_->store(true, std::memory_order_release);
      }
    }
    if (MsBetween(last_renew_, now) < static_cast<double>(owner_.options_.lease_ms) / 3.0) return;
    last_renew_ = now;
    Status renewed = owner_.store_->RenewLease(job_.id, worker_, owner_.options_.lease_ms);
    if (!renewed.ok() && renewed.code() == absl::StatusCode::kFailedPrecondition) {
      lost_ = true;
      drop_queued_->store(true, std::memory_order_release);
    }
  }

  void Finish(JobStatus status, const std::string& note) {
    const double wall_ms = MsBetween(start_, Clock::now());
    nlohmann::json timings = {
        {"wall_ms", wall_ms},
        {"images", processed_},
        {"images_per_s", wall_ms > 0 ? 1000.0 * static_cast<double>(processed_) / wall_ms : 0.0},
        {"decode_ms", totals_.decode_ms},
        {"preprocess_ms", totals_.preprocess_ms},
        {"queue_ms", totals_.queue_ms},
        {"compute_ms", totals_.compute_ms},
        {"postprocess_ms", totals_.postprocess_ms},
    };
    Status s = owner_.store_->FinishInference(job_.id, worker_, status, note, timings.dump());
    Log(s.ok() ? LogLevel::kInfo : LogLevel::kWarning, "job_finished",
        {{"inference_id", std::to_string(job_.id)},
         {"status", std::string(JobStatusName(status))},
         {"note", note},
         {"images", std::to_string(processed_)},
         {"failed", std::to_string(failed_)},
         {"ms", std::to_string(wall_ms)},
         {"store", s.ok() ? "ok" : std::string(ToStd(s.message()))}});
  }

  struct Retry {
    FileRecord file;
    int attempt = 1;
    Clock::time_point not_before;
  };
  struct Totals {
    double decode_ms = 0, preprocess_ms = 0, queue_ms = 0, compute_ms = 0, postprocess_ms = 0;
  };

  InferenceWorkers& owner_;
  const std::string worker_;
  InferenceRecord job_;
  const Runner* runner_ = nullptr;
  std::shared_ptr<Model> model_;
  nlohmann::json params_;
  std::vector<FileRecord> pending_;
  std::vector<std::string> dropped_blobs_;  // outputs written but not recorded
  std::deque<Retry> retries_;
  int in_flight_ = 0;
  int64_t processed_ = 0;
  int64_t failed_ = 0;
  bool lost_ = false;
  bool canceled_ = false;
  // Set on cancel or a lost lease: the batcher drops this job's queued images.
  std::shared_ptr<std::atomic<bool>> drop_queued_ = std::make_shared<std::atomic<bool>>(false);
  Totals totals_;
  Clock::time_point start_;
  Clock::time_point last_renew_;
  Clock::time_point last_cancel_check_;
  uint64_t seen_generation_ = 0;

  Mutex mu_;
  CondVar cv_;
  std::deque<Completion> completed_ GUARDED_BY(mu_);
};

InferenceWorkers::InferenceWorkers(Store* store, BlobStore* blobs, ModelRegistry* models,
                                   InferenceWorkerOptions options, ImagePipeline* pipeline)
    : store_(store),
      blobs_(blobs),
      models_(models),
      options_(std::move(options)),
      own_pipeline_(pipeline == nullptr ? std::make_unique<ImagePipeline>() : nullptr),
      pipeline_(pipeline == nullptr ? own_pipeline_.get() : pipeline) {}

InferenceWorkers::~InferenceWorkers() { Stop(); }

void InferenceWorkers::Start() {
  if (!threads_.empty() || stopping()) return;
  for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this, i] { Loop(i); });
}

void InferenceWorkers::Stop() {
  stopping_.store(true, std::memory_order_release);
  Notify();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void InferenceWorkers::Cancel(int64_t id) {
  {
    MutexLock lock(&mu_);
    auto it = running_.find(id);
    if (it != running_.end()) it->second->store(true, std::memory_order_release);
  }
  Notify();
}

void InferenceWorkers::Notify() {
  {
    MutexLock lock(&mu_);
    ++generation_;
  }
  cv_.SignalAll();
}

void InferenceWorkers::Loop(int index) {
  const std::string worker = StrCat(options_.name, "-", ::getpid(), "-", index);
  while (!stopping()) {
    uint64_t seen = 0;
    {
      MutexLock lock(&mu_);
      seen = generation_;
    }
    StatusOr<std::optional<InferenceRecord>> claimed =
        store_->ClaimInference(worker, options_.lease_ms);
    if (claimed.ok() && claimed->has_value()) {
      const int64_t id = (*claimed)->id;
      JobRun run(*this, worker, std::move(**claimed));
      {
        MutexLock lock(&mu_);
        running_[id] = run.drop_flag();
      }
      run.Run();
      {
        MutexLock lock(&mu_);
        running_.erase(id);
      }
      continue;
    }
    if (!claimed.ok()) {
      Log(LogLevel::kError, "job_claim_failed",
          {{"error", std::string(ToStd(claimed.status().message()))}});
    }
    MutexLock lock(&mu_);
    const auto deadline = std::chrono::steady_clock::now() + options_.idle_poll;
    while (!stopping() && generation_ == seen) {
      if (cv_.WaitUntil(&mu_, deadline)) break;
    }
  }
}

}  // namespace infera
