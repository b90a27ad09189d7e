// WriteDicomSeg against the tools outside infera: every SEG it writes here passes
// dicom3tools' dciodvfy without an "Error" line and reads back with pydicom into the
// masks it was given, frame by frame and segment by segment. A missing tool fails the
// test (never a skip).
#include "dicom/seg_writer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "dicom/dicom_image.h"
#include "support/dicom_fixtures.h"
#include "support/dicom_seg_check.h"
#include "support/pydicom_files.h"
#include "support/status_matchers.h"
#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using testing::DciodvfyReport;
using testing::PydicomSeg;
using testing::PydicomTestFiles;
using testing::ReadBytes;

// A MakeDicomFiles script (support/dicom_fixtures.h): ct_1..ct_3.dcm, CT_small's pixels
// as three slices of one series at z = -20, 0, 10;
// mf.dcm: the 2-frame RGB secondary capture as a Multi-frame True Color SC.
constexpr char kMakeSeries[] = R"(
multiframe_true_colour_sc().save_as(os.path.join(OUT, 'mf.dcm'))
write_ct_series([-20.0, 0.0, 10.0], numbers=[1, 2, 3])
)";

Image Mask(int width, int height) { return MakeImage(width, height, 1, PixelType::kUInt8); }

void Fill(Image* mask, int x0, int y0, int x1, int y1, uint8_t value) {
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) mask->pixels<uint8_t>()[y * mask->width + x] = value;
  }
}

// The 0/1 mask of `value` in `mask`.
std::vector<uint8_t> Binary(const Image& mask, uint32_t value) {
  std::vector<uint8_t> out(static_cast<size_t>(mask.width) * mask.height);
  for (size_t i = 0; i < out.size(); ++i) {
    const uint32_t v =
        mask.type == PixelType::kUInt8 ? mask.pixels<uint8_t>()[i] : mask.pixels<uint16_t>()[i];
    out[i] = v == value ? 1 : 0;
  }
  return out;
}

class SegWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(testing::HavePydicom()) << "needs /usr/bin/python3 with pydicom and numpy";
    ASSERT_TRUE(fs::exists("/usr/bin/dciodvfy")) << "needs dicom3tools' dciodvfy";
  }

  // Writes `seg` into the temp folder, runs dciodvfy (no Error line allowed; warnings
  // are logged) and reads it back with pydicom.
  PydicomSeg Check(const DicomSeg& seg, const std::string& name) {
    const fs::path path = tmp_.path() / name;
    {
      std::ofstream out(path, std::ios::binary);
      out.write(reinterpret_cast<const char*>(seg.bytes.data()),
                static_cast<std::streamsize>(seg.bytes.size()));
    }
    const DciodvfyReport report = testing::RunDciodvfy(path);
    EXPECT_TRUE(report.ran) << "dciodvfy did not run";
    EXPECT_TRUE(report.errors.empty()) << report.output;
    for (const std::string& w : report.warnings)
      std::cout << "[dciodvfy " << name << "] " << w << "\n";
    PydicomSeg read = testing::ReadSegWithPydicom(path);
    EXPECT_TRUE(read.ok) << read.error;
    return read;
  }

  std::vector<std::byte> Made(const std::string& name) {
    if (!made_) {
      EXPECT_TRUE(testing::MakeDicomFiles(tmp_.path(), kMakeSeries));
      made_ = true;
    }
    return ReadBytes(tmp_.path() / name);
  }
  std::vector<std::byte> CtSlice(int i) { return Made("ct_" + std::to_string(i) + ".dcm"); }

  testing::TempDir tmp_;
  bool made_ = false;
};

