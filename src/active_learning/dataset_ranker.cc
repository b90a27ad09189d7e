#include "active_learning/dataset_ranker.h"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <utility>

#include "active_learning/flip_agreement.h"
#include "active_learning/uncertainty.h"
#include "common/mutex.h"
#include "common/strings.h"
#include "dicom/dicom_image.h"
#include "dicom/windowing.h"
#include "models/model.h"

namespace infera {

namespace {

using SteadyClock = std::chrono::steady_clock;

// The flips of one image: 0 as it is, then the flipped variants (tta).
constexpr int kVariantPlain = 0;
constexpr int kVariantHorizontal = 1;
constexpr int kVariantVertical = 2;

struct Completion {
  size_t index = 0;  // into the scored candidates
  int variant = kVariantPlain;
  StatusOr<RunnerProbabilities> probabilities;
};

// What the pipeline's callbacks share with the ranking thread; owned jointly, so that a
// callback arriving after a truncated ranking returned is harmless.
struct Shared {
  Mutex mu;
  CondVar cv;
  std::deque<Completion> done GUARDED_BY(mu);
};

// The image a candidate's blob decodes to: DICOM's first frame windowed (the model's
// window, else the file's), anything else through the image codecs.
StatusOr<Image> DecodeCandidate(const std::string& bytes, const Model& model,
                                const DecodeLimits& limits) {
  std::span<const std::byte> span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
  if (!LooksLikeDicom(span)) return DecodeImage(span, limits);
  WindowSpec window;
  if (!model.description().window.is_null()) {
    ASSIGN_OR_RETURN(window, ParseWindowSpec(model.description().window));
  }
  DicomLimits dicom;
  dicom.max_pixels = limits.max_pixels;
  dicom.max_bytes = limits.max_bytes;
  StatusOr<DicomPixels> pixels = DecodeDicom(span, dicom);
  if (!pixels.ok()) {
    return absl::InvalidArgumentError(
        StrCat("cannot decode this DICOM file: ", pixels.status().message()));
  }
  return DisplayFrame(*pixels, 0, window);
}

std::string Message(const Status& status) { return std::string(ToStd(status.message())); }

// Ranks without a model: random keys or dataset order.
RankResult RankWithoutModel(const RankRequest& request) {
  RankResult result;
  result.candidates = static_cast<int64_t>(request.candidates.size());
  for (size_t i = 0; i < request.candidates.size(); ++i) {
    const FileRecord& f = request.candidates[i];
    ScoredImage s;
    s.file_id = f.id;
    s.filename = f.filename;
    s.position = static_cast<int64_t>(i);
    s.score = request.strategy == RankStrategy::kRandom ? RandomScore(request.seed, f.id) : 0.0;
    result.images.push_back(std::move(s));
  }
  SortBestFirst(result.images);
  return result;
}

}  // namespace

StatusOr<RankResult> RankImages(const RankRequest& request, BlobStore& blobs,
                                ImagePipeline& pipeline, const RankOptions& options) {
  const SteadyClock::time_point start = SteadyClock::now();
  if (!StrategyNeedsModel(request.strategy)) {
    RankResult result = RankWithoutModel(request);
    result.seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
    return result;
  }
  if (request.model == nullptr) {
    return absl::InvalidArgumentError(
        StrCat("strategy '", RankStrategyName(request.strategy), "' needs a model_id"));
  }
  const std::shared_ptr<Model>& model = request.model;
  const Runner& runner = model->runner();
  const ModelDescription& description = model->description();
  const bool tta = request.strategy == RankStrategy::kTta;
  const int variants = tta ? 3 : 1;

  RankResult result;
  result.candidates = static_cast<int64_t>(request.candidates.size());
  const size_t n = std::min(request.candidates.size(),
                            static_cast<size_t>(std::max<int64_t>(0, options.max_images)));
  result.unscored = result.candidates - static_cast<int64_t>(n);
  int max_in_flight = options.max_in_flight;
  if (max_in_flight <= 0) {
    max_in_flight =
        static_cast<int>(2 * std::max<int64_t>(1, model->config().batching.max_batch_size));
  }
  const SteadyClock::time_point deadline = start + options.time_budget;

  auto shared = std::make_shared<Shared>();
  auto canceled = std::make_shared<std::atomic<bool>>(false);
  RequestContext rc;
  rc.priority = options.priority;
  rc.deadline = deadline;
  rc.canceled = canceled;

  // Per image in flight: the probabilities of each variant as they come back.
  std::map<size_t, std::vector<std::optional<RunnerProbabilities>>> pending;
  size_t next = 0;
  int64_t finished = 0;  // images scored, failed or out of time
  int64_t late = 0;      // images the batcher dropped at the time budget's end
  auto fail = [&](size_t index, std::string error) {
    const FileRecord& f = request.candidates[index];
    result.failed.push_back({f.id, f.filename, std::move(error)});
    ++finished;
  };

  // Queues image `index` (every variant) or records why it cannot be.
  auto submit = [&](size_t index) {
    const FileRecord& f = request.candidates[index];
    StatusOr<std::string> bytes = blobs.Get(f.sha256);
    if (!bytes.ok()) return fail(index, StrCat("cannot read the file: ", bytes.status().message()));
    StatusOr<Image> image = DecodeCandidate(*bytes, *model, options.decode);
    if (!image.ok()) return fail(index, Message(image.status()));
    std::vector<PreparedImage> prepared;
    for (int v = 0; v < variants; ++v) {
      Image variant = v == kVariantPlain        ? *image
                      : v == kVariantHorizontal ? Flip(*image, FlipAxis::kHorizontal)
                                                : Flip(*image, FlipAxis::kVertical);
      StatusOr<PreparedImage> p =
          ImagePipeline::Prepare(runner, description, std::move(variant), request.params);
      if (!p.ok()) return fail(index, Message(p.status()));
      prepared.push_back(std::move(*p));
    }
    pending[index].resize(static_cast<size_t>(variants));
    for (int v = 0; v < variants; ++v) {
      RequestContext ctx = rc;
      ctx.request_id = StrCat(request.request_id, "/rank/", f.id, "/", v);
      pipeline.SubmitForOutputs(
          model, std::move(prepared[static_cast<size_t>(v)]), ctx,
          [shared, index, v, model, params = request.params](StatusOr<ImageOutputs> out) {
            // On a pipeline worker: the runner's probabilities (cellpose reconstructs its
            // masks here), then handed to the ranking thread.
            Completion c;
            c.index = index;
            c.variant = v;
            if (!out.ok()) {
              c.probabilities = out.status();
            } else {
              c.probabilities = model->runner().Probabilities(
                  out->image.source, out->image.input, out->outputs, model->description(), params);
            }
            MutexLock lock(&shared->mu);
            shared->done.push_back(std::move(c));
            shared->cv.Signal();
          });
    }
  };

  // One variant back: when every variant of its image is, the image's score.
  auto handle = [&](Completion& c) -> Status {
    auto it = pending.find(c.index);
    if (it == pending.end()) return absl::OkStatus();  // the image already failed
    if (!c.probabilities.ok()) {
      const absl::StatusCode code = c.probabilities.status().code();
      if (code == absl::StatusCode::kUnimplemented) {
        return absl::InvalidArgumentError(
            StrCat("model '", description.name, "' cannot be ranked by '",
                   RankStrategyName(request.strategy), "': ", c.probabilities.status().message()));
      }
      pending.erase(it);
      // The batcher's deadline is the budget's end: what it dropped then was not scored,
      // not broken.
      if (SteadyClock::now() >= deadline &&
          (code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded ||
           code == absl::StatusCode::kCancelled)) {
        ++late;
        ++finished;
        return absl::OkStatus();
      }
      fail(c.index, Message(c.probabilities.status()));
      return absl::OkStatus();
    }
    RunnerProbabilities p = std::move(*c.probabilities);
    if (c.variant == kVariantHorizontal) {
      p.probabilities = Flip(p.probabilities, FlipAxis::kHorizontal);
    } else if (c.variant == kVariantVertical) {
      p.probabilities = Flip(p.probabilities, FlipAxis::kVertical);
    }
    it->second[static_cast<size_t>(c.variant)] = std::move(p);
    for (const auto& slot : it->second) {
      if (!slot.has_value()) return absl::OkStatus();
    }
    const FileRecord& f = request.candidates[c.index];
    ScoredImage s;
    s.file_id = f.id;
    s.filename = f.filename;
    s.position = static_cast<int64_t>(c.index);
    const RunnerProbabilities& plain = *it->second[kVariantPlain];
    if (tta) {
      std::vector<Image> flipped_back;
      flipped_back.push_back(std::move(it->second[kVariantHorizontal]->probabilities));
      flipped_back.push_back(std::move(it->second[kVariantVertical]->probabilities));
      StatusOr<double> d = FlipDisagreement(plain.probabilities, flipped_back);
      if (!d.ok()) {
        pending.erase(it);
        fail(c.index, Message(d.status()));
        return absl::OkStatus();
      }
      s.score = *d;
      s.details = {{"disagreement", *d}};
    } else {
      StatusOr<UncertaintyScore> u = ScoreUncertainty(plain);
      if (!u.ok()) {
        pending.erase(it);
        fail(c.index, Message(u.status()));
        return absl::OkStatus();
      }
      s.score = u->score;
      s.details = u->ToJson();
    }
    pending.erase(it);
    result.images.push_back(std::move(s));
    ++finished;
    return absl::OkStatus();
  };

  Status stop = absl::OkStatus();
  bool out_of_time = false;
  while (stop.ok() && finished < static_cast<int64_t>(n)) {
    while (next < n && static_cast<int>(pending.size()) < max_in_flight &&
           SteadyClock::now() < deadline) {
      submit(next++);
    }
    if (finished >= static_cast<int64_t>(n)) break;
    std::deque<Completion> batch;
    {
      MutexLock lock(&shared->mu);
      if (shared->done.empty()) shared->cv.WaitUntil(&shared->mu, deadline);
      batch.swap(shared->done);
    }
    for (Completion& c : batch) {
      stop = handle(c);
      if (!stop.ok()) break;
    }
    if (stop.ok() && batch.empty() && SteadyClock::now() >= deadline) {
      out_of_time = true;
      break;
    }
  }
  // Whatever is still queued is no longer wanted (a stop, or the time ran out).
  canceled->store(true, std::memory_order_release);
  RETURN_IF_ERROR(stop);
  result.unscored += late;
  if (out_of_time) result.unscored += static_cast<int64_t>(n) - finished;
  result.truncated = result.unscored > 0;
  SortBestFirst(result.images);
  result.seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  return result;
}

}  // namespace infera
