#include "api/spool_files.h"

#include "common/logging.h"
#include "common/private_files.h"

namespace infera {

namespace {

// `name` is `prefix`, then decimal numbers separated by '-', then `suffix`.
bool IsNumberedName(std::string_view name, std::string_view prefix, std::string_view suffix) {
  if (!name.starts_with(prefix) || !name.ends_with(suffix)) return false;
  if (name.size() <= prefix.size() + suffix.size()) return false;
  const std::string_view middle =
      name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  bool digit_before = false;
  for (char c : middle) {
    if (c >= '0' && c <= '9') {
      digit_before = true;
    } else if (c == '-' && digit_before) {
      digit_before = false;
    } else {
      return false;
    }
  }
  return digit_before;
}

}  // namespace

bool IsSpoolFileName(std::string_view name) {
  return IsNumberedName(name, "upload-", ".part") || IsMkstempName(name, "multipart-") ||
         IsNumberedName(name, "archive-", ".zip") || IsNumberedName(name, "labels-", ".txt") ||
         IsMkstempName(name, "zip-entry-");
}

StatusOr<TempDirLock> OpenSpoolDir(const std::filesystem::path& dir) {
  RETURN_IF_ERROR(CreatePrivateDirectories(dir));
  TempSweep swept;
  ASSIGN_OR_RETURN(TempDirLock lock, LockAndSweepTempDir(dir, IsSpoolFileName, &swept));
  if (!swept.locked) {
    Log(LogLevel::kWarning, "temp_sweep_skipped",
        {{"dir", dir.string()}, {"reason", "another server holds the folder"}});
  } else if (swept.files > 0) {
    Log(LogLevel::kInfo, "temp_files_swept",
        {{"dir", dir.string()},
         {"files", std::to_string(swept.files)},
         {"bytes", std::to_string(swept.bytes)}});
  }
  return lock;
}

}  // namespace infera
