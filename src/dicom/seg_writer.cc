#include "dicom/seg_writer.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcostrmb.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmfg/fgderimg.h>
#include <dcmtk/dcmfg/fgfracon.h>
#include <dcmtk/dcmfg/fgpixmsr.h>
#include <dcmtk/dcmfg/fgplanor.h>
#include <dcmtk/dcmfg/fgplanpo.h>
#include <dcmtk/dcmiod/cielabutil.h>
#include <dcmtk/dcmiod/iodmacro.h>
#include <dcmtk/dcmiod/modcommoninstanceref.h>
#include <dcmtk/dcmiod/modequipment.h>
#include <dcmtk/dcmseg/segdoc.h>
#include <dcmtk/dcmseg/segment.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <set>

#include "common/strings.h"
#include "dicom/dcmtk_parse.h"
#include "dicom/dicom_image.h"

namespace infera {

using dicom_internal::ParseDicom;

namespace {

constexpr char kTypeScheme[] = "99INFERA";  // the local coding scheme of segment types

// `text` as DICOM text of at most `max` characters: bytes outside printable ASCII and
// backslashes (the value separator) become '?'.
std::string DicomText(std::string_view text, size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u > 0x7e || c == '\\' ? '?' : c);
  }
  return out;
}

// A CS value (upper-case letters, digits, space, '_'; at most 16): the code value of a
// segment type and the ContentLabel.
std::string CodeString(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (out.size() == 16) break;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    out.push_back((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ? c : '_');
  }
  return out.empty() ? "SEGMENT" : out;
}

// A DS value: at most 16 characters.
std::string DecimalString(double v) {
  char buf[32];
  for (int precision = 10; precision > 0; --precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strlen(buf) <= 16) break;
  }
  return buf;
}

Status Dcmtk(const OFCondition& cond, std::string_view what) {
  if (cond.good()) return absl::OkStatus();
  return absl::InternalError(StrCat("DICOM SEG: ", what, ": ", cond.text()));
}

std::optional<double> GetDouble(DcmItem* item, const DcmTagKey& tag) {
  Float64 value = 0;
  if (item->findAndGetFloat64(tag, value).good() && std::isfinite(value)) return value;
  return std::nullopt;
}

// One source, parsed.
struct Source {
  DicomInstanceInfo info;
  std::unique_ptr<DcmFileFormat> file;
  const Image* mask = nullptr;
  std::optional<double> slice_thickness;
};

