#include "dicom/windowing.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

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

Image Ramp(std::vector<float> values) {
  Image image = MakeImage(static_cast<int>(values.size()), 1, 1, PixelType::kFloat32);
  std::memcpy(image.data.data(), values.data(), values.size() * sizeof(float));
  return image;
}

TEST(WindowingTest, AppliesTheLinearVoiFunction) {
  // c = 40, w = 400: below c - 0.5 - 199.5 = -160 is black, above 239 white.
  const Image frame = Ramp({-1000, -160, -159, 39.5, 239, 240, 3000});
  const Image out = ApplyWindow(frame, VoiWindow{40, 400}, false);
  ASSERT_EQ(out.type, PixelType::kUInt8);
  const uint8_t* y = out.pixels<uint8_t>();
  EXPECT_EQ(y[0], 0);
  EXPECT_EQ(y[1], 0);
  // ((-159 - 39.5) / 399 + 0.5) * 255 = 0.64 -> 1
  EXPECT_EQ(y[2], 1);
  EXPECT_EQ(y[3], 128);  // the centre: 127.5 rounds up
  EXPECT_EQ(y[4], 255);
  EXPECT_EQ(y[5], 255);
  EXPECT_EQ(y[6], 255);
  const Image inverted = ApplyWindow(frame, VoiWindow{40, 400}, true);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(inverted.pixels<uint8_t>()[i], 255 - y[i]);
  // Width 1: a threshold at c - 0.5.
  const Image step = ApplyWindow(Ramp({9, 9.5, 10}), VoiWindow{10, 1}, false);
  EXPECT_EQ(step.pixels<uint8_t>()[0], 0);
  EXPECT_EQ(step.pixels<uint8_t>()[1], 0);
  EXPECT_EQ(step.pixels<uint8_t>()[2], 255);
}

