// DICOM Segmentation objects (PS3.3 A.51) made with DCMTK's dcmseg: the masks a model
// made for the instances of one series, as one binary SEG instance that a PACS or a
// viewer (OHIF, 3D Slicer) shows over the series.
//
// WriteDicomSeg takes the source instances as stored (their headers are read, not their
// pixels) in slice order, each with its class mask (the labels of frame 0 at the
// source's size), and the segments: which mask value is which segment. It writes
//  - the Patient, Study and Frame of Reference modules of the first source (DCMTK's
//    importFromSourceImage: whatever the stored headers hold, anonymised or not);
//  - a new series (Modality SEG, the given UIDs, SeriesNumber, SeriesDescription) and
//    the Enhanced General Equipment module (infera and its version), the Content
//    Identification (ContentCreatorName "infera^", the model in ContentDescription);
//  - one segment per SegSegment: its label, category "Tissue" (SCT 85756007) and a type
//    of the local coding scheme 99INFERA (code value: the label upper-cased, meaning:
//    the label), SegmentAlgorithmType AUTOMATIC, SegmentAlgorithmName the algorithm
//    (the model's name), the Segmentation Algorithm Identification Sequence with its
//    name and version (family DCM 123110 "Artificial Intelligence"), a recommended
//    display colour;
//  - a frame for every (segment, source) pair where the segment has at least one pixel
//    (segments by number, then sources in the order given; a segment with no pixel
//    anywhere gets one empty frame on the first source, as every segment needs a frame),
//    each with a Frame Content (dimension index values), a Derivation Image (the
//    source's SOP class and instance, ReferencedFrameNumber 1 for a source of a
//    multi-frame SOP class, purpose DCM 121322) and, where the sources have a Frame of
//    Reference and positions, the source's Plane Position; Plane Orientation and Pixel
//    Measures (PixelSpacing, SliceThickness) shared when the sources have them. Sources
//    without a Frame of Reference (secondary captures) make a SEG without one, with the
//    source's PatientOrientation;
//  - dimensions (ReferencedSegmentNumber, then ImagePositionPatient — or
//    InStackPositionNumber for sources without positions) and the Common Instance
//    Reference module naming every source.
// Text that DICOM's LO/CS/PN cannot hold is made to fit: non-ASCII bytes and
// backslashes become '?', values are cut at their VR's length.
//
// Pure function of its inputs (apart from ContentDate/Time, the time of the call, and
// UIDs DCMTK makes when none are given); thread-safe. Errors: InvalidArgument naming
// what does not fit (a source that is not DICOM or lacks an attribute, a mask of
// another size or type, sources of different series or sizes, bad segments); Internal
// for what DCMTK refuses. No message quotes an attribute value of the sources.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "imaging/image.h"
#include "imaging/overlay.h"

namespace infera {

// One source instance and its mask.
struct SegSource {
  // The Part 10 file as stored (must outlive the call).
  std::span<const std::byte> dicom;
  // 1 channel, uint8 or uint16, Columns x Rows of the source: the mask values of its
  // first frame.
  const Image* mask = nullptr;
};

// One segment: the pixels whose mask value is `value`.
struct SegSegment {
  uint32_t value = 0;  // > 0; unique among the segments
  std::string label;   // SegmentLabel; not empty
  Rgb8 color;          // RecommendedDisplayCIELabValue (from this sRGB colour)
};

struct SegOptions {
  std::string algorithm_name;     // SegmentAlgorithmName (the model's name); not empty
  std::string algorithm_version;  // AlgorithmVersion (the model's version)
  // The SEG's UIDs; "" makes DCMTK generate one.
  std::string series_instance_uid;
  std::string sop_instance_uid;
  int series_number = 1;
  std::string series_description;  // "" : "<name> <version> segmentation"
};

// What was written.
struct DicomSeg {
  std::vector<std::byte> bytes;  // the Part 10 file, Explicit VR Little Endian
  std::string series_instance_uid;
  std::string sop_instance_uid;
  int frames = 0;
  int rows = 0;
  int columns = 0;
};

// See the file comment. `sources` in slice order, all of one series, at least one.
StatusOr<DicomSeg> WriteDicomSeg(std::span<const SegSource> sources,
                                 std::span<const SegSegment> segments, const SegOptions& options);

}  // namespace infera
