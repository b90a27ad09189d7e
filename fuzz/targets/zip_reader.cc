// Fuzz target: the ZIP reader (archive/zip_reader, libzip underneath), every archive
// upload: the central directory, each entry's checks, the prefix check, extraction.
#include "archive/zip_reader.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::filesystem::path dir = infera::fuzz::ScratchDir();
  const std::filesystem::path archive = dir / "input.zip";
  {
    std::ofstream out(archive, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  infera::ZipLimits limits;
  limits.max_entries = 64;
  limits.max_entry_bytes = 1 << 20;
  limits.max_total_bytes = 4 << 20;
  auto reader = infera::ZipReader::Open(archive, limits);
  if (reader.ok()) {
    const std::filesystem::path out_dir = dir / "entries";
    std::filesystem::create_directories(out_dir);
    uint64_t total = 0;
    (void)reader->ForEachFile(
        out_dir,
        [&](const infera::ZipEntryInfo& info, const std::filesystem::path& file) {
          // What the reader promises: the bytes written are the size it reports, within
          // the limits.
          if (std::filesystem::file_size(file) != info.size) __builtin_trap();
          if (info.size > limits.max_entry_bytes) __builtin_trap();
          total += info.size;
          if (total > limits.max_total_bytes) __builtin_trap();
          return infera::Status();
        },
        [](const infera::ZipEntryInfo& info, std::string_view head) {
          if (!info.name.empty() && info.name[0] == 'x') {
            return absl::InvalidArgumentError("refused by the prefix check");
          }
          (void)head;
          return infera::Status();
        });
    // The reader removes every temporary file it made.
    if (!std::filesystem::is_empty(out_dir)) __builtin_trap();
  }
  std::filesystem::remove(archive);
  return 0;
}
