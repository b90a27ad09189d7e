#include "dicom/anonymize.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "dicom/dicom_image.h"
#include "support/dicom_fixtures.h"
#include "support/pydicom_files.h"
#include "support/status_matchers.h"
#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using testing::HavePydicom;
using testing::PydicomTestFiles;
using testing::ReadBytes;

TEST(AnonymizeTest, PseudonymousUidsAreStableValidAndSalted) {
  const std::string a = PseudonymousUid("1.2.3.4", "salt");
  EXPECT_EQ(a, PseudonymousUid("1.2.3.4", "salt"));
  EXPECT_NE(a, PseudonymousUid("1.2.3.5", "salt"));
  EXPECT_NE(a, PseudonymousUid("1.2.3.4", "other"));
  EXPECT_TRUE(a.starts_with("2.25."));
  EXPECT_LE(a.size(), 64u);
  EXPECT_NE(a[5], '0');
  for (char c : a.substr(5)) EXPECT_TRUE(c >= '0' && c <= '9') << a;
}

// The profile's attributes gone or emptied (read back with pydicom), UIDs replaced
// consistently, the pixels untouched.
TEST(AnonymizeTest, RemovesThePatientsDataAndKeepsThePixels) {
  if (!HavePydicom()) GTEST_SKIP() << "needs /usr/bin/python3 with pydicom";
  testing::TempDir tmp;
  // A CT file with the PHI a clinic's file carries, and a private attribute.
  const fs::path phi = tmp.path() / "phi.dcm";
  ASSERT_TRUE(testing::WriteEditedTestFile("CT_small.dcm",
                                           "ds.PatientName = 'DOE^JANE'\n"
                                           "ds.PatientID = 'MRN-0042'\n"
                                           "ds.PatientBirthDate = '19700101'\n"
                                           "ds.PatientAddress = '1 Main Street'\n"
                                           "ds.InstitutionName = 'General Hospital'\n"
                                           "ds.ReferringPhysicianName = 'WHO^DOCTOR'\n"
                                           "ds.AccessionNumber = 'ACC123'\n"
                                           "ds.StudyDescription = 'Jane chest'\n"
                                           "ds.add_new(0x00091010, 'LO', 'private secret')\n",
                                           phi));
  const std::vector<std::byte> original = ReadBytes(phi);
  ASSERT_OK_AND_ASSIGN(std::vector<std::byte> clean,
                       AnonymizeDicom(original, AnonymizeOptions{"dataset-7"}));
  const std::string text(reinterpret_cast<const char*>(clean.data()), clean.size());
  for (const char* secret :
       {"DOE^JANE", "MRN-0042", "19700101", "1 Main Street", "General Hospital", "WHO^DOCTOR",
        "ACC123", "Jane chest", "private secret"}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret;
  }
  ASSERT_OK_AND_ASSIGN(DicomInstanceInfo before, ReadDicomInfo(original));
  ASSERT_OK_AND_ASSIGN(DicomInstanceInfo after, ReadDicomInfo(clean));
  EXPECT_EQ(after.series_instance_uid, PseudonymousUid(before.series_instance_uid, "dataset-7"));
  EXPECT_EQ(after.study_instance_uid, PseudonymousUid(before.study_instance_uid, "dataset-7"));
  EXPECT_EQ(after.sop_instance_uid, PseudonymousUid(before.sop_instance_uid, "dataset-7"));
  EXPECT_EQ(after.sop_class_uid, before.sop_class_uid);  // a DICOM-defined UID stays
  ASSERT_OK_AND_ASSIGN(DicomPixels a, DecodeDicom(original));
  ASSERT_OK_AND_ASSIGN(DicomPixels b, DecodeDicom(clean));
  EXPECT_EQ(a.frames[0].data, b.frames[0].data);

  const fs::path out = tmp.path() / "clean.dcm";
  std::ofstream(out, std::ios::binary)
      .write(reinterpret_cast<const char*>(clean.data()),
             static_cast<std::streamsize>(clean.size()));
  ASSERT_TRUE(
      testing::RunPython(tmp.path(),
                         "import sys, pydicom\n"
                         "ds = pydicom.dcmread(sys.argv[1])\n"
                         "assert str(ds.PatientName) == 'ANONYMIZED', ds.PatientName\n"
                         "assert ds.PatientID.startswith('ANON-'), ds.PatientID\n"
                         "assert ds.PatientBirthDate == '' and ds.AccessionNumber == ''\n"
                         "assert ds.ReferringPhysicianName == ''\n"
                         "for kw in ['PatientAddress', 'InstitutionName', 'StudyDescription']:\n"
                         "    assert kw not in ds, kw\n"
                         "assert (0x0009, 0x1010) not in ds\n"
                         "assert ds.PatientIdentityRemoved == 'YES'\n"
                         "assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID\n"
                         "ds.pixel_array\n",
                         {out.string()}));
}

TEST(AnonymizeTest, KeepsCompressedPixelData) {
  const std::vector<std::byte> original = ReadBytes(PydicomTestFiles() / "MR_small_RLE.dcm");
  ASSERT_OK_AND_ASSIGN(std::vector<std::byte> clean, AnonymizeDicom(original, {"s"}));
  ASSERT_OK_AND_ASSIGN(DicomPixels a, DecodeDicom(original));
  ASSERT_OK_AND_ASSIGN(DicomPixels b, DecodeDicom(clean));
  EXPECT_EQ(b.info.transfer_syntax_uid, "1.2.840.10008.1.2.5");
  EXPECT_EQ(a.frames[0].data, b.frames[0].data);
}

TEST(AnonymizeTest, RefusesWhatIsNotDicom) {
  const std::string junk(300, 'x');
  StatusOr<std::vector<std::byte>> r =
      AnonymizeDicom(std::as_bytes(std::span(junk.data(), junk.size())), {"s"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infera
