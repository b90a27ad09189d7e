// Shared helpers of the fuzz targets (fuzz/targets/*.cc): a private scratch folder per
// process for parsers that read or write files, and a bytes view of the input.
// Not thread-safe (libFuzzer calls a target from one thread).
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace infera::fuzz {

// A folder of this process under the system temp folder, created on first use and
// emptied by each caller after use (the parsers remove what they create).
inline const std::filesystem::path& ScratchDir() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path d =
        std::filesystem::temp_directory_path() / ("infera-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

inline std::span<const std::byte> Bytes(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const std::byte*>(data), size};
}

inline std::string_view Text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace infera::fuzz
