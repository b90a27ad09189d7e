#include "support/dicom_fixtures.h"

#include "support/pydicom_files.h"

namespace infera::testing {

namespace fs = std::filesystem;

namespace {

// What dicom_fixtures.h says a maker script starts with.
constexpr char kPrelude[] = R"(
import sys, os, copy, pydicom
SRC, OUT, ARGS = sys.argv[1], sys.argv[2], sys.argv[3:]

def read(name):
    return pydicom.dcmread(os.path.join(SRC, name))

CT = read('CT_small.dcm')

def ct_copy(suffix):
    ds = copy.deepcopy(CT)
    ds.SOPInstanceUID = CT.SOPInstanceUID + suffix
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds

def ct_slices(zs, suffix='.%d'):
    out = []
    for i, z in enumerate(zs, start=1):
        ds = ct_copy(suffix % i)
        ds.ImagePositionPatient = [-158.135803, -179.035797, z]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        out.append((i, ds))
    return out

def write_ct_series(zs, numbers=None, **attrs):
    for i, ds in ct_slices(zs):
        if numbers is not None:
            ds.InstanceNumber = numbers[i - 1]
        for keyword, value in attrs.items():
            setattr(ds, keyword, value)
        ds.save_as(os.path.join(OUT, 'ct_%d.dcm' % i))

def multiframe_true_colour_sc():
    ds = read('SC_rgb_rle_2frame.dcm')
    ds.SOPClassUID = '1.2.840.10008.5.1.4.1.1.7.4'
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    return ds

)";

}  // namespace

bool MakeDicomFiles(const fs::path& out, const std::string& script,
                    const std::vector<std::string>& args) {
  if (!HavePydicom()) return false;
  std::vector<std::string> argv = {PydicomTestFiles().string(), out.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunPython(out, std::string(kPrelude) + script, argv);
}

bool WriteEditedTestFile(const std::string& source, const std::string& edits, const fs::path& out) {
  return MakeDicomFiles(out.parent_path(), "ds = read(ARGS[0])\n" + edits + "ds.save_as(ARGS[1])\n",
                        {source, out.string()});
}

}  // namespace infera::testing
