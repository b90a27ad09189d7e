// DICOM files for the tests, made at test time with pydicom (/usr/bin/python3, Debian's
// python3-pydicom) from pydicom's test files: the makers the DICOM unit and integration
// tests share (a CT series cut from CT_small, a multi-frame colour secondary capture, a
// test file with some attributes changed).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace infera::testing {

// Runs `script` with /usr/bin/python3 after a prelude that gives it:
//   sys, os, copy, pydicom  imported (a script imports anything else it needs)
//   SRC, OUT     pydicom's test files folder (PydicomTestFiles()) and `out`
//   ARGS         `args`, as strings
//   read(name)   pydicom's test file `name`, read
//   CT           CT_small.dcm, read (shared: copy it before changing it)
//   ct_copy(suffix)  a deep copy of CT whose SOP Instance UID (in the file meta too) is
//                CT's + suffix
//   ct_slices(zs, suffix='.%d')  [(i, ds)] for i = 1..len(zs): ct_copy(suffix % i) as an
//                axial slice of CT's series at z = zs[i - 1] (x and y as CT_small)
//   write_ct_series(zs, numbers=None, **attrs)  ct_slices(zs) with InstanceNumber
//                numbers[i - 1] (CT's own when None) and the attributes `attrs` set,
//                saved as OUT/ct_1.dcm .. ct_N.dcm (a file's number is its place in zs,
//                not its slice order)
//   multiframe_true_colour_sc()  SC_rgb_rle_2frame.dcm (2 RGB frames, RLE, no frame of
//                reference) as a Multi-frame True Color Secondary Capture
// The script is written to out/script.py. True when pydicom is there (HavePydicom) and
// the script exits 0; its stderr goes to the test's.
bool MakeDicomFiles(const std::filesystem::path& out, const std::string& script,
                    const std::vector<std::string>& args = {});

// Writes `out`: pydicom's test file `source` (e.g. "MR_small.dcm") read as `ds`, after
// `edits` (Python statements on `ds`, one a line, e.g. "ds.Rows = 128\n"). Runs in out's
// folder (script.py is written there); true as MakeDicomFiles.
bool WriteEditedTestFile(const std::string& source, const std::string& edits,
                         const std::filesystem::path& out);

}  // namespace infera::testing
