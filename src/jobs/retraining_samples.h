// The training samples of a retraining job (issue 18): the current mask of every image of
// each annotation set, with the image it annotates, read from the stores and decoded.
//
//   semantic sets   -> class masks (label ids as drawn; 0 background)
//   instance sets   -> instance masks for runners that train on instances (cellpose),
//                      class masks (each instance painted with its class from the set's
//                      `classes`, else the set's first label) for the others
//
// `classify` trains from one label per image, which annotation sets do not hold (their
// kinds are semantic and instances; there is no "image labels" kind yet): it is refused
// with InvalidArgument saying so. Cellpose needs instance sets: a semantic set is refused.
// Images of DICOM sources are their first frame, windowed with the file's window (as a job
// with no window runs them).
//
// Thread-safety: a pure function of the stores' contents (the stores are thread-safe).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "imaging/codec.h"
#include "store/annotation_store.h"
#include "store/blob_store.h"
#include "store/store.h"
#include "training/trainer.h"

namespace infera {

struct RetrainingData {
  std::vector<TrainingSample> samples;  // by set, then by source file id
  // What was used, for the training record: [{"id", "name", "dataset_id", "kind",
  // "revisions": {"<source file id>": revision}}].
  nlohmann::json sets = nlohmann::json::array();
};

// InvalidArgument for a runner the sets cannot train (see above) or a set with no masks;
// NotFound for a set that is gone; the stores' and decoders' errors (naming the image)
// otherwise.
StatusOr<RetrainingData> LoadRetrainingSamples(Store& store, AnnotationStore& annotations,
                                               BlobStore& blobs,
                                               const std::vector<int64_t>& set_ids,
                                               std::string_view runner, const DecodeLimits& limits);

// Whether sets of `kind` can train a model of `runner` (OK), else InvalidArgument saying
// why (the checks LoadRetrainingSamples makes, for the API to answer at start).
Status CheckSetsTrainRunner(AnnotationKind kind, int64_t set_id, std::string_view runner);

}  // namespace infera
