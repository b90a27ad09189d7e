#include "dicom/dcmtk_parse.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcistrmb.h>

#include "common/strings.h"
#include "dicom/dcmtk_setup.h"
#include "dicom/dicom_image.h"

namespace infera::dicom_internal {

StatusOr<std::unique_ptr<DcmFileFormat>> ParseDicom(std::span<const std::byte> bytes,
                                                    bool until_pixels) {
  EnsureDcmtk();
  if (!LooksLikeDicom(bytes)) {
    return absl::InvalidArgumentError(
        "not a DICOM file (no 'DICM' marker after the 128-byte preamble)");
  }
  DcmInputBufferStream stream;
  stream.setBuffer(bytes.data(), static_cast<offile_off_t>(bytes.size()));
  stream.setEos();
  auto file = std::make_unique<DcmFileFormat>();
  file->transferInit();
  OFCondition cond =
      until_pixels
          ? file->readUntilTag(stream, EXS_Unknown, EGL_noChange, DCM_MaxReadLength, DCM_PixelData)
          : file->read(stream, EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
  file->transferEnd();
  if (cond.bad()) {
    return absl::InvalidArgumentError(
        StrCat("cannot read this DICOM file (truncated or malformed): ", cond.text()));
  }
  return file;
}

}  // namespace infera::dicom_internal
