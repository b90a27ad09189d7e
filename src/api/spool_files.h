// The server's temp folder, <storage>/tmp: request bodies spooled by the transport
// (upload-<pid>-<n>.part), multipart file parts (multipart-XXXXXX), small raw archives
// (archive-<dataset>-<n>.zip), label files of model uploads (labels-<n>.txt) and ZIP
// entries being extracted (zip-entry-XXXXXX). Each is removed when its request ends; a
// process killed mid-request leaves them, and OpenSpoolDir removes them at the next
// start (common/temp_sweep.h: only these names, only when no other live server holds the
// folder's lock).
// Thread-safety: reentrant.
#pragma once

#include <filesystem>
#include <string_view>

#include "common/status.h"
#include "common/temp_sweep.h"

namespace infera {

// Whether `name` is one of the temp file names above.
bool IsSpoolFileName(std::string_view name);

// Creates `dir` (private) when missing, locks it for this server (held while the
// returned lock lives) and removes what a killed server left there; logs what it removed
// (`temp_files_swept`) or that another server holds the folder.
StatusOr<TempDirLock> OpenSpoolDir(const std::filesystem::path& dir);

}  // namespace infera
