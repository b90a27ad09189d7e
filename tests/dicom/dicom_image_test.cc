// DecodeDicom against pydicom: every frame's modality values equal
// apply_modality_lut(ds.pixel_array, ds) (colour in RGB), across the transfer syntaxes
// dicom/ supports; the refusals; the attributes.
#include "dicom/dicom_image.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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

// For each argument pair (name, out): out.f64 holds the modality values as float64,
// frames x rows x columns x samples, colour converted to RGB; out.json the shape.
constexpr char kExpectedScript[] = R"(
import sys, json, numpy as np, pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut, convert_color_space
args = sys.argv[1:]
for name, out in zip(args[0::2], args[1::2]):
    ds = pydicom.dcmread(name)
    arr = ds.pixel_array
    frames = int(getattr(ds, 'NumberOfFrames', 1) or 1)
    spp = int(ds.SamplesPerPixel)
    if spp == 3 and ds.PhotometricInterpretation.startswith('YBR'):
        arr = convert_color_space(arr, ds.PhotometricInterpretation, 'RGB')
    if spp == 1:
        arr = apply_modality_lut(arr, ds)
    arr = np.asarray(arr, dtype=np.float64).reshape(frames, int(ds.Rows), int(ds.Columns), spp)
    arr.tofile(out + '.f64')
    json.dump({'shape': list(arr.shape)}, open(out + '.json', 'w'))
)";

struct Expected {
  std::vector<int> shape;
  std::vector<double> values;
};

// pydicom's values for each of `names` (files of PydicomTestFiles()).
std::vector<Expected> PydicomValues(const fs::path& dir, const std::vector<std::string>& names) {
  std::vector<std::string> args;
  for (size_t i = 0; i < names.size(); ++i) {
    args.push_back((PydicomTestFiles() / names[i]).string());
    args.push_back((dir / std::to_string(i)).string());
  }
  EXPECT_TRUE(testing::RunPython(dir, kExpectedScript, args));
  std::vector<Expected> out;
  for (size_t i = 0; i < names.size(); ++i) {
    Expected e;
    const fs::path base = dir / std::to_string(i);
    if (!fs::exists(base.string() + ".json")) {
      ADD_FAILURE() << "pydicom gave no values for " << names[i];
      out.push_back(e);
      continue;
    }
    e.shape = nlohmann::json::parse(testing::ReadFile(base.string() + ".json"))["shape"]
                  .get<std::vector<int>>();
    const std::string raw = testing::ReadFile(base.string() + ".f64");
    e.values.resize(raw.size() / sizeof(double));
    std::memcpy(e.values.data(), raw.data(), e.values.size() * sizeof(double));
    out.push_back(std::move(e));
  }
  return out;
}

StatusOr<DicomPixels> Decode(const std::string& name, const DicomLimits& limits = {}) {
  const std::vector<std::byte> bytes = ReadBytes(PydicomTestFiles() / name);
  return DecodeDicom(bytes, limits);
}

// One file of the table: decoded by us, compared to pydicom's values of `reference`
// (the same file, or its uncompressed twin when pydicom cannot decode the file).
struct Case {
  const char* file;
  const char* reference;
  double max_abs;   // largest difference allowed in one sample
  double mean_abs;  // mean difference allowed
};

