// Checks of a DICOM Segmentation file with tools outside infera: dicom3tools' dciodvfy
// (the IOD validator) and pydicom (/usr/bin/python3), which reads it back into masks.
// Neither is optional: a missing tool is reported (ran / ok false) for the test to fail.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace infera::testing {

struct DciodvfyReport {
  bool ran = false;                   // false: /usr/bin/dciodvfy missing or did not run
  std::vector<std::string> errors;    // its "Error - ..." lines
  std::vector<std::string> warnings;  // its "Warning - ..." lines
  std::string output;                 // everything it printed
};

// Runs dciodvfy on `file`.
DciodvfyReport RunDciodvfy(const std::filesystem::path& file);

// A SEG read back with pydicom.
struct PydicomSeg {
  bool ok = false;
  std::string error;  // why not ok
  // {modality, sop_class_uid, sop_instance_uid, series_instance_uid, study_instance_uid,
  //  patient_id, patient_name, frame_of_reference_uid, series_description,
  //  content_creator_name, segmentation_type, rows, columns, frames,
  //  segments: [{number, label, algorithm_type, algorithm_name, algorithm_version}],
  //  referenced_instances: [sop_instance_uid...] (Common Instance Reference),
  //  frame_info: [{segment, source, referenced_frames, position}]}
  nlohmann::json header;
  // Segment number -> referenced SOP instance UID -> rows * columns bytes, 0 or 1
  // (pydicom's pixel_array of the frames).
  std::map<int, std::map<std::string, std::vector<uint8_t>>> masks;
};

PydicomSeg ReadSegWithPydicom(const std::filesystem::path& file);

}  // namespace infera::testing
