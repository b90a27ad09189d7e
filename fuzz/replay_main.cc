// fuzz_replay: runs every committed corpus file (fuzz/corpus/<target>/*) through its fuzz
// target's entry point, built with the normal compiler and a plain main instead of
// libFuzzer, so `ctest -L unit` (and `make test`) catches a regression of anything a
// fuzzer once found. Each target's LLVMFuzzerTestOneInput is compiled under the name
// InferaFuzz_<target> (fuzz/CMakeLists.txt). Fails when a target has no corpus folder,
// a corpus folder has no target, or a file makes a target crash (the process dies with
// the file named on stderr just before).
//   fuzz_replay CORPUS_ROOT [TARGET]
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#define INFERA_FUZZ_DECLARE(name) \
  extern "C" int InferaFuzz_##name(const uint8_t* data, size_t size);
#include "fuzz_targets.inc"
#undef INFERA_FUZZ_DECLARE

namespace {

struct Target {
  std::string_view name;
  int (*run)(const uint8_t*, size_t);
};

constexpr Target kTargets[] = {
#define INFERA_FUZZ_DECLARE(name) {#name, &InferaFuzz_##name},
#include "fuzz_targets.inc"
#undef INFERA_FUZZ_DECLARE
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_ROOT [TARGET]\n", argv[0]);
    return 2;
  }
  namespace fs = std::filesystem;
  const fs::path root = argv[1];
  const std::string_view only = argc > 2 ? argv[2] : "";
  std::set<std::string> known;
  for (const Target& t : kTargets) known.insert(std::string(t.name));
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    if (entry.is_directory() && !known.count(entry.path().filename().string())) {
      std::fprintf(stderr, "corpus folder %s has no fuzz target\n", entry.path().c_str());
      return 1;
    }
  }
  if (ec) {
    std::fprintf(stderr, "cannot list %s: %s\n", root.c_str(), ec.message().c_str());
    return 1;
  }
  int failures = 0;
  size_t total = 0;
  for (const Target& t : kTargets) {
    if (!only.empty() && t.name != only) continue;
    const fs::path dir = root / t.name;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
    if (ec || files.empty()) {
      std::fprintf(stderr, "fuzz target %.*s has no corpus in %s\n",
                   static_cast<int>(t.name.size()), t.name.data(), dir.c_str());
      ++failures;
      continue;
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      std::ifstream in(file, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
      std::fprintf(stderr, "%.*s %s\n", static_cast<int>(t.name.size()), t.name.data(),
                   file.filename().c_str());
      t.run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    }
    total += files.size();
    std::printf("%.*s: %zu files replayed\n", static_cast<int>(t.name.size()), t.name.data(),
                files.size());
  }
  std::printf("%zu corpus files replayed, %d targets without a corpus\n", total, failures);
  return failures == 0 ? 0 : 1;
}
