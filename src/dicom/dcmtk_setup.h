// Process-wide DCMTK set-up shared by the files of dicom/: the decompression codecs
// registered and DCMTK's logger silenced, once (std::call_once). Internal to dicom/.
#pragma once

namespace infera::dicom_internal {

// Registers the RLE, JPEG (baseline, extended, lossless) and JPEG-LS decoders and
// raises DCMTK's log threshold above ERROR's, so that no DCMTK message (which may quote
// attribute values) reaches stderr. Idempotent and thread-safe.
void EnsureDcmtk();

}  // namespace infera::dicom_internal
