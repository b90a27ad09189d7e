// pydicom's test files and /usr/bin/python3 with pydicom, for the DICOM tests: the
// expected values come from pydicom at test time.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace infera::testing {

// /usr/lib/python3/dist-packages/pydicom/data/test_files (Debian's python3-pydicom).
std::filesystem::path PydicomTestFiles();
// Whether /usr/bin/python3 imports pydicom and numpy and the test files are there.
bool HavePydicom();
// `arg` in single quotes, for a /bin/sh command line.
std::string ShellQuote(const std::string& arg);
// Writes `script` into `dir` and runs it with /usr/bin/python3, the arguments quoted;
// true when it exits 0 (its stderr goes to the test's).
bool RunPython(const std::filesystem::path& dir, const std::string& script,
               const std::vector<std::string>& args);
std::vector<std::byte> ReadBytes(const std::filesystem::path& path);

}  // namespace infera::testing
