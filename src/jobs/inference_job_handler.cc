#include "jobs/inference_job_handler.h"

#include <unistd.h>

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "common/logging.h"
#include "common/out_of_space.h"
#include "common/strings.h"
#include "datasets/ingest.h"
#include "dicom/dicom_image.h"
#include "dicom/windowing.h"
#include "jobs/dicom_seg_job.h"
#include "models/model.h"
#include "runners/runner_registry.h"
#include "store/blob_lifetime.h"
#include "tracing/span.h"

namespace infera {

namespace {

using SteadyClock = std::chrono::steady_clock;

double MsBetween(SteadyClock::time_point a, SteadyClock::time_point b) {
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
// the pipeline callbacks, which only push onto `completed_`.
class InferenceJobHandler::JobRun {
 public:
  JobRun(const InferenceJobHandler& owner, JobContext& ctx, InferenceRecord job)
      : owner_(owner), ctx_(ctx), job_(std::move(job)) {}

  JobOutcome Run() {
    start_ = SteadyClock::now();
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
    // DICOM inputs: the job's window (checked at start), else the model's, else the file's.
    nlohmann::json window = model_->description().window;
    if (raw.is_object() && raw.contains("window")) {
      window = raw["window"];
      raw.erase("window");
    }
    if (!window.is_null()) {
      StatusOr<WindowSpec> spec = ParseWindowSpec(window);
      if (!spec.ok())
        return Finish(JobStatus::kFailed, std::string(ToStd(spec.status().message())));
      window_ = *spec;
    }
    StatusOr<nlohmann::json> params = runner_->ResolveParams(raw, model_->description());
    if (!params.ok())
      return Finish(JobStatus::kFailed, std::string(ToStd(params.status().message())));
    params_ = std::move(*params);

    StatusOr<std::vector<FileRecord>> files = owner_.store_->ListDatasetFiles(job_.dataset_id);
    if (!files.ok())
      return Finish(JobStatus::kFailed, std::string(ToStd(files.status().message())));
    StatusOr<std::vector<JobResultRecord>> done = owner_.store_->ListJobResults(job_.id);
    if (!done.ok()) return Finish(JobStatus::kFailed, std::string(ToStd(done.status().message())));
    std::set<int64_t> finished;
    for (const JobResultRecord& r : *done) finished.insert(r.source_file_id);
    for (FileRecord& f : *files) {
      if (!finished.count(f.id)) pending_.push_back(std::move(f));
    }

    int max_in_flight = owner_.options_.max_in_flight;
    if (max_in_flight <= 0) {
      max_in_flight =
          static_cast<int>(2 * std::max<int64_t>(1, model_->config().batching.max_batch_size));
    }
    size_t next = 0;
    JobSignal signal = ctx_.Check();
    while (true) {
      // Out of space: no more images go in; those in flight finish (their results are
      // likely refused too, and are not counted as the images' errors).
      while (signal == JobSignal::kGoOn && out_of_space_.empty() && next < pending_.size() &&
             in_flight_ < max_in_flight) {
        Submit(pending_[next++], 1);
      }
      DrainRetries(signal);
      if (in_flight_ == 0 && retries_.empty() &&
          (signal != JobSignal::kGoOn || next >= pending_.size() || !out_of_space_.empty())) {
        break;
      }
      WaitAndHandle();
      if (signal == JobSignal::kGoOn) signal = ctx_.Check();
    }
    SweepDropped();
    if (ctx_.lost()) return JobOutcome::Release();  // ignored: another worker owns the job
    if (ctx_.canceled()) {
      return Finish(JobStatus::kCanceled, StrCat("canceled after ", processed_ + finished.size(),
                                                 " of ", files->size(), " images"));
    }
    // Every image must have a result or an error before the job may say `completed`.
    const int64_t unresolved = static_cast<int64_t>(pending_.size()) - processed_ - duplicates_;
    if (signal == JobSignal::kStop && unresolved > 0) return JobOutcome::Release();
    if (!out_of_space_.empty() && unresolved > 0) {
      // Not the images' fault: they get no error. The job fails with a note that says
      // what to do; a retry (POST /api/inferences/{id}/retry) runs only these images.
      return Finish(JobStatus::kFailed,
                    StrCat("out of disk space: ", unresolved, " of ", pending_.size(),
                           " images have no result yet (", out_of_space_,
                           "); free space, then retry the job: it keeps its results and runs "
                           "only those images"));
    }
    if (unresolved > 0) {
      return Finish(JobStatus::kFailed,
                    StrCat(unresolved, " of ", pending_.size(),
                           " images have no result: the store refused them (", last_save_error_,
                           "); starting the job again retries them"));
    }
    std::string note;
    if (failed_ > 0) note = StrCat(failed_, " of ", processed_, " images failed");
    // DICOM input: a SEG per series, now that every image has its mask.
    DicomSegJob seg_job{job_.id,         job_.dataset_id,       job_.runner_name,
                        job_.model_name, job_.model_version,    &model_->description(),
                        ctx_.worker(),   owner_.options_.decode};
    StatusOr<DicomSegOutput> segs = WriteJobDicomSegs(*owner_.store_, *owner_.blobs_, seg_job);
    if (!segs.ok()) {
      if (segs.status().code() == absl::StatusCode::kFailedPrecondition) {
        ctx_.MarkLost();  // another worker owns the job now
        return JobOutcome::Release();
      }
      if (IsOutOfSpace(segs.status())) {
        return Finish(
            JobStatus::kFailed,
            StrCat("out of disk space writing the DICOM SEG files (", segs.status().message(),
                   "); free space, then retry the job: it keeps its results"));
      }
      note = StrCat(note, note.empty() ? "" : "; ",
                    "DICOM SEG not written: ", segs.status().message());
    } else {
      dicom_seg_ = std::move(segs->files);
      for (const std::string& skipped : segs->skipped) {
        note = StrCat(note, note.empty() ? "" : "; ", "no DICOM SEG for ", skipped);
      }
    }
    return Finish(JobStatus::kCompleted, note);
  }

 private:
  // One image on its way through the model.
  struct Flight {
    FileRecord file;
    int attempt = 1;
    SteadyClock::time_point start;
    std::shared_ptr<TraceSpan> span;  // "image", a child of the job's span (null: untraced)
  };
  struct Completion {
    std::shared_ptr<Flight> flight;
    StatusOr<ImageResult> result;
  };

  // No more images go in once the job is canceled, lost or the workers stop.
  bool halted() const {
    return ctx_.lost() || ctx_.canceled() || ctx_.halt_flag()->load(std::memory_order_acquire) ||
           ctx_.stopping();
  }

  void Submit(const FileRecord& file, int attempt) {
    auto flight = std::make_shared<Flight>();
    flight->file = file;
    flight->attempt = attempt;
    flight->start = SteadyClock::now();
    flight->span = StartChildSpan(ctx_.span(), "image");
    if (flight->span != nullptr) {
      flight->span->SetAttribute("infera.file.id", file.id);
      flight->span->SetAttribute("infera.file.name", file.filename);
      flight->span->SetAttribute("infera.image.attempt", static_cast<int64_t>(attempt));
      flight->span->SetAttribute("infera.model.name", model_->config().name);
      flight->span->SetAttribute("infera.model.version", model_->config().version);
    }
    StatusOr<std::string> bytes = owner_.blobs_->Get(file.sha256);
    if (!bytes.ok())
      return RecordError(*flight, StrCat("cannot read the file: ", bytes.status().message()));
    std::span<const std::byte> span(reinterpret_cast<const std::byte*>(bytes->data()),
                                    bytes->size());
    std::shared_ptr<TraceSpan> preprocess = StartChildSpan(flight->span, "preprocess");
    StatusOr<PreparedImage> prepared =
        LooksLikeDicom(span) ? PrepareDicom(span)
                             : ImagePipeline::Prepare(*runner_, model_->description(), span,
                                                      params_, owner_.options_.decode);
    EndSpan(preprocess.get(), prepared.status());
    if (!prepared.ok())
      return RecordError(*flight, std::string(ToStd(prepared.status().message())));
    ++in_flight_;
    RequestContext rc;
    rc.request_id = StrCat("job-", job_.id, "/", file.id);
    rc.priority = owner_.options_.priority;
    rc.canceled = ctx_.halt_flag();
    rc.span = flight->span;
    owner_.pipeline_->Submit(model_, std::move(*prepared), rc,
                             [this, flight](StatusOr<ImageResult> r) {
                               // Notified under the lock: once the lock is released the run
                               // may end and go away.
                               MutexLock lock(&mu_);
                               completed_.push_back(Completion{flight, std::move(r)});
                               cv_.Signal();
                             });
  }

  // A DICOM source: its first frame, windowed to 8-bit grey (colour frames as RGB).
  StatusOr<PreparedImage> PrepareDicom(std::span<const std::byte> bytes) {
    const SteadyClock::time_point start = SteadyClock::now();
    DicomLimits limits;
    limits.max_pixels = owner_.options_.decode.max_pixels;
    limits.max_bytes = owner_.options_.decode.max_bytes;
    StatusOr<DicomPixels> pixels = DecodeDicom(bytes, limits);
    if (!pixels.ok()) {
      return absl::InvalidArgumentError(
          StrCat("cannot decode this DICOM file: ", pixels.status().message()));
    }
    Image image = DisplayFrame(*pixels, 0, window_);
    const double decode_ms = MsBetween(start, SteadyClock::now());
    ASSIGN_OR_RETURN(PreparedImage prepared, ImagePipeline::Prepare(*runner_, model_->description(),
                                                                    std::move(image), params_));
    prepared.timings.decode_ms = decode_ms;
    return prepared;
  }

  void WaitAndHandle() {
    std::deque<Completion> batch;
    {
      MutexLock lock(&mu_);
      // Short waits: the context's Check (cancel requests, the lease) runs between them.
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
    if (ctx_.canceled() || ctx_.lost()) return;
    if (c.result.status().code() == absl::StatusCode::kCancelled) return;
    if (!c.result.ok()) {
      // A full queue or an expired wait is the server being busy, not the image's fault.
      if (c.result.status().code() == absl::StatusCode::kUnavailable &&
          f.attempt < kMaxAttemptsPerImage && !halted()) {
        retries_.push_back({f.file, f.attempt + 1,
                            SteadyClock::now() + std::chrono::milliseconds(200 * f.attempt)});
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
      if (!blob.ok()) {
        // Outputs already written for this image: swept at the end.
        for (const FileRecord& out : outputs) dropped_blobs_.push_back(out.sha256);
        if (IsOutOfSpace(blob.status())) return OutOfSpace(blob.status());
        return RecordError(f, std::string(ToStd(blob.status().message())));
      }
      pins.push_back(std::move(blob->pin));
      FileRecord file;
      file.owner_id = job_.owner_id;
      file.job_id = job_.id;
      file.role = artifact.kind;
      file.filename =
          ArtifactFilename(f.file.filename, artifact.kind, ArtifactExtension(artifact.format));
      file.content_type = std::string(ArtifactContentType(artifact.format));
      file.sha256 = blob->info.sha256;
      file.size = blob->info.size;
      DescribeImage(artifact.image, &file);
      outputs.push_back(std::move(file));
    }
    const SteadyClock::time_point end = SteadyClock::now();
    const PipelineTimings& t = c.result->timings;
    totals_.decode_ms += t.decode_ms;
    totals_.preprocess_ms += t.preprocess_ms;
    totals_.queue_ms += t.queue_ms;
    totals_.compute_ms += t.compute_ms;
    totals_.postprocess_ms += t.postprocess_ms;
    JobResultRecord result;
    result.job_id = job_.id;
    result.source_file_id = f.file.id;
    result.source_filename = f.file.filename;
    result.summary_json = c.result->summary.dump();
    result.elapsed_ms = MsBetween(f.start, end);
    Save(result, outputs, f.span.get());
  }

  void RecordError(const Flight& f, std::string error) {
    JobResultRecord result;
    result.job_id = job_.id;
    result.source_file_id = f.file.id;
    result.source_filename = f.file.filename;
    result.error = std::move(error);
    result.elapsed_ms = MsBetween(f.start, SteadyClock::now());
    Save(result, {}, f.span.get());
  }

  // Saves an image's result; ends its span (`image_span`, may be null), an error when the
  // image failed.
  void Save(const JobResultRecord& result, const std::vector<FileRecord>& outputs,
            TraceSpan* image_span) {
    if (ctx_.lost()) return;
    std::shared_ptr<TraceSpan> store_call = StartChildSpan(image_span, "store save result");
    if (store_call != nullptr) {
      if (!result.error.empty()) image_span->SetStatus(SpanStatusCode::kError, result.error);
      store_call->SetAttribute("db.operation.name", std::string("add_job_result"));
    }
    StatusOr<JobResultRecord> saved = owner_.store_->AddJobResult(result, outputs, ctx_.worker());
    EndSpan(store_call.get(), saved.status());
    if (image_span != nullptr) image_span->End();
    if (saved.ok()) {
      ++processed_;
      if (!result.error.empty()) ++failed_;
      return;
    }
    if (IsOutOfSpace(saved.status())) {
      OutOfSpace(saved.status());
    } else if (saved.status().code() == absl::StatusCode::kFailedPrecondition) {
      ctx_.MarkLost();  // another worker owns the job now
    } else if (saved.status().code() == absl::StatusCode::kAlreadyExists) {
      ++duplicates_;
    } else {
      last_save_error_ = std::string(ToStd(saved.status().message()));
      Log(LogLevel::kError, "job_result_not_saved",
          {{"inference_id", std::to_string(job_.id)},
           {"file", result.source_filename},
           {"error", std::string(ToStd(saved.status().message()))}});
    }
    // Outputs no record took: swept when the job ends (pins released by then).
    for (const FileRecord& out : outputs) dropped_blobs_.push_back(out.sha256);
  }

  // The disk is full (a blob or the store refused a write): remembered once; the run
  // submits no more images and ends failed with a note (see Run).
  void OutOfSpace(const Status& status) {
    if (!out_of_space_.empty()) return;
    out_of_space_ = std::string(ToStd(status.message()));
    Log(LogLevel::kError, "job_out_of_space",
        {{"inference_id", std::to_string(job_.id)}, {"error", out_of_space_}});
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

  void DrainRetries(JobSignal signal) {
    const SteadyClock::time_point now = SteadyClock::now();
    while (!retries_.empty() && signal == JobSignal::kGoOn && !halted() && out_of_space_.empty() &&
           retries_.front().not_before <= now) {
      Retry r = retries_.front();
      retries_.pop_front();
      Submit(r.file, r.attempt);
    }
    if (signal != JobSignal::kGoOn || halted() || !out_of_space_.empty()) retries_.clear();
  }

  JobOutcome Finish(JobStatus status, std::string note) {
    const double wall_ms = MsBetween(start_, SteadyClock::now());
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
    // The report also lists the job's DICOM SEG files (jobs/dicom_seg_job.h); the API
    // shows them as the job's "dicom_seg" (inference_record.h).
    if (!dicom_seg_.empty()) timings["dicom_seg"] = dicom_seg_;
    Log(LogLevel::kInfo, "inference_job_ended",
        {{"inference_id", std::to_string(job_.id)},
         {"model", job_.model_name},
         {"status", std::string(JobStatusName(status))},
         {"images", std::to_string(processed_)},
         {"failed", std::to_string(failed_)}});
    return JobOutcome::Finish(status, std::move(note), timings.dump());
  }

  struct Retry {
    FileRecord file;
    int attempt = 1;
    SteadyClock::time_point not_before;
  };
  struct Totals {
    double decode_ms = 0, preprocess_ms = 0, queue_ms = 0, compute_ms = 0, postprocess_ms = 0;
  };

  const InferenceJobHandler& owner_;
  JobContext& ctx_;
  const InferenceRecord job_;
  const Runner* runner_ = nullptr;
  std::shared_ptr<Model> model_;
  nlohmann::json params_;
  WindowSpec window_;                                   // DICOM inputs
  nlohmann::json dicom_seg_ = nlohmann::json::array();  // the SEG files written (DICOM inputs)
  std::vector<FileRecord> pending_;
  std::vector<std::string> dropped_blobs_;  // outputs written but not recorded
  std::deque<Retry> retries_;
  int in_flight_ = 0;
  int64_t processed_ = 0;
  int64_t failed_ = 0;
  int64_t duplicates_ = 0;       // results another run had saved already
  std::string last_save_error_;  // why the store last refused a result
  std::string out_of_space_;     // non-empty once a write failed for lack of space
  Totals totals_;
  SteadyClock::time_point start_;

  Mutex mu_;
  CondVar cv_;
  std::deque<Completion> completed_ GUARDED_BY(mu_);
};

InferenceJobHandler::InferenceJobHandler(Store* store, BlobStore* blobs, ModelRegistry* models,
                                         ImagePipeline* pipeline, InferenceJobOptions options)
    : store_(store), blobs_(blobs), models_(models), pipeline_(pipeline), options_(options) {}

JobOutcome InferenceJobHandler::Run(JobContext& ctx) {
  StatusOr<InferenceRecord> job = InferenceOf(ctx.job());
  if (!job.ok()) {
    return JobOutcome::Finish(JobStatus::kFailed, std::string(ToStd(job.status().message())));
  }
  JobRun run(*this, ctx, std::move(*job));
  return run.Run();
}

}  // namespace infera