StatusOr<std::vector<Source>> ReadSources(std::span<const SegSource> sources) {
  if (sources.empty()) return absl::InvalidArgumentError("DICOM SEG: no source instance");
  std::vector<Source> out;
  std::set<std::string> uids;
  for (size_t i = 0; i < sources.size(); ++i) {
    const SegSource& s = sources[i];
    Source src;
    StatusOr<DicomInstanceInfo> info = ReadDicomInfo(s.dicom);
    if (!info.ok()) {
      return absl::InvalidArgumentError(
          StrCat("DICOM SEG: source ", i + 1, ": ", info.status().message()));
    }
    src.info = std::move(*info);
    ASSIGN_OR_RETURN(src.file, ParseDicom(s.dicom, /*until_pixels=*/true));
    const DicomInstanceInfo& in = src.info;
    if (in.sop_class_uid.empty() || in.sop_instance_uid.empty()) {
      return absl::InvalidArgumentError(
          StrCat("DICOM SEG: source ", i + 1, " has no SOPClassUID or SOPInstanceUID"));
    }
    if (!uids.insert(in.sop_instance_uid).second) {
      return absl::InvalidArgumentError(
          StrCat("DICOM SEG: source ", i + 1, " repeats the SOPInstanceUID of another source"));
    }
    if (in.rows > 65535 || in.columns > 65535) {
      return absl::InvalidArgumentError(StrCat("DICOM SEG: source ", i + 1, " is too large"));
    }
    const Source* first = out.empty() ? &src : &out.front();
    if (in.series_instance_uid != first->info.series_instance_uid ||
        in.study_instance_uid != first->info.study_instance_uid) {
      return absl::InvalidArgumentError(
          StrCat("DICOM SEG: source ", i + 1, " is not of the first source's study and series"));
    }
    if (in.rows != first->info.rows || in.columns != first->info.columns) {
      return absl::InvalidArgumentError(StrCat("DICOM SEG: source ", i + 1, " has ", in.columns,
                                               " x ", in.rows, " pixels, the first ",
                                               first->info.columns, " x ", first->info.rows));
    }
    const Image* mask = s.mask;
    if (mask == nullptr || mask->channels != 1 ||
        (mask->type != PixelType::kUInt8 && mask->type != PixelType::kUInt16)) {
      return absl::InvalidArgumentError(
          StrCat("DICOM SEG: the mask of source ", i + 1, " is not a 1-channel 8/16-bit image"));
    }
    if (mask->width != in.columns || mask->height != in.rows) {
      return absl::InvalidArgumentError(StrCat("DICOM SEG: the mask of source ", i + 1, " is ",
                                               mask->width, " x ", mask->height, ", the source ",
                                               in.columns, " x ", in.rows));
    }
    src.mask = mask;
    DcmDataset* ds = src.file->getDataset();
    src.slice_thickness = GetDouble(ds, DCM_SliceThickness);
    out.push_back(std::move(src));
  }
  return out;
}

Status CheckSegments(std::span<const SegSegment> segments) {
  if (segments.empty()) return absl::InvalidArgumentError("DICOM SEG: no segment");
  if (segments.size() > 65535) return absl::InvalidArgumentError("DICOM SEG: too many segments");
  std::set<uint32_t> values;
  for (const SegSegment& s : segments) {
    if (s.value == 0) return absl::InvalidArgumentError("DICOM SEG: a segment has mask value 0");
    if (!values.insert(s.value).second) {
      return absl::InvalidArgumentError(
          StrCat("DICOM SEG: two segments have mask value ", s.value));
    }
    if (s.label.empty()) return absl::InvalidArgumentError("DICOM SEG: a segment has no label");
  }
  return absl::OkStatus();
}

// Frame `pixels` (rows x columns bytes, 1 where the mask has `value`); whether any is set.
bool SegmentPixels(const Image& mask, uint32_t value, std::vector<Uint8>* pixels) {
  const size_t n = static_cast<size_t>(mask.width) * mask.height;
  pixels->assign(n, 0);
  bool any = false;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t v =
        mask.type == PixelType::kUInt8 ? mask.pixels<uint8_t>()[i] : mask.pixels<uint16_t>()[i];
    if (v == value) {
      (*pixels)[i] = 1;
      any = true;
    }
  }
  return any;
}

// The image storage SOP classes whose IOD has no NumberOfFrames (CR, DX / MG / IO, CT,
// US, MR, SC, PET): their instances are referenced without a frame number.
bool SingleFrameClass(std::string_view uid) {
  static constexpr std::string_view kSingle[] = {
      "1.2.840.10008.5.1.4.1.1.1",     "1.2.840.10008.5.1.4.1.1.1.1",
      "1.2.840.10008.5.1.4.1.1.1.1.1", "1.2.840.10008.5.1.4.1.1.1.2",
      "1.2.840.10008.5.1.4.1.1.1.2.1", "1.2.840.10008.5.1.4.1.1.1.3",
      "1.2.840.10008.5.1.4.1.1.1.3.1", "1.2.840.10008.5.1.4.1.1.2",
      "1.2.840.10008.5.1.4.1.1.4",     "1.2.840.10008.5.1.4.1.1.6.1",
      "1.2.840.10008.5.1.4.1.1.7",     "1.2.840.10008.5.1.4.1.1.128"};
  return std::find(std::begin(kSingle), std::end(kSingle), uid) != std::end(kSingle);
}

