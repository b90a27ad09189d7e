#include "dicom/dicom_image.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "common/strings.h"
#include "dicom/dcmtk_parse.h"
#include "dicom/dcmtk_setup.h"

namespace infera {

using dicom_internal::EnsureDcmtk;
using dicom_internal::ParseDicom;

namespace {

constexpr TransferSyntaxName kSupported[] = {
    {"1.2.840.10008.1.2", "Implicit VR Little Endian"},
    {"1.2.840.10008.1.2.1", "Explicit VR Little Endian"},
    {"1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian"},
    {"1.2.840.10008.1.2.2", "Explicit VR Big Endian"},
    {"1.2.840.10008.1.2.5", "RLE Lossless"},
    {"1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)"},
    {"1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)"},
    {"1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)"},
    {"1.2.840.10008.1.2.4.70", "JPEG Lossless, Non-Hierarchical, First-Order Prediction"},
    {"1.2.840.10008.1.2.4.80", "JPEG-LS Lossless"},
    {"1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless)"},
};

bool Supported(std::string_view uid) {
  for (const TransferSyntaxName& t : kSupported) {
    if (t.uid == uid) return true;
  }
  return false;
}

std::string GetString(DcmItem* item, const DcmTagKey& tag) {
  OFString value;
  if (item->findAndGetOFString(tag, value).good()) return std::string(value.c_str());
  return "";
}

std::optional<double> GetDouble(DcmItem* item, const DcmTagKey& tag, unsigned long pos = 0) {
  Float64 value = 0;
  if (item->findAndGetFloat64(tag, value, pos).good() && std::isfinite(value)) return value;
  return std::nullopt;
}

// An attribute of a functional group macro (`group`) of an enhanced multi-frame image:
// from the shared groups, else the first frame's.
std::optional<double> GetFromFunctionalGroups(DcmItem* ds, const DcmTagKey& group,
                                              const DcmTagKey& tag, unsigned long pos = 0) {
  for (const DcmTagKey& groups :
       {DCM_SharedFunctionalGroupsSequence, DCM_PerFrameFunctionalGroupsSequence}) {
    DcmItem* outer = nullptr;
    if (ds->findAndGetSequenceItem(groups, outer, 0).bad() || outer == nullptr) continue;
    DcmItem* inner = nullptr;
    if (outer->findAndGetSequenceItem(group, inner, 0).bad() || inner == nullptr) continue;
    if (std::optional<double> v = GetDouble(inner, tag, pos)) return v;
  }
  return std::nullopt;
}

// The attributes of DicomInstanceInfo; InvalidArgument when those of an image are missing.
StatusOr<DicomInstanceInfo> ReadInfo(DcmFileFormat& file) {
  DcmDataset* ds = file.getDataset();
  DicomInstanceInfo info;
  DcmXfer xfer(ds->getOriginalXfer());
  info.transfer_syntax_uid = GetString(file.getMetaInfo(), DCM_TransferSyntaxUID);
  if (info.transfer_syntax_uid.empty()) info.transfer_syntax_uid = xfer.getXferID();
  info.transfer_syntax_name = xfer.getXferName();
  info.sop_class_uid = GetString(ds, DCM_SOPClassUID);
  info.sop_instance_uid = GetString(ds, DCM_SOPInstanceUID);
  info.study_instance_uid = GetString(ds, DCM_StudyInstanceUID);
  info.series_instance_uid = GetString(ds, DCM_SeriesInstanceUID);
  info.modality = GetString(ds, DCM_Modality);
  info.series_description = GetString(ds, DCM_SeriesDescription);
  Sint32 number = 0;
  if (ds->findAndGetSint32(DCM_InstanceNumber, number).good()) info.instance_number = number;
  std::array<double, 3> position{};
  bool have = true;
  for (unsigned long i = 0; i < 3 && have; ++i) {
    std::optional<double> v = GetDouble(ds, DCM_ImagePositionPatient, i);
    if (!v) v = GetFromFunctionalGroups(ds, DCM_PlanePositionSequence, DCM_ImagePositionPatient, i);
    if (v) position[i] = *v;
    have = v.has_value();
  }
  if (have) info.image_position = position;
  std::array<double, 6> orientation{};
  have = true;
  for (unsigned long i = 0; i < 6 && have; ++i) {
    std::optional<double> v = GetDouble(ds, DCM_ImageOrientationPatient, i);
    if (!v) {
      v = GetFromFunctionalGroups(ds, DCM_PlaneOrientationSequence, DCM_ImageOrientationPatient, i);
    }
    if (v) orientation[i] = *v;
    have = v.has_value();
  }
  if (have) info.image_orientation = orientation;

  Uint16 rows = 0, columns = 0, spp = 0, allocated = 0, stored = 0, representation = 0;
  if (ds->findAndGetUint16(DCM_Rows, rows).bad() || rows == 0 ||
      ds->findAndGetUint16(DCM_Columns, columns).bad() || columns == 0) {
    return absl::InvalidArgumentError("not a DICOM image: Rows or Columns is missing or zero");
  }
  if (ds->findAndGetUint16(DCM_BitsAllocated, allocated).bad()) {
    return absl::InvalidArgumentError("not a DICOM image: BitsAllocated is missing");
  }
  if (ds->findAndGetUint16(DCM_SamplesPerPixel, spp).bad()) spp = 1;
  if (ds->findAndGetUint16(DCM_BitsStored, stored).bad()) stored = allocated;
  if (ds->findAndGetUint16(DCM_PixelRepresentation, representation).bad()) representation = 0;
  info.rows = rows;
  info.columns = columns;
  info.samples_per_pixel = spp;
  info.bits_allocated = allocated;
  info.bits_stored = stored;
  info.is_signed = representation == 1;
  Sint32 frames = 1;
  if (ds->findAndGetSint32(DCM_NumberOfFrames, frames).good()) {
    if (frames < 1) return absl::InvalidArgumentError("NumberOfFrames is not a positive number");
    info.frames = frames;
  }
  info.photometric = GetString(ds, DCM_PhotometricInterpretation);
  if (info.photometric.empty()) {
    return absl::InvalidArgumentError("not a DICOM image: PhotometricInterpretation is missing");
  }
  std::optional<double> slope = GetDouble(ds, DCM_RescaleSlope);
  std::optional<double> intercept = GetDouble(ds, DCM_RescaleIntercept);
  if (!slope) {
    slope = GetFromFunctionalGroups(ds, DCM_PixelValueTransformationSequence, DCM_RescaleSlope);
  }
  if (!intercept) {
    intercept =
        GetFromFunctionalGroups(ds, DCM_PixelValueTransformationSequence, DCM_RescaleIntercept);
  }
  if (slope) info.rescale_slope = *slope;
  if (intercept) info.rescale_intercept = *intercept;
  std::optional<double> row = GetDouble(ds, DCM_PixelSpacing, 0);
  std::optional<double> col = GetDouble(ds, DCM_PixelSpacing, 1);
  if (!row || !col) {
    row = GetFromFunctionalGroups(ds, DCM_PixelMeasuresSequence, DCM_PixelSpacing, 0);
    col = GetFromFunctionalGroups(ds, DCM_PixelMeasuresSequence, DCM_PixelSpacing, 1);
  }
  if (!row || !col) {
    row = GetDouble(ds, DCM_ImagerPixelSpacing, 0);
    col = GetDouble(ds, DCM_ImagerPixelSpacing, 1);
  }
  if (row && col && *row > 0 && *col > 0) info.pixel_spacing = PixelSpacing{*row, *col};
  std::optional<double> center = GetDouble(ds, DCM_WindowCenter);
  std::optional<double> width = GetDouble(ds, DCM_WindowWidth);
  if (!center || !width) {
    center = GetFromFunctionalGroups(ds, DCM_FrameVOILUTSequence, DCM_WindowCenter);
    width = GetFromFunctionalGroups(ds, DCM_FrameVOILUTSequence, DCM_WindowWidth);
  }
  if (center && width && *width >= 1) info.window = VoiWindow{*center, *width};
  return info;
}

uint32_t ReadSample(const uint8_t* p, int bytes) {
  switch (bytes) {
    case 1:
      return p[0];
    case 2:
      return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8);
    default:
      return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
             (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
  }
}

// PS3.3 C.7.6.3.1.2 YBR_FULL -> RGB, rounded and clipped as pydicom's convert_color_space.
void YbrToRgb(float y, float cb, float cr, float* rgb) {
  const double r = y + 1.402 * (cr - 128.0);
  const double g = y - 0.114 * 1.772 / 0.587 * (cb - 128.0) - 0.299 * 1.402 / 0.587 * (cr - 128.0);
  const double b = y + 1.772 * (cb - 128.0);
  const double v[3] = {r, g, b};
  for (int i = 0; i < 3; ++i) {
    rgb[i] = static_cast<float>(std::clamp(std::floor(v[i] + 0.5), 0.0, 255.0));
  }
}

}  // namespace

bool LooksLikeDicom(std::span<const std::byte> bytes) {
  return bytes.size() >= 132 && std::memcmp(bytes.data() + 128, "DICM", 4) == 0;
}

std::span<const TransferSyntaxName> SupportedTransferSyntaxes() { return kSupported; }

StatusOr<DicomInstanceInfo> ReadDicomInfo(std::span<const std::byte> bytes) {
  ASSIGN_OR_RETURN(std::unique_ptr<DcmFileFormat> file, ParseDicom(bytes, /*until_pixels=*/true));
  return ReadInfo(*file);
}

StatusOr<DicomPixels> DecodeDicom(std::span<const std::byte> bytes, const DicomLimits& limits) {
  ASSIGN_OR_RETURN(std::unique_ptr<DcmFileFormat> file, ParseDicom(bytes, /*until_pixels=*/false));
  DicomPixels out;
  ASSIGN_OR_RETURN(out.info, ReadInfo(*file));
  DicomInstanceInfo& info = out.info;
  if (!Supported(info.transfer_syntax_uid)) {
    const bool j2k = info.transfer_syntax_uid.starts_with("1.2.840.10008.1.2.4.9") ||
                     info.transfer_syntax_uid.starts_with("1.2.840.10008.1.2.4.20");
    return absl::InvalidArgumentError(StrCat(
        "unsupported transfer syntax ", info.transfer_syntax_uid, " (", info.transfer_syntax_name,
        ")", j2k ? ": JPEG 2000 is not decoded (DCMTK's free edition has no JPEG 2000 codec)" : "",
        "; convert the file to an uncompressed, RLE, JPEG or JPEG-LS transfer syntax"));
  }
  const int64_t pixels = static_cast<int64_t>(info.rows) * info.columns;
  if (pixels > limits.max_pixels) {
    return absl::InvalidArgumentError(StrCat("the image has ", info.columns, " x ", info.rows,
                                             " pixels, over the limit of ", limits.max_pixels));
  }
  if (info.frames > limits.max_frames) {
    return absl::InvalidArgumentError(
        StrCat("the file has ", info.frames, " frames, over the limit of ", limits.max_frames));
  }
  if (info.samples_per_pixel != 1 && info.samples_per_pixel != 3) {
    return absl::InvalidArgumentError(
        StrCat("SamplesPerPixel ", info.samples_per_pixel, " is not supported (1 or 3)"));
  }
  if (pixels * info.frames * info.samples_per_pixel * 4 > limits.max_bytes) {
    return absl::InvalidArgumentError(
        StrCat("the decoded frames would take more than ", limits.max_bytes, " bytes"));
  }
  if (info.bits_allocated != 8 && info.bits_allocated != 16 && info.bits_allocated != 32) {
    return absl::InvalidArgumentError(
        StrCat("BitsAllocated ", info.bits_allocated, " is not supported (8, 16 or 32)"));
  }
  if (info.bits_stored < 1 || info.bits_stored > info.bits_allocated) {
    return absl::InvalidArgumentError(StrCat("BitsStored ", info.bits_stored,
                                             " does not fit BitsAllocated ", info.bits_allocated));
  }
  DcmDataset* ds = file->getDataset();
  DcmXfer original(ds->getOriginalXfer());
  if (original.isEncapsulated()) {
    OFCondition cond = ds->chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
    if (cond.bad() || !ds->hasRepresentation(EXS_LittleEndianExplicit, nullptr)) {
      return absl::InvalidArgumentError(StrCat("cannot decompress the pixel data (",
                                               info.transfer_syntax_name,
                                               "): ", cond.bad() ? cond.text() : "no decoder"));
    }
  }
  // The decoders may convert YBR to RGB and change the planar configuration.
  const std::string photometric = GetString(ds, DCM_PhotometricInterpretation);
  Uint16 planar = 0;
  if (ds->findAndGetUint16(DCM_PlanarConfiguration, planar).bad()) planar = 0;
  const bool mono = photometric == "MONOCHROME1" || photometric == "MONOCHROME2";
  const bool rgb = photometric == "RGB";
  const bool ybr = photometric == "YBR_FULL";
  const bool ybr422 = photometric == "YBR_FULL_422";
  if (!mono && !rgb && !ybr && !ybr422) {
    return absl::InvalidArgumentError(StrCat("PhotometricInterpretation '", photometric,
                                             "' is not supported (MONOCHROME1, MONOCHROME2, RGB, "
                                             "YBR_FULL, YBR_FULL_422)"));
  }
  if (mono != (info.samples_per_pixel == 1)) {
    return absl::InvalidArgumentError(StrCat("PhotometricInterpretation ", photometric,
                                             " does not match SamplesPerPixel ",
                                             info.samples_per_pixel));
  }
  if ((ybr || ybr422) && info.bits_allocated != 8) {
    return absl::InvalidArgumentError("YBR colour images must have 8 bits per sample");
  }
  if (ybr422 && info.columns % 2 != 0) {
    return absl::InvalidArgumentError("YBR_FULL_422 needs an even number of columns");
  }

  DcmElement* element = nullptr;
  if (ds->findAndGetElement(DCM_PixelData, element).bad() || element == nullptr) {
    return absl::InvalidArgumentError("the file has no pixel data");
  }
  // The value in host (little endian) byte order: 16-bit words for OW/16-32 bit data.
  const uint8_t* raw = nullptr;
  std::vector<uint8_t> words_swapped;
  if (info.bits_allocated == 8) {
    Uint8* p = nullptr;
    if (element->getUint8Array(p).bad() || p == nullptr) {
      return absl::InvalidArgumentError("cannot read the pixel data");
    }
    raw = p;
  } else {
    Uint16* p = nullptr;
    if (element->getUint16Array(p).bad() || p == nullptr) {
      return absl::InvalidArgumentError("cannot read the pixel data");
    }
    raw = reinterpret_cast<const uint8_t*>(p);
  }
  const size_t length = element->getLength();
  const int sample_bytes = info.bits_allocated / 8;
  // Samples of one frame as stored: YBR_FULL_422 keeps two Ys per Cb/Cr pair.
  const size_t frame_samples = ybr422 ? static_cast<size_t>(pixels) * 2
                                      : static_cast<size_t>(pixels) * info.samples_per_pixel;
  const size_t frame_bytes = frame_samples * sample_bytes;
  const size_t needed = frame_bytes * static_cast<size_t>(info.frames);
  if (length < needed) {
    return absl::InvalidArgumentError(
        StrCat("the pixel data has ", length, " bytes, fewer than the ", needed, " that ",
               info.frames, " frame(s) of ", info.columns, " x ", info.rows, " x ",
               info.samples_per_pixel, " samples of ", info.bits_allocated, " bits need"));
  }
  if (info.bits_allocated == 32 && original.isBigEndian()) {
    // DCMTK swapped the 16-bit words of a big endian value; the 32-bit samples also need
    // their two words exchanged.
    words_swapped.assign(raw, raw + needed);
    for (size_t i = 0; i + 3 < needed; i += 4) {
      std::swap(words_swapped[i], words_swapped[i + 2]);
      std::swap(words_swapped[i + 1], words_swapped[i + 3]);
    }
    raw = words_swapped.data();
  }

  // Stored value -> integer: the BitsStored bits at HighBit, sign-extended when signed.
  Uint16 high_bit = 0;
  if (ds->findAndGetUint16(DCM_HighBit, high_bit).bad() || high_bit >= info.bits_allocated ||
      high_bit + 1 < info.bits_stored) {
    high_bit = static_cast<Uint16>(info.bits_stored - 1);
  }
  const int shift = high_bit + 1 - info.bits_stored;
  const uint64_t mask = (uint64_t{1} << info.bits_stored) - 1;
  const uint64_t sign_bit = uint64_t{1} << (info.bits_stored - 1);
  const bool is_signed = info.is_signed;
  auto value = [&](const uint8_t* p) -> double {
    const uint64_t bits = (static_cast<uint64_t>(ReadSample(p, sample_bytes)) >> shift) & mask;
    if (is_signed && (bits & sign_bit) != 0) {
      return static_cast<double>(static_cast<int64_t>(bits) - static_cast<int64_t>(mask + 1));
    }
    return static_cast<double>(bits);
  };
  const double slope = info.rescale_slope;
  const double intercept = info.rescale_intercept;
  out.frames.reserve(info.frames);
  for (int f = 0; f < info.frames; ++f) {
    const uint8_t* frame = raw + frame_bytes * f;
    Image image = MakeImage(info.columns, info.rows, info.samples_per_pixel, PixelType::kFloat32);
    float* dst = image.pixels<float>();
    if (mono) {
      for (int64_t i = 0; i < pixels; ++i) {
        dst[i] = static_cast<float>(value(frame + i * sample_bytes) * slope + intercept);
      }
    } else if (ybr422) {
      for (int64_t i = 0; i < pixels; i += 2) {
        const uint8_t* q = frame + i * 2;  // Y0 Y1 Cb Cr
        YbrToRgb(q[0], q[2], q[3], dst + i * 3);
        YbrToRgb(q[1], q[2], q[3], dst + (i + 1) * 3);
      }
    } else {
      for (int64_t i = 0; i < pixels; ++i) {
        float s[3];
        for (int c = 0; c < 3; ++c) {
          const size_t index =
              planar == 1 ? static_cast<size_t>(c * pixels + i) : static_cast<size_t>(i * 3 + c);
          s[c] = static_cast<float>(value(frame + index * sample_bytes));
        }
        if (ybr) {
          YbrToRgb(s[0], s[1], s[2], dst + i * 3);
        } else {
          std::memcpy(dst + i * 3, s, sizeof(s));
        }
      }
    }
    out.frames.push_back(std::move(image));
  }
  return out;
}

}  // namespace infera
