// The training samples of a retraining job (issue 18): the current mask of every image of
// each annotation set, with the image it annotates, read from the stores and decoded.
//
//   semantic sets      -> class masks (label ids as drawn; 0 background)
//   instance sets      -> instance masks for runners that train on instances (cellpose),
//                         class masks (each instance painted with its class from the
//                         set's `classes`, else the set's first label) for the others
//   image_labels sets  -> one class per image (TrainingSample::image_label), for
//                         `classify` only: each label of the set is the model's label of
//                         the same name (the set's label ids mean nothing to the model);
//                         images without a label are skipped and counted
//
// `classify` trains only from image_labels sets and image_labels sets train only
// `classify`; cellpose needs instance sets: anything else is refused with InvalidArgument
// saying so.
// Images of DICOM sources are their first frame, windowed with the file's window (as a job
// with no window runs them).
//
// Thread-safety: a pure function of the stores' contents (the stores are thread-safe).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
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
  // "revisions": {"<source file id>": revision}}] (image_labels sets also "unlabelled":
  // the images of the dataset without a label, skipped).
  nlohmann::json sets = nlohmann::json::array();
  int64_t unlabelled = 0;  // images of image_labels sets' datasets without a label, skipped
};

// InvalidArgument for a runner the sets cannot train (see above), a set with no masks or
// labels, or a label the model does not have; NotFound for a set that is gone; the
// stores' and decoders' errors (naming the image) otherwise. `model_labels` are the
// labels of the model trained (its class names, index = class), for image_labels sets.
StatusOr<RetrainingData> LoadRetrainingSamples(Store& store, AnnotationStore& annotations,
                                               BlobStore& blobs,
                                               const std::vector<int64_t>& set_ids,
                                               std::string_view runner,
                                               const std::vector<std::string>& model_labels,
                                               const DecodeLimits& limits);

// Whether sets of `kind` can train a model of `runner` (OK), else InvalidArgument saying
// why (the checks LoadRetrainingSamples makes, for the API to answer at start).
Status CheckSetsTrainRunner(AnnotationKind kind, int64_t set_id, std::string_view runner);

// For an image_labels set: the model's class index of each label id the set's images use
// (by name). InvalidArgument naming every used label the model does not have (and the
// model's labels), or when the model names no labels.
StatusOr<std::map<int, int>> MapImageLabelsToModel(AnnotationStore& annotations,
                                                   const AnnotationSetRecord& set,
                                                   const std::vector<std::string>& model_labels);

}  // namespace infera
