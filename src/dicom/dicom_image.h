// DICOM decoding (DCMTK): one Part 10 file's pixels as modality values, and the
// attributes that place it in a series.
//
// DecodeDicom reads a file from memory, decompresses its pixel data with DCMTK's
// codecs (RLE, JPEG baseline/extended/lossless, JPEG-LS; deflate is a stream filter)
// and returns every frame as float32 samples with the modality LUT applied
// (RescaleSlope * stored value + RescaleIntercept: Hounsfield units for CT) — the values
// pydicom's `apply_modality_lut(ds.pixel_array, ds)` gives. Monochrome frames have one
// channel, colour frames three in RGB order (YBR_FULL / YBR_FULL_422 are converted to
// RGB). MONOCHROME1 values are *not* inverted here: windowing.h inverts them when it
// maps values to grey levels. JPEG 2000 is refused (free DCMTK has no JPEG 2000
// codec); so are PALETTE COLOR, 1-bit and other sample layouts (the supported
// transfer syntaxes: SupportedTransferSyntaxes below, and the README).
//
// Untrusted bytes: every failure (not DICOM, truncated, unsupported, inconsistent) is
// InvalidArgument with a reason that names no attribute *value* of the file (patient
// data stays out of errors and logs); sizes are checked against DicomLimits before
// pixels are allocated. Never throws. Thread-safe (DCMTK's codec registry is set up once,
// under std::call_once; each call has its own DCMTK objects). DCMTK's own logger is
// silenced (its messages can quote attribute values).
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "imaging/image.h"

namespace infera {

// A VOI window (DICOM PS3.3 C.11.2.1.2): centre and width in modality units.
struct VoiWindow {
  double center = 0;
  double width = 1;
};

// Pixel spacing in millimetres: between rows (vertical) and between columns.
struct PixelSpacing {
  double row_mm = 0;
  double column_mm = 0;
};

// The attributes of one instance that place it in a study and series, and describe its
// pixels. None of them is patient data (UIDs are not PHI by themselves but are
// replaced by anonymisation, see anonymize.h).
struct DicomInstanceInfo {
  std::string transfer_syntax_uid;
  std::string transfer_syntax_name;  // DCMTK's name, e.g. "JPEG-LS Lossless"
  std::string sop_class_uid;
  std::string sop_instance_uid;
  std::string study_instance_uid;
  std::string series_instance_uid;
  std::string modality;  // "CT", "MR", "OT", ...
  // SeriesDescription ("" when absent; anonymisation removes it): free text, so it may
  // hold patient data; only shown to the dataset's owner (the series list), never logged.
  std::string series_description;
  std::optional<int> instance_number;
  std::optional<std::array<double, 3>> image_position;     // ImagePositionPatient
  std::optional<std::array<double, 6>> image_orientation;  // ImageOrientationPatient
  int rows = 0;
  int columns = 0;
  int frames = 1;
  int samples_per_pixel = 1;
  int bits_allocated = 0;
  int bits_stored = 0;
  bool is_signed = false;  // PixelRepresentation 1
  // As stored in the file (before decompression); DecodeDicom's frames are RGB whenever
  // this is a colour interpretation.
  std::string photometric;
  double rescale_slope = 1;
  double rescale_intercept = 0;
  std::optional<PixelSpacing> pixel_spacing;  // PixelSpacing, else ImagerPixelSpacing
  std::optional<VoiWindow> window;            // the file's first WindowCenter/Width

  bool monochrome1() const { return photometric == "MONOCHROME1"; }
  bool color() const { return samples_per_pixel == 3; }
};

struct DicomLimits {
  int64_t max_pixels = 100'000'000;  // rows * columns of one frame
  int64_t max_frames = 4096;
  // Bytes of the decoded float32 frames together.
  int64_t max_bytes = 2'000'000'000;
};

struct DicomPixels {
  DicomInstanceInfo info;
  // info.frames images: float32, columns x rows, 1 channel (monochrome) or 3 (RGB),
  // modality values.
  std::vector<Image> frames;
};

// Whether the bytes start as a DICOM Part 10 file: a 128-byte preamble, then "DICM".
bool LooksLikeDicom(std::span<const std::byte> bytes);

// The attributes only; stops before the pixel data (which is neither read nor checked).
// InvalidArgument as DecodeDicom for files that are not DICOM or lack the attributes
// of an image (Rows, Columns, ...).
StatusOr<DicomInstanceInfo> ReadDicomInfo(std::span<const std::byte> bytes);

// The whole file, pixels decoded (see the file comment).
StatusOr<DicomPixels> DecodeDicom(std::span<const std::byte> bytes, const DicomLimits& limits = {});

// The transfer syntaxes DecodeDicom reads: {uid, name}.
struct TransferSyntaxName {
  std::string_view uid;
  std::string_view name;
};
std::span<const TransferSyntaxName> SupportedTransferSyntaxes();

}  // namespace infera
