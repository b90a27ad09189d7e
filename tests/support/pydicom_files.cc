#include "support/pydicom_files.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "support/test_env.h"

namespace infera::testing {

namespace fs = std::filesystem;

namespace {

constexpr char kPython[] = "/usr/bin/python3";

}  // namespace

std::string ShellQuote(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

fs::path PydicomTestFiles() { return "/usr/lib/python3/dist-packages/pydicom/data/test_files"; }

bool HavePydicom() {
  static const bool have = [] {
    if (!fs::exists(kPython) || !fs::exists(PydicomTestFiles() / "CT_small.dcm")) return false;
    const std::string command =
        std::string(kPython) + " -c 'import pydicom, numpy' >/dev/null 2>&1";
    return std::system(command.c_str()) == 0;
  }();
  return have;
}

bool RunPython(const fs::path& dir, const std::string& script,
               const std::vector<std::string>& args) {
  const fs::path path = dir / "script.py";
  WriteFile(path, script);
  std::string command = std::string(kPython) + " -W ignore " + ShellQuote(path.string());
  for (const std::string& arg : args) command += " " + ShellQuote(arg);
  return std::system(command.c_str()) == 0;
}

std::vector<std::byte> ReadBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

}  // namespace infera::testing
