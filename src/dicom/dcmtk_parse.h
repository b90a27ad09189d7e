// Parsing a DICOM Part 10 file from memory with DCMTK. Internal to dicom/.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "common/status.h"

class DcmFileFormat;

namespace infera::dicom_internal {

// Parses `bytes` (which must outlive the result only for the call) into a DcmFileFormat;
// until_pixels stops before the pixel data. InvalidArgument when the bytes are not a
// Part 10 file (no "DICM" after the preamble) or end early / are malformed; the
// message quotes no value of the file. Calls EnsureDcmtk. Thread-safe.
StatusOr<std::unique_ptr<DcmFileFormat>> ParseDicom(std::span<const std::byte> bytes,
                                                    bool until_pixels);

}  // namespace infera::dicom_internal
