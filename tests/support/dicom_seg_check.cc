#include "support/dicom_seg_check.h"

#include <cstdlib>
#include <sstream>

#include "support/pydicom_files.h"
#include "support/test_env.h"

namespace infera::testing {

namespace fs = std::filesystem;

namespace {

constexpr char kDciodvfy[] = "/usr/bin/dciodvfy";

// Reads the SEG at argv[1] and writes argv[2]: the header JSON, with every frame's
// pixels as a string of '0'/'1'.
constexpr char kReadSeg[] = R"(
import sys, json, numpy, pydicom
ds = pydicom.dcmread(sys.argv[1])
def text(v):
    return '' if v is None else str(v)
out = {
    'modality': text(ds.get('Modality')),
    'sop_class_uid': text(ds.get('SOPClassUID')),
    'sop_instance_uid': text(ds.get('SOPInstanceUID')),
    'series_instance_uid': text(ds.get('SeriesInstanceUID')),
    'study_instance_uid': text(ds.get('StudyInstanceUID')),
    'patient_id': text(ds.get('PatientID')),
    'patient_name': text(ds.get('PatientName')),
    'frame_of_reference_uid': text(ds.get('FrameOfReferenceUID')),
    'series_description': text(ds.get('SeriesDescription')),
    'content_creator_name': text(ds.get('ContentCreatorName')),
    'segmentation_type': text(ds.get('SegmentationType')),
    'rows': int(ds.Rows), 'columns': int(ds.Columns),
    'frames': int(ds.get('NumberOfFrames', 1)),
    'segments': [], 'referenced_instances': [], 'frame_info': [], 'pixels': [],
}
for s in ds.SegmentSequence:
    algo = s.get('SegmentationAlgorithmIdentificationSequence')
    out['segments'].append({
        'number': int(s.SegmentNumber), 'label': text(s.SegmentLabel),
        'algorithm_type': text(s.SegmentAlgorithmType),
        'algorithm_name': text(s.get('SegmentAlgorithmName')),
        'algorithm_version': text(algo[0].get('AlgorithmVersion')) if algo else ''})
for series in ds.get('ReferencedSeriesSequence', []):
    for inst in series.ReferencedInstanceSequence:
        out['referenced_instances'].append(text(inst.ReferencedSOPInstanceUID))
pixels = ds.pixel_array
if pixels.ndim == 2:
    pixels = pixels[numpy.newaxis, ...]
for i, frame in enumerate(ds.PerFrameFunctionalGroupsSequence):
    seg = int(frame.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
    src = frame.DerivationImageSequence[0].SourceImageSequence[0]
    pos = None
    if 'PlanePositionSequence' in frame:
        pos = [float(v) for v in frame.PlanePositionSequence[0].ImagePositionPatient]
    frames = src.get('ReferencedFrameNumber')
    if frames is None or frames == '':
        frames = []
    elif isinstance(frames, (list, pydicom.multival.MultiValue)):
        frames = [int(v) for v in frames]
    else:
        frames = [int(frames)]
    out['frame_info'].append({
        'segment': seg, 'source': text(src.ReferencedSOPInstanceUID),
        'referenced_frames': frames, 'position': pos})
    out['pixels'].append(''.join('1' if v else '0' for v in pixels[i].reshape(-1)))
with open(sys.argv[2], 'w') as f:
    json.dump(out, f)
)";

}  // namespace

DciodvfyReport RunDciodvfy(const fs::path& file) {
  DciodvfyReport report;
  if (!fs::exists(kDciodvfy)) return report;
  const fs::path out = file.string() + ".dciodvfy.txt";
  const std::string command = std::string(kDciodvfy) + " " + ShellQuote(file.string()) + " > " +
                              ShellQuote(out.string()) + " 2>&1";
  const int rc = std::system(command.c_str());
  if (rc == -1 || !fs::exists(out)) return report;
  report.ran = true;
  report.output = ReadFile(out);
  std::istringstream lines(report.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("Error")) report.errors.push_back(line);
    if (line.starts_with("Warning")) report.warnings.push_back(line);
  }
  fs::remove(out);
  return report;
}

PydicomSeg ReadSegWithPydicom(const fs::path& file) {
  PydicomSeg seg;
  if (!HavePydicom()) {
    seg.error = "needs /usr/bin/python3 with pydicom and numpy";
    return seg;
  }
  TempDir dir;
  const fs::path json_path = dir.path() / "seg.json";
  if (!RunPython(dir.path(), kReadSeg, {file.string(), json_path.string()})) {
    seg.error = "pydicom could not read the SEG (see the script's stderr)";
    return seg;
  }
  nlohmann::json j = nlohmann::json::parse(ReadFile(json_path), nullptr, false);
  if (j.is_discarded()) {
    seg.error = "the reader's JSON does not parse";
    return seg;
  }
  const nlohmann::json pixels = j["pixels"];
  j.erase("pixels");
  const nlohmann::json& frames = j["frame_info"];
  if (!pixels.is_array() || pixels.size() != frames.size()) {
    seg.error = "frames and pixel frames differ in number";
    return seg;
  }
  for (size_t i = 0; i < frames.size(); ++i) {
    const std::string bits = pixels[i].get<std::string>();
    std::vector<uint8_t> mask(bits.size());
    for (size_t k = 0; k < bits.size(); ++k) mask[k] = bits[k] == '1' ? 1 : 0;
    auto& by_source = seg.masks[frames[i]["segment"].get<int>()];
    const std::string source = frames[i]["source"].get<std::string>();
    if (by_source.count(source) != 0) {
      seg.error = "two frames of one segment reference the same source";
      return seg;
    }
    by_source[source] = std::move(mask);
  }
  seg.header = std::move(j);
  seg.ok = true;
  return seg;
}

}  // namespace infera::testing