std::string NewUid() {
  char uid[100];
  dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT);
  return uid;
}

// The dataset as a Part 10 file in memory.
StatusOr<std::vector<std::byte>> Serialize(DcmFileFormat& file) {
  const E_TransferSyntax xfer = EXS_LittleEndianExplicit;
  RETURN_IF_ERROR(Dcmtk(file.validateMetaInfo(xfer), "file meta information"));
  std::vector<char> chunk(1 << 20);
  std::vector<std::byte> out;
  DcmOutputBufferStream stream(chunk.data(), static_cast<offile_off_t>(chunk.size()));
  file.transferInit();
  OFCondition cond = EC_StreamNotifyClient;
  while (cond == EC_StreamNotifyClient) {
    cond = file.write(stream, xfer, EET_ExplicitLength, nullptr, EGL_recalcGL, EPD_noChange, 0, 0,
                      0, EWM_fileformat);
    if (cond == EC_StreamNotifyClient || cond.good()) {
      if (cond.good()) stream.flush();
      void* buffer = nullptr;
      offile_off_t length = 0;
      stream.flushBuffer(buffer, length);
      const auto* p = static_cast<const std::byte*>(buffer);
      out.insert(out.end(), p, p + length);
    }
  }
  file.transferEnd();
  RETURN_IF_ERROR(Dcmtk(cond, "writing the file"));
  return out;
}

}  // namespace