TEST_F(SegWriterTest, SeriesWithTwoSegmentsValidatesAndReadsBack) {
  std::vector<std::vector<std::byte>> files = {CtSlice(1), CtSlice(2), CtSlice(3)};
  std::vector<DicomInstanceInfo> infos;
  for (const auto& f : files) {
    ASSERT_OK_AND_ASSIGN(DicomInstanceInfo info, ReadDicomInfo(f));
    infos.push_back(info);
  }
  std::vector<Image> masks(3, Mask(128, 128));
  Fill(&masks[0], 10, 20, 50, 60, 1);
  Fill(&masks[0], 70, 70, 100, 90, 2);
  Fill(&masks[1], 0, 0, 128, 3, 1);
  // masks[2]: nothing.
  std::vector<SegSource> sources;
  for (size_t i = 0; i < 3; ++i) sources.push_back({files[i], &masks[i]});
  const SegSegment segments[] = {{1, "lung", Rgb8{255, 0, 0}}, {2, "bone", Rgb8{0, 255, 0}}};
  SegOptions options;
  options.algorithm_name = "tiny_unet";
  options.algorithm_version = "3";
  options.series_instance_uid = "2.25.1234";
  options.sop_instance_uid = "2.25.5678";
  options.series_number = 1003;
  ASSERT_OK_AND_ASSIGN(DicomSeg seg, WriteDicomSeg(sources, segments, options));
  EXPECT_EQ(seg.frames, 3);  // lung on slices 1 and 2, bone on slice 1
  EXPECT_EQ(seg.series_instance_uid, "2.25.1234");
  EXPECT_EQ(seg.sop_instance_uid, "2.25.5678");
  EXPECT_EQ(seg.rows, 128);

  PydicomSeg read = Check(seg, "ct.seg.dcm");
  ASSERT_TRUE(read.ok);
  const nlohmann::json& h = read.header;
  EXPECT_EQ(h["modality"], "SEG");
  EXPECT_EQ(h["sop_class_uid"], "1.2.840.10008.5.1.4.1.1.66.4");
  EXPECT_EQ(h["segmentation_type"], "BINARY");
  EXPECT_EQ(h["series_instance_uid"], "2.25.1234");
  EXPECT_EQ(h["sop_instance_uid"], "2.25.5678");
  EXPECT_EQ(h["study_instance_uid"], infos[0].study_instance_uid);
  EXPECT_EQ(h["series_description"], "tiny_unet 3 segmentation");
  EXPECT_EQ(h["content_creator_name"], "infera^");
  EXPECT_FALSE(h["frame_of_reference_uid"].get<std::string>().empty());
  EXPECT_FALSE(h["patient_id"].get<std::string>().empty());
  ASSERT_EQ(h["segments"].size(), 2u);
  EXPECT_EQ(h["segments"][0]["label"], "lung");
  EXPECT_EQ(h["segments"][1]["label"], "bone");
  for (const auto& s : h["segments"]) {
    EXPECT_EQ(s["algorithm_type"], "AUTOMATIC");
    EXPECT_EQ(s["algorithm_name"], "tiny_unet");
    EXPECT_EQ(s["algorithm_version"], "3");
  }
  EXPECT_EQ(h["referenced_instances"].size(), 3u);
  // Pixel for pixel, per segment; the frames where a segment is empty are left out.
  ASSERT_EQ(read.masks[1].size(), 2u);
  ASSERT_EQ(read.masks[2].size(), 1u);
  EXPECT_EQ(read.masks[1][infos[0].sop_instance_uid], Binary(masks[0], 1));
  EXPECT_EQ(read.masks[1][infos[1].sop_instance_uid], Binary(masks[1], 1));
  EXPECT_EQ(read.masks[2][infos[0].sop_instance_uid], Binary(masks[0], 2));
  // Each frame at its source's position.
  for (const auto& f : h["frame_info"]) {
    for (const DicomInstanceInfo& info : infos) {
      if (info.sop_instance_uid != f["source"]) continue;
      ASSERT_TRUE(f["position"].is_array()) << f;
      EXPECT_NEAR(f["position"][2].get<double>(), (*info.image_position)[2], 1e-6);
    }
    EXPECT_TRUE(f["referenced_frames"].empty()) << f;
  }
}

