// The DICOM SEG output of an inference job on DICOM input (issue 21): when every image of
// the job has a result, one DICOM Segmentation object per series of its input
// (dicom/seg_writer.h) from the images' class masks, stored as a job-level file
// (Store::AddJobFile) of role "dicom_seg", content type application/dicom, named
// "<source SeriesInstanceUID>.seg.dcm".
//
// The segments come from the runner and the model's labels (MaskSegments):
//   binary_sigmoid  one segment, the 255 pixels: the model's second label (its first when it
//                   has one), else "foreground";
//   cellpose        one segment "cell": every cell's pixels (the class mask; the
//                   instance ids stay in the PNG instance masks);
//   any other       (multiclass_argmax, custom_tiff's label output, ...) one segment per
//                   label after the first (index 0 is the background) — every label of
//                   the model, present in the masks or not — plus "class <k>" for mask
//                   values above the labels; without labels, one per value present.
// A series whose images all failed, or a model with no class mask (a classifier), gets
// no SEG. The SEG references the instances that have a mask (an image that failed is left
// out), in slice order (dicom/series.h), each with its frame 0 (what the job ran).
//
// Idempotent: a series whose file the job already has (a run that resumed after a crash)
// is not written again (and the store's unique rule refuses a second one); its entry is
// rebuilt from the stored file. The SEG's UIDs are derived from the job and the source
// series (2.25. UIDs), so a rerun writes the same ones.
//
// Thread-safety: a pure function over the store and blob store (thread-safe).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "dicom/seg_writer.h"
#include "imaging/codec.h"
#include "imaging/image.h"
#include "runners/model_description.h"
#include "store/blob_store.h"
#include "store/store.h"

namespace infera {

// The role (and the folder of the job's ZIP) of a job's DICOM SEG files.
inline constexpr std::string_view kDicomSegRole = "dicom_seg";

// The segments of `runner`'s class masks for `model` (see the file comment); `masks`
// are read only for values above the labels. Empty when there is nothing to segment.
std::vector<SegSegment> MaskSegments(std::string_view runner, const ModelDescription& model,
                                     const std::vector<const Image*>& masks);

struct DicomSegJob {
  int64_t job_id = 0;
  int64_t dataset_id = 0;
  std::string runner;
  std::string model_name;
  int64_t model_version = 0;
  const ModelDescription* model = nullptr;
  std::string worker;  // the lease holder (Store::AddJobFile)
  DecodeLimits decode;
};

struct DicomSegOutput {
  // [{series_uid, file_id, filename, frames, segments: [{number, label, value}]}], in the
  // order of the series' first instance among the dataset's files.
  nlohmann::json files = nlohmann::json::array();
  // Why a series got no SEG ("series <n>: ..."), for the job's note.
  std::vector<std::string> skipped;
};

// Writes the SEG files the job does not have yet. Errors: the store's and blob store's
// (out of space included: common/out_of_space.h), FailedPrecondition when the job's
// lease is lost. A series that cannot be written (a mask that does not fit its image) is
// named in `skipped`, not an error.
StatusOr<DicomSegOutput> WriteJobDicomSegs(Store& store, BlobStore& blobs, const DicomSegJob& job);

}  // namespace infera