TEST(WindowingTest, ParsesFilePresetsAndExplicitWindows) {
  ASSERT_OK_AND_ASSIGN(WindowSpec file, ParseWindowSpec("file"));
  EXPECT_EQ(file.kind, WindowSpec::Kind::kFile);
  ASSERT_OK_AND_ASSIGN(WindowSpec lung, ParseWindowSpec("lung"));
  EXPECT_EQ(lung.kind, WindowSpec::Kind::kPreset);
  EXPECT_EQ(lung.window.center, -600);
  EXPECT_EQ(lung.window.width, 1500);
  ASSERT_OK_AND_ASSIGN(WindowSpec soft, ParseWindowSpec("Soft tissue"));
  EXPECT_EQ(soft.preset, "soft_tissue");
  EXPECT_EQ(soft.window.center, 40);
  EXPECT_EQ(soft.window.width, 400);
  ASSERT_OK_AND_ASSIGN(WindowSpec bone, ParseWindowSpec("bone"));
  EXPECT_EQ(bone.window.center, 400);
  ASSERT_OK_AND_ASSIGN(WindowSpec own, ParseWindowSpec(nlohmann::json::array({-500, 1200.5})));
  EXPECT_EQ(own.kind, WindowSpec::Kind::kExplicit);
  EXPECT_EQ(own.window.center, -500);
  EXPECT_EQ(own.window.width, 1200.5);
  for (const WindowSpec& spec : {file, lung, soft, own}) {
    ASSERT_OK_AND_ASSIGN(WindowSpec again, ParseWindowSpec(WindowSpecJson(spec)));
    EXPECT_EQ(again.kind, spec.kind);
    EXPECT_EQ(again.window.center, spec.window.center);
    EXPECT_EQ(again.window.width, spec.window.width);
  }
  for (const nlohmann::json& bad :
       {nlohmann::json("liver"), nlohmann::json::array({1}), nlohmann::json::array({40, 0}),
        nlohmann::json::array({"40", 400}), nlohmann::json(40), nlohmann::json::object()}) {
    StatusOr<WindowSpec> spec = ParseWindowSpec(bad);
    ASSERT_FALSE(spec.ok()) << bad;
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(WindowingTest, ResolvesTheFilesWindowElseTheFramesRange) {
  DicomInstanceInfo info;
  const Image frame = Ramp({-100, 0, 300});
  VoiWindow w = ResolveWindow(WindowSpec{}, info, frame);
  EXPECT_EQ(w.center, 100);
  EXPECT_EQ(w.width, 400);
  info.window = VoiWindow{600, 1600};
  w = ResolveWindow(WindowSpec{}, info, frame);
  EXPECT_EQ(w.center, 600);
  ASSERT_OK_AND_ASSIGN(WindowSpec bone, ParseWindowSpec("bone"));
  EXPECT_EQ(ResolveWindow(bone, info, frame).center, 400);
}

// Our grey levels against pydicom's apply_windowing (its output spans the modality
// range of the file; scaled here to 0..255), for the file's window and a preset.
TEST(WindowingTest, MatchesPydicomsWindowing) {
  if (!HavePydicom()) GTEST_SKIP() << "needs /usr/bin/python3 with pydicom";
  testing::TempDir tmp;
  const fs::path out = tmp.path() / "levels";
  ASSERT_TRUE(testing::RunPython(
      tmp.path(),
      "import sys, numpy as np, pydicom\n"
      "from pydicom.pixel_data_handlers.util import apply_modality_lut, apply_windowing\n"
      "for name, out, wc, ww in [(sys.argv[1], sys.argv[3] + '_mr', None, None),\n"
      "                          (sys.argv[2], sys.argv[3] + '_ct', 40.0, 400.0)]:\n"
      "    ds = pydicom.dcmread(name)\n"
      "    if wc is not None: ds.WindowCenter, ds.WindowWidth = wc, ww\n"
      "    hu = apply_modality_lut(ds.pixel_array, ds)\n"
      "    y = apply_windowing(hu, ds)\n"
      "    bits = ds.BitsStored\n"
      "    lo = -(2 ** (bits - 1)) if ds.PixelRepresentation else 0\n"
      "    hi = 2 ** (bits - 1) - 1 if ds.PixelRepresentation else 2 ** bits - 1\n"
      "    lo, hi = [v * float(getattr(ds, 'RescaleSlope', 1)) + float(getattr(ds, "
      "'RescaleIntercept', 0)) for v in (lo, hi)]\n"
      "    levels = np.round((y - lo) / (hi - lo) * 255).astype(np.uint8)\n"
      "    levels.tofile(out)\n",
      {(PydicomTestFiles() / "MR_small.dcm").string(),
       (PydicomTestFiles() / "CT_small.dcm").string(), out.string()}));
  struct Run {
    const char* file;
    const char* suffix;
    const char* window;
  };
  for (const Run& run :
       {Run{"MR_small.dcm", "_mr", "file"}, Run{"CT_small.dcm", "_ct", "soft_tissue"}}) {
    SCOPED_TRACE(run.file);
    ASSERT_OK_AND_ASSIGN(DicomPixels pixels, DecodeDicom(ReadBytes(PydicomTestFiles() / run.file)));
    ASSERT_OK_AND_ASSIGN(WindowSpec spec, ParseWindowSpec(run.window));
    const Image grey = DisplayFrame(pixels, 0, spec);
    const std::string want = testing::ReadFile(out.string() + run.suffix);
    ASSERT_EQ(want.size(), static_cast<size_t>(grey.width * grey.height));
    int worst = 0, distinct = 0;
    std::vector<bool> seen(256);
    for (size_t i = 0; i < want.size(); ++i) {
      const int got = grey.pixels<uint8_t>()[i];
      worst = std::max(worst, std::abs(got - static_cast<uint8_t>(want[i])));
      if (!seen[got]) ++distinct;
      seen[got] = true;
    }
    EXPECT_LE(worst, 1);
    EXPECT_GT(distinct, 50);  // the window spreads the values
  }
}

// MONOCHROME1 (bright = low values): the same modality values, inverted grey levels.
TEST(WindowingTest, InvertsMonochrome1) {
  if (!HavePydicom()) GTEST_SKIP() << "needs /usr/bin/python3 with pydicom";
  testing::TempDir tmp;
  const fs::path out = tmp.path() / "mono1.dcm";
  ASSERT_TRUE(testing::WriteEditedTestFile("MR_small.dcm",
                                           "ds.PhotometricInterpretation = 'MONOCHROME1'\n", out));
  ASSERT_OK_AND_ASSIGN(DicomPixels mono2,
                       DecodeDicom(ReadBytes(PydicomTestFiles() / "MR_small.dcm")));
  ASSERT_OK_AND_ASSIGN(DicomPixels mono1, DecodeDicom(ReadBytes(out)));
  EXPECT_TRUE(mono1.info.monochrome1());
  ASSERT_EQ(mono1.frames[0].data, mono2.frames[0].data);  // modality values unchanged
  const Image a = DisplayFrame(mono2, 0, WindowSpec{});
  const Image b = DisplayFrame(mono1, 0, WindowSpec{});
  for (int i = 0; i < a.width * a.height; ++i) {
    ASSERT_EQ(b.pixels<uint8_t>()[i], 255 - a.pixels<uint8_t>()[i]);
  }
}

TEST(WindowingTest, ShowsColourAsEightBitRgb) {
  ASSERT_OK_AND_ASSIGN(DicomPixels rgb16,
                       DecodeDicom(ReadBytes(PydicomTestFiles() / "SC_rgb_rle_16bit.dcm")));
  const Image shown = DisplayFrame(rgb16, 0, WindowSpec{});
  EXPECT_EQ(shown.channels, 3);
  EXPECT_EQ(shown.type, PixelType::kUInt8);
  // 65535 -> 255; the 16-bit test image's first pixel is pure red.
  const float* v = rgb16.frames[0].pixels<float>();
  EXPECT_EQ(shown.pixels<uint8_t>()[0], std::lround(v[0] * 255.0 / 65535.0));
}

}  // namespace
}  // namespace infera