TEST_F(SegWriterTest, MultiFrameSourceWithoutFrameOfReference) {
  // A 2-frame RGB multi-frame secondary capture (RLE): no positions, no frame of
  // reference; the SEG covers its first frame.
  const std::vector<std::byte> file = Made("mf.dcm");
  ASSERT_OK_AND_ASSIGN(DicomInstanceInfo info, ReadDicomInfo(file));
  ASSERT_EQ(info.frames, 2);
  Image mask = MakeImage(info.columns, info.rows, 1, PixelType::kUInt16);
  for (int i = 0; i < info.columns * info.rows; i += 3) mask.pixels<uint16_t>()[i] = 300;
  const SegSource sources[] = {{file, &mask}};
  const SegSegment segments[] = {{300, "Zellkern \xc3\xbc\\x", Rgb8{0, 0, 255}}};
  SegOptions options;
  options.algorithm_name = "cellpose_tiny";
  options.algorithm_version = "1";
  ASSERT_OK_AND_ASSIGN(DicomSeg seg, WriteDicomSeg(sources, segments, options));
  EXPECT_EQ(seg.frames, 1);
  EXPECT_TRUE(seg.series_instance_uid.size() > 4);
  PydicomSeg read = Check(seg, "sc.seg.dcm");
  ASSERT_TRUE(read.ok);
  // Text DICOM's LO cannot hold is replaced.
  EXPECT_EQ(read.header["segments"][0]["label"], "Zellkern ???x");
  EXPECT_EQ(read.header["frame_of_reference_uid"], "");
  ASSERT_EQ(read.header["frame_info"].size(), 1u);
  EXPECT_EQ(read.header["frame_info"][0]["referenced_frames"], nlohmann::json::array({1}));
  EXPECT_TRUE(read.header["frame_info"][0]["position"].is_null());
  EXPECT_EQ(read.masks[1][info.sop_instance_uid], Binary(mask, 300));

  // The same pixels under the single-frame SC class (NumberOfFrames against its IOD):
  // referenced whole, without a frame number.
  const std::vector<std::byte> sc = ReadBytes(PydicomTestFiles() / "SC_rgb_rle_2frame.dcm");
  const SegSource sc_sources[] = {{sc, &mask}};
  ASSERT_OK_AND_ASSIGN(DicomSeg sc_seg, WriteDicomSeg(sc_sources, segments, options));
  PydicomSeg sc_read = Check(sc_seg, "sc.seg.dcm");
  ASSERT_TRUE(sc_read.ok);
  EXPECT_EQ(sc_read.header["frame_info"][0]["referenced_frames"], nlohmann::json::array());
}

TEST_F(SegWriterTest, NothingSegmentedIsAnEmptyFramePerSegment) {
  const std::vector<std::byte> file = ReadBytes(PydicomTestFiles() / "MR_small.dcm");
  Image mask = Mask(64, 64);
  const SegSource sources[] = {{file, &mask}};
  const SegSegment segments[] = {{1, "foreground", Rgb8{255, 0, 0}}, {2, "other", Rgb8{0, 255, 0}}};
  SegOptions options;
  options.algorithm_name = "m";
  ASSERT_OK_AND_ASSIGN(DicomSeg seg, WriteDicomSeg(sources, segments, options));
  EXPECT_EQ(seg.frames, 2);  // one empty frame per segment
  PydicomSeg read = Check(seg, "empty.seg.dcm");
  ASSERT_TRUE(read.ok);
  EXPECT_EQ(read.header["segments"].size(), 2u);
  for (int segment : {1, 2}) {
    ASSERT_EQ(read.masks[segment].size(), 1u);
    EXPECT_EQ(read.masks[segment].begin()->second, std::vector<uint8_t>(64 * 64, 0));
  }
}

TEST_F(SegWriterTest, RefusesWhatDoesNotFit) {
  const std::vector<std::byte> ct = CtSlice(1);
  const std::vector<std::byte> mr = ReadBytes(PydicomTestFiles() / "MR_small.dcm");
  Image mask = Mask(128, 128);
  Image small = Mask(64, 64);
  Image rgb = MakeImage(128, 128, 3, PixelType::kUInt8);
  const SegSegment one[] = {{1, "a", {}}};
  SegOptions options;
  options.algorithm_name = "m";
  auto code = [&](std::vector<SegSource> sources, std::vector<SegSegment> segments,
                  const SegOptions& o) { return WriteDicomSeg(sources, segments, o).status(); };
  auto expect = [](const Status& s, const std::string& words) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_NE(std::string(s.message()).find(words), std::string::npos) << s;
  };
  expect(code({}, {one[0]}, options), "no source");
  expect(code({{ct, &small}}, {one[0]}, options), "64 x 64");
  expect(code({{ct, &rgb}}, {one[0]}, options), "1-channel");
  expect(code({{ct, nullptr}}, {one[0]}, options), "1-channel");
  expect(code({{ct, &mask}, {mr, &small}}, {one[0]}, options), "study and series");
  expect(code({{ct, &mask}, {ct, &mask}}, {one[0]}, options), "repeats");
  const std::string junk(200, 'x');
  expect(code({{std::as_bytes(std::span(junk.data(), junk.size())), &mask}}, {one[0]}, options),
         "not a DICOM file");
  expect(code({{ct, &mask}}, {}, options), "no segment");
  expect(code({{ct, &mask}}, {{0, "a", {}}}, options), "value 0");
  expect(code({{ct, &mask}}, {{1, "a", {}}, {1, "b", {}}}, options), "two segments");
  expect(code({{ct, &mask}}, {{1, "", {}}}, options), "no label");
  expect(code({{ct, &mask}}, {one[0]}, SegOptions{}), "algorithm name");
}

}  // namespace
}  // namespace infera