// Lossless syntaxes are compared exactly (float32 of the same integer); lossy JPEG within
// the differences of two IJG-family decoders (DCMTK's IJG 6b against Pillow's
// libjpeg-turbo).
const Case kCases[] = {
    // Explicit VR Little Endian; CT with RescaleIntercept -1024 (signed, HU).
    {"CT_small.dcm", "CT_small.dcm", 0, 0},
    {"MR_small.dcm", "MR_small.dcm", 0, 0},
    {"MR_small_padded.dcm", "MR_small_padded.dcm", 0, 0},
    // Implicit VR Little Endian.
    {"MR_small_implicit.dcm", "MR_small_implicit.dcm", 0, 0},
    // Explicit VR Big Endian: 16-bit, 8-bit RGB, 32-bit multi-frame.
    {"MR_small_bigendian.dcm", "MR_small_bigendian.dcm", 0, 0},
    {"MR_small_expb.dcm", "MR_small_expb.dcm", 0, 0},
    {"ExplVR_BigEnd.dcm", "ExplVR_BigEnd.dcm", 0, 0},
    {"rtdose_expb.dcm", "rtdose_expb.dcm", 0, 0},
    // Deflated Explicit VR Little Endian.
    {"image_dfl.dcm", "image_dfl.dcm", 0, 0},
    // Multi-frame 32-bit (RT dose, 15 frames).
    {"rtdose.dcm", "rtdose.dcm", 0, 0},
    // RLE Lossless: 16-bit grey, 8/16/32-bit RGB, one and two frames.
    {"MR_small_RLE.dcm", "MR_small.dcm", 0, 0},
    {"rtdose_rle.dcm", "rtdose.dcm", 0, 0},
    {"SC_rgb_rle.dcm", "SC_rgb_rle.dcm", 0, 0},
    {"SC_rgb_rle_2frame.dcm", "SC_rgb_rle_2frame.dcm", 0, 0},
    {"SC_rgb_rle_16bit.dcm", "SC_rgb_rle_16bit.dcm", 0, 0},
    {"SC_rgb_rle_16bit_2frame.dcm", "SC_rgb_rle_16bit_2frame.dcm", 0, 0},
    {"SC_rgb_rle_32bit_2frame.dcm", "SC_rgb_rle_32bit_2frame.dcm", 0, 0},
    // Uncompressed colour: odd sizes, YBR_FULL_422 (subsampled) converted to RGB.
    {"SC_rgb_small_odd.dcm", "SC_rgb_small_odd.dcm", 0, 0},
    {"SC_ybr_full_422_uncompressed.dcm", "SC_ybr_full_422_uncompressed.dcm", 1, 0.01},
    // JPEG-LS Lossless (pydicom has no JPEG-LS decoder here: the uncompressed twin).
    {"MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm", 0, 0},
    // JPEG Lossless, first-order prediction (pydicom cannot decode it: the RLE twin).
    {"SC_rgb_jpeg_gdcm.dcm", "SC_rgb_rle.dcm", 0, 0},
    // JPEG Baseline (lossy), RGB and YBR_FULL / YBR_FULL_422 (converted by the decoder).
    {"SC_rgb_dcmtk_+eb+cr.dcm", "SC_rgb_dcmtk_+eb+cr.dcm", 2, 0.25},
    {"SC_rgb_dcmtk_+eb+cy+n1.dcm", "SC_rgb_dcmtk_+eb+cy+n1.dcm", 2, 0.25},
    {"SC_rgb_dcmtk_+eb+cy+np.dcm", "SC_rgb_dcmtk_+eb+cy+np.dcm", 2, 0.25},
    {"SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_jpeg_dcmtk.dcm", 2, 0.25},
    {"SC_rgb_jpeg_lossy_gdcm.dcm", "SC_rgb_jpeg_lossy_gdcm.dcm", 2, 0.25},
};

TEST(DicomImageTest, DecodesAsPydicomWithTheModalityLut) {
  if (!HavePydicom()) GTEST_SKIP() << "needs /usr/bin/python3 with pydicom";
  testing::TempDir tmp;
  std::vector<std::string> references;
  for (const Case& c : kCases) references.push_back(c.reference);
  const std::vector<Expected> expected = PydicomValues(tmp.path(), references);
  ASSERT_EQ(expected.size(), std::size(kCases));
  for (size_t k = 0; k < std::size(kCases); ++k) {
    const Case& c = kCases[k];
    SCOPED_TRACE(c.file);
    StatusOr<DicomPixels> pixels = Decode(c.file);
    ASSERT_OK(pixels.status());
    const Expected& e = expected[k];
    ASSERT_EQ(e.shape.size(), 4u);
    ASSERT_EQ(static_cast<int>(pixels->frames.size()), e.shape[0]);
    EXPECT_EQ(pixels->info.frames, e.shape[0]);
    double worst = 0, total = 0;
    size_t n = 0;
    for (int f = 0; f < e.shape[0]; ++f) {
      const Image& frame = pixels->frames[f];
      ASSERT_EQ(frame.type, PixelType::kFloat32);
      ASSERT_EQ(frame.height, e.shape[1]);
      ASSERT_EQ(frame.width, e.shape[2]);
      ASSERT_EQ(frame.channels, e.shape[3]);
      const size_t count = static_cast<size_t>(frame.width) * frame.height * frame.channels;
      for (size_t i = 0; i < count; ++i) {
        const double want = e.values[f * count + i];
        const double got = frame.pixels<float>()[i];
        // float32 holds integers up to 2^24 exactly; beyond, its rounding.
        const double diff = std::abs(got - want) - std::abs(want) * 1e-7;
        worst = std::max(worst, diff);
        total += std::max(0.0, diff);
        ++n;
      }
    }
    EXPECT_LE(worst, c.max_abs);
    EXPECT_LE(total / static_cast<double>(n), c.mean_abs + 1e-12);
  }
}

TEST(DicomImageTest, DecodesTwelveBitJpegExtended) {
  // pydicom (Pillow) cannot decode 12-bit JPEG; DCMTK's 12-bit IJG can.
  for (const char* name : {"JPEG-lossy.dcm", "JPGExtended.dcm"}) {
    SCOPED_TRACE(name);
    ASSERT_OK_AND_ASSIGN(DicomPixels pixels, Decode(name));
    ASSERT_EQ(pixels.frames.size(), 1u);
    EXPECT_EQ(pixels.info.bits_stored, 12);
    const Image& f = pixels.frames[0];
    float lo = 1e9, hi = -1e9;
    for (int i = 0; i < f.width * f.height; ++i) {
      lo = std::min(lo, f.pixels<float>()[i]);
      hi = std::max(hi, f.pixels<float>()[i]);
    }
    EXPECT_GE(lo, 0);
    EXPECT_LE(hi, 4095);
    EXPECT_GT(hi - lo, 100);  // an image, not a flat field
  }
}

