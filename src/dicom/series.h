// Grouping DICOM instances into series and ordering them: by SeriesInstanceUID, then
// along the slice normal (ImagePositionPatient projected on the cross product of
// ImageOrientationPatient's row and column directions) when every instance has both,
// else by InstanceNumber, then SOPInstanceUID. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "dicom/dicom_image.h"

namespace infera {

struct DicomSeries {
  std::string series_instance_uid;  // "" for instances without one (grouped together)
  std::string study_instance_uid;   // the first member's
  std::string modality;             // the first member's
  // Indexes into the instances given to GroupSeries, in slice order.
  std::vector<size_t> members;
  // How `members` were ordered: "position", "instance_number" or "sop_instance_uid".
  std::string ordered_by;
};

// The series of `instances`, in the order their first member appears.
std::vector<DicomSeries> GroupSeries(std::span<const DicomInstanceInfo> instances);

// Why `candidate` cannot join a series whose first member is `first` (different Rows,
// Columns, SamplesPerPixel or PhotometricInterpretation family); "" when it can.
std::string SeriesMismatch(const DicomInstanceInfo& first, const DicomInstanceInfo& candidate);

}  // namespace infera