StatusOr<DicomSeg> WriteDicomSeg(std::span<const SegSource> sources,
                                 std::span<const SegSegment> segments, const SegOptions& options) {
  if (options.algorithm_name.empty()) {
    return absl::InvalidArgumentError("DICOM SEG: no algorithm name");
  }
  RETURN_IF_ERROR(CheckSegments(segments));
  ASSIGN_OR_RETURN(std::vector<Source> srcs, ReadSources(sources));
  const DicomInstanceInfo& first = srcs.front().info;
  DcmDataset* first_ds = srcs.front().file->getDataset();

  const std::string name = DicomText(options.algorithm_name, 64);
  const std::string version = DicomText(options.algorithm_version, 64);
  IODGeneralEquipmentModule::EquipmentInfo equipment("infera", "infera", "0",
                                                     DicomText(INFERA_VERSION, 64).c_str());
  ContentIdentificationMacro content(
      "1", CodeString(options.algorithm_name).c_str(),
      DicomText(StrCat(options.algorithm_name, " version ", options.algorithm_version, " (infera)"),
                64)
          .c_str(),
      "infera^");
  DcmSegmentation* raw = nullptr;
  RETURN_IF_ERROR(Dcmtk(DcmSegmentation::createBinarySegmentation(
                            raw, static_cast<Uint16>(first.rows),
                            static_cast<Uint16>(first.columns), equipment, content),
                        "creating the segmentation"));
  std::unique_ptr<DcmSegmentation> seg(raw);
  // Patient, study and frame of reference of the source; our own equipment after it.
  RETURN_IF_ERROR(Dcmtk(seg->importFromSourceImage(*first_ds), "importing the source's modules"));
  RETURN_IF_ERROR(Dcmtk(seg->setEquipmentInfo(equipment), "equipment"));

  DicomSeg out;
  out.rows = first.rows;
  out.columns = first.columns;
  out.series_instance_uid =
      options.series_instance_uid.empty() ? NewUid() : options.series_instance_uid;
  out.sop_instance_uid = options.sop_instance_uid.empty() ? NewUid() : options.sop_instance_uid;
  RETURN_IF_ERROR(
      Dcmtk(seg->getSeries().setSeriesInstanceUID(out.series_instance_uid.c_str()), "series UID"));
  RETURN_IF_ERROR(
      Dcmtk(seg->getSOPCommon().setSOPInstanceUID(out.sop_instance_uid.c_str()), "instance UID"));
  RETURN_IF_ERROR(Dcmtk(seg->getSegmentationSeriesModule().setSeriesNumber(
                            std::to_string(std::clamp(options.series_number, 0, 99999)).c_str()),
                        "series number"));
  const std::string description =
      options.series_description.empty()
          ? StrCat(options.algorithm_name, " ", options.algorithm_version, " segmentation")
          : options.series_description;
  RETURN_IF_ERROR(Dcmtk(seg->getSeries().setSeriesDescription(DicomText(description, 64).c_str()),
                        "series description"));

  // Geometry: positions only within a frame of reference, and only when every source has
  // one; the orientation shared when all agree.
  OFString frame_of_reference;
  const bool have_for =
      seg->getFrameOfReference().getFrameOfReferenceUID(frame_of_reference).good() &&
      !frame_of_reference.empty();
  if (!have_for) {
    // The Frame of Reference module is required only of a SEG whose sources have one
    // (PS3.3 A.51.3); DCMTK's rules make it type 1 always, so for sources without one (a
    // secondary capture) its rules go and the module is not written.
    seg->getRules()->deleteRule(DCM_FrameOfReferenceUID);
    seg->getRules()->deleteRule(DCM_PositionReferenceIndicator);
  }
  bool positions = have_for;
  bool orientations = have_for;
  bool same_orientation = true;
  for (const Source& s : srcs) {
    positions = positions && s.info.image_position.has_value();
    orientations = orientations && s.info.image_orientation.has_value();
    if (orientations && s.info.image_orientation != first.image_orientation) {
      same_orientation = false;
    }
  }
  auto orientation_fg = [](const std::array<double, 6>& o) {
    return std::unique_ptr<FGPlaneOrientationPatient>(FGPlaneOrientationPatient::createMinimal(
        DecimalString(o[0]).c_str(), DecimalString(o[1]).c_str(), DecimalString(o[2]).c_str(),
        DecimalString(o[3]).c_str(), DecimalString(o[4]).c_str(), DecimalString(o[5]).c_str()));
  };
  if (orientations && same_orientation) {
    std::unique_ptr<FGPlaneOrientationPatient> fg = orientation_fg(*first.image_orientation);
    if (fg == nullptr) return absl::InternalError("DICOM SEG: cannot make the plane orientation");
    RETURN_IF_ERROR(Dcmtk(seg->addForAllFrames(*fg), "plane orientation"));
  }
  if (first.pixel_spacing) {
    FGPixelMeasures measures;
    RETURN_IF_ERROR(
        Dcmtk(measures.setPixelSpacing(StrCat(DecimalString(first.pixel_spacing->row_mm), "\\",
                                              DecimalString(first.pixel_spacing->column_mm))
                                           .c_str()),
              "pixel spacing"));
    if (srcs.front().slice_thickness && *srcs.front().slice_thickness > 0) {
      RETURN_IF_ERROR(
          Dcmtk(measures.setSliceThickness(DecimalString(*srcs.front().slice_thickness).c_str()),
                "slice thickness"));
    }
    RETURN_IF_ERROR(Dcmtk(seg->addForAllFrames(measures), "pixel measures"));
  }

  // Dimensions: the segment, then the position in the series.
  const std::string dimension_uid = NewUid();
  IODMultiframeDimensionModule& dims = seg->getDimensions();
  RETURN_IF_ERROR(
      Dcmtk(dims.addDimensionIndex(DCM_ReferencedSegmentNumber, dimension_uid.c_str(),
                                   DCM_SegmentIdentificationSequence, "ReferencedSegmentNumber"),
            "dimension index"));
  if (positions) {
    RETURN_IF_ERROR(Dcmtk(dims.addDimensionIndex(DCM_ImagePositionPatient, dimension_uid.c_str(),
                                                 DCM_PlanePositionSequence, "ImagePositionPatient"),
                          "dimension index"));
  } else {
    RETURN_IF_ERROR(Dcmtk(dims.addDimensionIndex(DCM_InStackPositionNumber, dimension_uid.c_str(),
                                                 DCM_FrameContentSequence, "InStackPositionNumber"),
                          "dimension index"));
  }

  // Segments.
  std::vector<Uint16> numbers;
  for (const SegSegment& s : segments) {
    CodeSequenceMacro category("85756007", "SCT", "Tissue");
    CodeSequenceMacro type(CodeString(s.label).c_str(), kTypeScheme,
                           DicomText(s.label, 64).c_str());
    DcmSegment* segment = nullptr;
    RETURN_IF_ERROR(Dcmtk(DcmSegment::create(segment, DicomText(s.label, 64).c_str(), category,
                                             type, DcmSegTypes::SAT_AUTOMATIC, name.c_str()),
                          "creating a segment"));
    std::unique_ptr<DcmSegment> owned(segment);
    AlgorithmIdentificationMacro& algorithm = segment->getSegmentationAlgorithmIdentification();
    RETURN_IF_ERROR(
        Dcmtk(algorithm.getAlgorithmFamilyCode().set("123110", "DCM", "Artificial Intelligence"),
              "algorithm family"));
    RETURN_IF_ERROR(Dcmtk(algorithm.setAlgorithmName(name.c_str()), "algorithm name"));
    RETURN_IF_ERROR(Dcmtk(algorithm.setAlgorithmVersion(version.empty() ? "0" : version.c_str()),
                          "algorithm version"));
    double l = 0, a = 0, b = 0;
    IODCIELabUtil::rgb2DicomLab(l, a, b, s.color.r / 255.0, s.color.g / 255.0, s.color.b / 255.0);
    auto u16 = [](double v) { return static_cast<Uint16>(std::clamp(std::lround(v), 0L, 65535L)); };
    RETURN_IF_ERROR(
        Dcmtk(segment->setRecommendedDisplayCIELabValue(u16(l), u16(a), u16(b)), "segment colour"));
    Uint16 number = 0;
    RETURN_IF_ERROR(Dcmtk(seg->addSegment(segment, number), "adding a segment"));
    (void)owned.release();  // the segmentation owns it now
    numbers.push_back(number);
  }

  // Frames.
  std::vector<Uint8> pixels;
  auto add_frame = [&](size_t segment_index, size_t source_index) -> Status {
    const Source& s = srcs[source_index];
    FGFrameContent content;
    RETURN_IF_ERROR(Dcmtk(content.setDimensionIndexValues(numbers[segment_index], 0), "frame"));
    RETURN_IF_ERROR(
        Dcmtk(content.setDimensionIndexValues(static_cast<Uint32>(source_index + 1), 1), "frame"));
    OFVector<FGBase*> groups;
    groups.push_back(&content);
    if (!positions) {
      RETURN_IF_ERROR(Dcmtk(content.setStackID("1"), "stack"));
      RETURN_IF_ERROR(
          Dcmtk(content.setInStackPositionNumber(static_cast<Uint32>(source_index + 1)), "stack"));
    }
    std::unique_ptr<FGPlanePosPatient> position;
    if (positions) {
      const std::array<double, 3>& p = *s.info.image_position;
      position.reset(FGPlanePosPatient::createMinimal(
          DecimalString(p[0]).c_str(), DecimalString(p[1]).c_str(), DecimalString(p[2]).c_str()));
      if (position == nullptr) return absl::InternalError("DICOM SEG: cannot make a position");
      groups.push_back(position.get());
    }
    std::unique_ptr<FGPlaneOrientationPatient> orientation;
    if (orientations && !same_orientation) {
      orientation = orientation_fg(*s.info.image_orientation);
      if (orientation == nullptr)
        return absl::InternalError("DICOM SEG: cannot make an orientation");
      groups.push_back(orientation.get());
    }
    // A multi-frame source: the frame the masks are of (the first) — when its SOP class
    // is a multi-frame one (dciodvfy refuses ReferencedFrameNumber for the others, as the
    // standard does: a single-frame class with NumberOfFrames > 1 is referenced whole).
    ImageSOPInstanceReferenceMacro* reference = nullptr;
    RETURN_IF_ERROR(
        Dcmtk(ImageSOPInstanceReferenceMacro::create(s.info.sop_class_uid.c_str(),
                                                     s.info.sop_instance_uid.c_str(), reference),
              "source reference"));
    std::unique_ptr<ImageSOPInstanceReferenceMacro> owned_reference(reference);
    if (s.info.frames > 1 && !SingleFrameClass(s.info.sop_class_uid)) {
      RETURN_IF_ERROR(Dcmtk(reference->addReferencedFrameNumber(1), "referenced frame"));
    }
    OFVector<ImageSOPInstanceReferenceMacro> references;
    references.push_back(*reference);
    std::unique_ptr<FGDerivationImage> derivation(FGDerivationImage::createMinimal(
        references, "", CodeSequenceMacro("113076", "DCM", "Segmentation"),
        CodeSequenceMacro("121322", "DCM", "Source image for image processing operation")));
    if (derivation == nullptr) return absl::InternalError("DICOM SEG: cannot make a derivation");
    groups.push_back(derivation.get());
    return Dcmtk(seg->addFrame(pixels.data(), numbers[segment_index], groups), "adding a frame");
  };
  for (size_t g = 0; g < segments.size(); ++g) {
    int frames = 0;
    for (size_t i = 0; i < srcs.size(); ++i) {
      if (!SegmentPixels(*srcs[i].mask, segments[g].value, &pixels)) continue;
      RETURN_IF_ERROR(add_frame(g, i));
      ++frames;
    }
    if (frames == 0) {
      // A segment with no pixel anywhere still has a frame (DCMTK, and readers, want
      // every segment of the Segment Sequence to have one): empty, on the first source.
      pixels.assign(static_cast<size_t>(first.rows) * first.columns, 0);
      RETURN_IF_ERROR(add_frame(g, 0));
      frames = 1;
    }
    out.frames += frames;
  }

  // Every source, in the Common Instance Reference module.
  auto* series = new IODSeriesAndInstanceReferenceMacro::ReferencedSeriesItem();
  seg->getCommonInstanceReference().getReferencedSeriesItems().push_back(series);
  RETURN_IF_ERROR(
      Dcmtk(series->setSeriesInstanceUID(first.series_instance_uid.c_str()), "referenced series"));
  for (const Source& s : srcs) {
    auto* instance = new SOPInstanceReferenceMacro();
    series->getReferencedInstanceItems().push_back(instance);
    RETURN_IF_ERROR(Dcmtk(instance->setReferencedSOPClassUID(s.info.sop_class_uid.c_str()),
                          "referenced instance"));
    RETURN_IF_ERROR(Dcmtk(instance->setReferencedSOPInstanceUID(s.info.sop_instance_uid.c_str()),
                          "referenced instance"));
  }

  DcmFileFormat file;
  RETURN_IF_ERROR(Dcmtk(seg->writeDataset(*file.getDataset()), "writing the dataset"));
  if (!have_for) {
    // Without a frame of reference the General Image module's PatientOrientation (type
    // 2C) is required: the source's, else empty.
    OFString orientation;
    first_ds->findAndGetOFStringArray(DCM_PatientOrientation, orientation);
    RETURN_IF_ERROR(
        Dcmtk(file.getDataset()->putAndInsertOFStringArray(DCM_PatientOrientation, orientation),
              "patient orientation"));
  }
  ASSIGN_OR_RETURN(out.bytes, Serialize(file));
  return out;
}

}  // namespace infera
