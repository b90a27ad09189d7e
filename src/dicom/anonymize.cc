#include "dicom/anonymize.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcostrmb.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcvrui.h>

#include <cstring>

#include "common/hex.h"
#include "common/sha256.h"
#include "common/strings.h"
#include "dicom/dcmtk_parse.h"

namespace infera {

namespace {

// Type 2 attributes the profile empties (Z): they stay, without a value.
const DcmTagKey kEmptied[] = {
    DCM_PatientBirthDate, DCM_PatientSex,  DCM_ReferringPhysicianName,
    DCM_StudyDate,        DCM_StudyTime,   DCM_StudyID,
    DCM_AccessionNumber,  DCM_ContentDate, DCM_ContentTime,
    DCM_SeriesDate,       DCM_SeriesTime,
};

// Attributes the profile removes (X) or that only identify.
const DcmTagKey kRemoved[] = {
    DCM_PatientAge,
    DCM_PatientSize,
    DCM_PatientWeight,
    DCM_PatientAddress,
    DCM_OtherPatientIDsSequence,
    DCM_RETIRED_OtherPatientIDs,
    DCM_OtherPatientNames,
    DCM_PatientBirthTime,
    DCM_PatientMotherBirthName,
    DCM_PatientTelephoneNumbers,
    DCM_EthnicGroup,
    DCM_Occupation,
    DCM_AdditionalPatientHistory,
    DCM_PatientComments,
    DCM_MilitaryRank,
    DCM_BranchOfService,
    DCM_CountryOfResidence,
    DCM_RegionOfResidence,
    DCM_PatientReligiousPreference,
    DCM_PatientState,
    DCM_IssuerOfPatientID,
    DCM_ResponsiblePerson,
    DCM_InstitutionName,
    DCM_InstitutionAddress,
    DCM_InstitutionalDepartmentName,
    DCM_ReferringPhysicianAddress,
    DCM_ReferringPhysicianTelephoneNumbers,
    DCM_PhysiciansOfRecord,
    DCM_PerformingPhysicianName,
    DCM_NameOfPhysiciansReadingStudy,
    DCM_OperatorsName,
    DCM_RequestingPhysician,
    DCM_StationName,
    DCM_PerformedStationName,
    DCM_DeviceSerialNumber,
    DCM_AcquisitionDate,
    DCM_AcquisitionTime,
    DCM_AcquisitionDateTime,
    DCM_InstanceCreationDate,
    DCM_InstanceCreationTime,
    DCM_PerformedProcedureStepStartDate,
    DCM_PerformedProcedureStepID,
    DCM_PerformedProcedureStepDescription,
    DCM_StudyDescription,
    DCM_SeriesDescription,
    DCM_ProtocolName,
    DCM_ImageComments,
    DCM_AdmittingDiagnosesDescription,
    DCM_RequestAttributesSequence,
    DCM_ReferencedPatientSequence,
    DCM_ReferencedStudySequence,
};

constexpr std::string_view kDicomRoot = "1.2.840.10008.";

// Empties/removes the profile's attributes, drops private ones and replaces UIDs, in
// `item` and every item of its sequences.
void Scrub(DcmItem* item, std::string_view salt) {
  for (const DcmTagKey& tag : kRemoved) item->findAndDeleteElement(tag, OFFalse, OFFalse);
  for (const DcmTagKey& tag : kEmptied) {
    if (item->tagExists(tag)) item->putAndInsertString(tag, "");
  }
  for (unsigned long i = item->card(); i-- > 0;) {
    DcmElement* element = item->getElement(i);
    if (element == nullptr) continue;
    if (element->getTag().isPrivate()) {
      delete item->remove(i);
      continue;
    }
    if (element->ident() == EVR_SQ) {
      auto* sequence = static_cast<DcmSequenceOfItems*>(element);
      for (unsigned long k = 0; k < sequence->card(); ++k) Scrub(sequence->getItem(k), salt);
    } else if (element->ident() == EVR_UI) {
      OFString value;
      if (element->getOFStringArray(value).good() && !value.empty() &&
          std::string_view(value.c_str()).substr(0, kDicomRoot.size()) != kDicomRoot) {
        element->putString(PseudonymousUid(value.c_str(), salt).c_str());
      }
    }
  }
}

}  // namespace

std::string PseudonymousUid(std::string_view uid, std::string_view salt) {
  const std::string digest = Sha256Digest(StrCat(salt, std::string_view("\0", 1), uid));
  unsigned __int128 v = 0;
  for (int i = 0; i < 16; ++i) v = (v << 8) | static_cast<unsigned char>(digest[i]);
  std::string decimal;
  do {
    decimal.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  } while (v != 0);
  return StrCat("2.25.", std::string(decimal.rbegin(), decimal.rend()));
}

StatusOr<std::vector<std::byte>> AnonymizeDicom(std::span<const std::byte> bytes,
                                                const AnonymizeOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<DcmFileFormat> file,
                   dicom_internal::ParseDicom(bytes, /*until_pixels=*/false));
  DcmDataset* ds = file->getDataset();
  OFString patient_id;
  ds->findAndGetOFString(DCM_PatientID, patient_id);
  Scrub(ds, options.salt);
  ds->putAndInsertString(DCM_PatientName, "ANONYMIZED");
  ds->putAndInsertString(
      DCM_PatientID,
      StrCat("ANON-", HexEncode(Sha256Digest(StrCat(options.salt, std::string_view("\0", 1),
                                                    "patient:", patient_id.c_str())))
                          .substr(0, 12))
          .c_str());
  ds->putAndInsertString(DCM_PatientIdentityRemoved, "YES");
  ds->putAndInsertString(DCM_DeidentificationMethod,
                         "infera: PS3.15 Basic Application Level Confidentiality Profile");
  // The meta header names the instance too.
  DcmMetaInfo* meta = file->getMetaInfo();
  OFString sop;
  if (ds->findAndGetOFString(DCM_SOPInstanceUID, sop).good()) {
    meta->putAndInsertString(DCM_MediaStorageSOPInstanceUID, sop.c_str());
  }
  meta->findAndDeleteElement(DCM_SourceApplicationEntityTitle);
  meta->findAndDeleteElement(DCM_SendingApplicationEntityTitle);
  meta->findAndDeleteElement(DCM_ReceivingApplicationEntityTitle);

  const E_TransferSyntax xfer = ds->getOriginalXfer();
  std::vector<std::byte> out;
  std::vector<char> chunk(1 << 20);
  DcmOutputBufferStream stream(chunk.data(), chunk.size());
  file->transferInit();
  OFCondition cond;
  auto drain = [&] {
    void* data = nullptr;
    offile_off_t length = 0;
    stream.flushBuffer(data, length);
    const auto* p = static_cast<const std::byte*>(data);
    out.insert(out.end(), p, p + length);
  };
  while ((cond = file->write(stream, xfer, EET_ExplicitLength, nullptr)) == EC_StreamNotifyClient) {
    drain();
  }
  file->transferEnd();
  if (cond.bad()) {
    return absl::InvalidArgumentError(StrCat("cannot write the de-identified file: ", cond.text()));
  }
  drain();
  return out;
}

}  // namespace infera
