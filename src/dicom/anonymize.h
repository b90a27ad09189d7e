// De-identification of a DICOM file: the Basic Application Level Confidentiality
// Profile of PS3.15 Annex E (table E.1-1), for the attributes infera's inputs carry.
//
// - Patient name becomes "ANONYMIZED"; patient id a pseudonym ("ANON-" and 12 hex
//   digits of SHA-256(salt, id)), so that two patients of a dataset stay two;
// - the other identifying attributes of the profile (birth date, sex, dates and times of
//   the study, accession number, physicians, institution, station, descriptions,
//   comments, ...) are emptied (type 2) or removed (type 3), at every level;
// - every UID that is not a DICOM-defined one (1.2.840.10008.*) — study, series,
//   instance, frame of reference, the references to other instances — is replaced by
//   "2.25." and 128 bits of SHA-256(salt, uid): the same UID maps to the same new one
//   for the same salt, so the instances of a series stay a series and references hold;
// - private attributes are removed; PatientIdentityRemoved is YES and
//   DeidentificationMethod names the profile.
// The pixel data is kept as it is (burnt-in text is not looked for). Errors as
// DecodeDicom's (InvalidArgument, no value quoted). Thread-safe.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace infera {

struct AnonymizeOptions {
  // Mixed into every pseudonym (UIDs, patient id); the caller keeps it secret and stable
  // for as long as uploads must land in the same series.
  std::string salt;
};

// The file's bytes, de-identified (same transfer syntax).
StatusOr<std::vector<std::byte>> AnonymizeDicom(std::span<const std::byte> bytes,
                                                const AnonymizeOptions& options);

// "2.25." + the decimal of the first 128 bits of SHA-256(salt, "\0", uid).
std::string PseudonymousUid(std::string_view uid, std::string_view salt);

}  // namespace infera