TEST(DicomImageTest, ReadsTheAttributesThatPlaceAnImage) {
  const std::vector<std::byte> bytes = ReadBytes(PydicomTestFiles() / "CT_small.dcm");
  ASSERT_OK_AND_ASSIGN(DicomInstanceInfo info, ReadDicomInfo(bytes));
  EXPECT_EQ(info.transfer_syntax_uid, "1.2.840.10008.1.2.1");
  EXPECT_EQ(info.modality, "CT");
  EXPECT_EQ(info.rows, 128);
  EXPECT_EQ(info.columns, 128);
  EXPECT_EQ(info.frames, 1);
  EXPECT_TRUE(info.is_signed);
  EXPECT_EQ(info.rescale_slope, 1);
  EXPECT_EQ(info.rescale_intercept, -1024);
  ASSERT_TRUE(info.pixel_spacing.has_value());
  EXPECT_DOUBLE_EQ(info.pixel_spacing->row_mm, 0.661468);
  EXPECT_DOUBLE_EQ(info.pixel_spacing->column_mm, 0.661468);
  ASSERT_TRUE(info.image_position.has_value());
  EXPECT_DOUBLE_EQ((*info.image_position)[0], -158.135803);
  EXPECT_DOUBLE_EQ((*info.image_position)[2], -75.699997);
  ASSERT_TRUE(info.instance_number.has_value());
  EXPECT_EQ(*info.instance_number, 1);
  EXPECT_FALSE(info.series_instance_uid.empty());
  EXPECT_FALSE(info.sop_instance_uid.empty());
  // The same attributes as a full decode.
  ASSERT_OK_AND_ASSIGN(DicomPixels pixels, DecodeDicom(bytes));
  EXPECT_EQ(pixels.info.sop_instance_uid, info.sop_instance_uid);
  EXPECT_EQ(pixels.info.series_instance_uid, info.series_instance_uid);

  ASSERT_OK_AND_ASSIGN(DicomInstanceInfo mr,
                       ReadDicomInfo(ReadBytes(PydicomTestFiles() / "MR_small.dcm")));
  ASSERT_TRUE(mr.window.has_value());
  EXPECT_EQ(mr.window->center, 600);
  EXPECT_EQ(mr.window->width, 1600);
}

void ExpectRefused(const StatusOr<DicomPixels>& result, const std::string& reason) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(result.status().message()).find(reason), std::string::npos)
      << result.status();
}

TEST(DicomImageTest, RefusesWithAReason) {
  // JPEG 2000: not in free DCMTK.
  for (const char* name : {"JPEG2000.dcm", "MR_small_jp2klossless.dcm", "693_J2KI.dcm"}) {
    SCOPED_TRACE(name);
    ExpectRefused(Decode(name), "JPEG 2000");
  }
  ExpectRefused(Decode("MR_truncated.dcm"), "truncated");
  ExpectRefused(Decode("nested_priv_SQ.dcm"), "not a DICOM image");
  // No preamble and "DICM": not a Part 10 file.
  ExpectRefused(Decode("no_meta.dcm"), "not a DICOM file");
  const std::string png = "\x89PNG\r\n\x1a\n" + std::string(200, '\0');
  ExpectRefused(DecodeDicom(std::as_bytes(std::span(png.data(), png.size()))), "not a DICOM file");
  ExpectRefused(DecodeDicom({}), "not a DICOM file");
  // 1-bit (segmentation-like) pixel data.
  ExpectRefused(Decode("liver_1frame.dcm"), "BitsAllocated 1");
  // The limits, before anything is allocated.
  DicomLimits small;
  small.max_pixels = 64 * 64 - 1;
  ExpectRefused(Decode("MR_small.dcm", small), "over the limit");
  DicomLimits few;
  few.max_frames = 2;
  ExpectRefused(Decode("rtdose.dcm", few), "15 frames");
}

TEST(DicomImageTest, RefusesPixelDataShorterThanDeclared) {
  if (!HavePydicom()) GTEST_SKIP() << "needs /usr/bin/python3 with pydicom";
  testing::TempDir tmp;
  const fs::path out = tmp.path() / "tall.dcm";
  ASSERT_TRUE(testing::WriteEditedTestFile("MR_small.dcm", "ds.Rows = 128\n", out));
  ExpectRefused(DecodeDicom(ReadBytes(out)), "fewer than");
}

TEST(DicomImageTest, ListsTheSupportedTransferSyntaxes) {
  bool rle = false, jpeg_ls = false, j2k = false;
  for (const TransferSyntaxName& t : SupportedTransferSyntaxes()) {
    rle |= t.uid == "1.2.840.10008.1.2.5";
    jpeg_ls |= t.uid == "1.2.840.10008.1.2.4.80";
    j2k |= t.uid == "1.2.840.10008.1.2.4.90" || t.uid == "1.2.840.10008.1.2.4.91";
  }
  EXPECT_TRUE(rle);
  EXPECT_TRUE(jpeg_ls);
  EXPECT_FALSE(j2k);
}

}  // namespace
}  // namespace infera
