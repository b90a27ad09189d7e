// Durable file replacement: write a file's new content beside it, fsync it, rename it
// over the old one and fsync the folder, so a crash leaves either the old or the new
// content, never a torn file.
// Errors: Internal with the path and the system's reason (NotFound when the folder
// does not exist). Thread-safety: reentrant; concurrent writers of one path race (the
// last rename wins) and must be serialised by the caller.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/status.h"

namespace infera {

// Replaces (or creates) `path` with `content`.
Status WriteFileDurably(const std::filesystem::path& path, std::string_view content);

// Replaces (or creates) `to` with a copy of the file `from` (read in chunks).
Status CopyFileDurably(const std::filesystem::path& from, const std::filesystem::path& to);

// The whole content of `path`. NotFound when missing.
StatusOr<std::string> ReadFileToString(const std::filesystem::path& path);

}  // namespace infera
