// RankImages: active learning's ranking of a dataset's images for annotation
// (POST /api/datasets/{id}/rank; api/routes/api_rank.cc checks the request and picks the
// candidates). The model strategies run every candidate through the one serving core:
//
//   blob -> decode (DICOM: the first frame, windowed as jobs do) -> serving/ImagePipeline
//   (Prepare: Runner::Preprocess on the calling thread; SubmitForOutputs: the model's
//   batcher at `options.priority`, below online requests, as jobs) -> on a pipeline
//   worker Runner::Probabilities -> the score (active_learning/uncertainty.h,
//   flip_agreement.h)
//
// `tta` runs each image three times: as it is, flipped left-right and flipped top-bottom;
// the flipped predictions are flipped back and compared with the first.
//
// Bounds (synchronous, one blocking thread of the caller): at most `max_images`
// candidates are scored (the first ones in dataset order), at most `max_in_flight`
// images are in the model at once, and scoring stops at `time_budget`: the images not
// scored by then are counted as `unscored` and `truncated` is set (what was scored is
// still ranked). `random` and `first` score every candidate at once without a model.
// An image that cannot be read or run is reported in `failed` and left out.
//
// Thread-safety: RankImages may be called from several threads at once; the blob store
// and pipeline must be thread-safe (they are) and outlive the call. Callbacks that come
// back after a truncated call ends touch only state they share ownership of.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "active_learning/rank_strategy.h"
#include "common/status.h"
#include "imaging/codec.h"
#include "serving/image_pipeline.h"
#include "store/blob_store.h"
#include "store/store.h"

namespace infera {

class Model;

struct RankOptions {
  int priority = 10;          // batcher priority of the images (jobs.priority)
  int64_t max_images = 1000;  // candidates scored per request (model strategies)
  std::chrono::milliseconds time_budget{120'000};  // wall time of the scoring
  int max_in_flight = 0;  // images in the model at once; 0: 2 x max_batch_size
  DecodeLimits decode;
};

struct RankRequest {
  RankStrategy strategy = RankStrategy::kFirst;
  std::shared_ptr<Model> model;  // required for uncertainty and tta; ignored otherwise
  nlohmann::json params;         // the runner's params, resolved (Runner::ResolveParams)
  uint64_t seed = 0;             // random
  // The images to rank, in dataset order (already-annotated ones left out by the caller).
  std::vector<FileRecord> candidates;
  std::string request_id;  // for the batcher's logs
};

struct RankFailure {
  int64_t file_id = 0;
  std::string filename;
  std::string error;
};

struct RankResult {
  std::vector<ScoredImage> images;  // best first (SortBestFirst)
  int64_t candidates = 0;           // request.candidates.size()
  std::vector<RankFailure> failed;  // could not be read or run
  int64_t unscored = 0;             // beyond max_images or the time budget
  bool truncated = false;           // unscored > 0
  double seconds = 0;
};

// Ranks `request.candidates` as the header says. InvalidArgument when a model strategy
// has no model, or when the model's runner does not expose probabilities (naming the
// runners that do); per-image errors go to `failed`.
StatusOr<RankResult> RankImages(const RankRequest& request, BlobStore& blobs,
                                ImagePipeline& pipeline, const RankOptions& options);

}  // namespace infera
