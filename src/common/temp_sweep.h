// Temp folders swept at start: what a process killed mid-write (an upload being spooled,
// a ZIP entry being extracted, a blob being written) leaves behind, removed the next
// time the folder is opened — safely:
//   - only names the caller recognises as its own temp files (a predicate over the file
//     name; regular files only, never folders or links), so nothing else that happens to
//     be in the folder is touched;
//   - only when no other live process uses the folder: the opener takes an exclusive
//     flock(2) on the folder itself and holds it while the returned TempDirLock lives;
//     when another process holds it (a second server on the same storage), nothing is
//     swept.
// Thread-safety: the functions are reentrant; a TempDirLock is a move-only owner.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string_view>

#include "common/status.h"
#include "common/unique_fd.h"

namespace infera {

// What a sweep removed.
struct TempSweep {
  bool locked = false;  // false: another process holds the folder; nothing was swept
  int64_t files = 0;
  uint64_t bytes = 0;
};

// Holds the folder's lock (released when destroyed, or by the kernel when the process
// dies, so a crash never leaves the folder locked).
class TempDirLock {
 public:
  TempDirLock() = default;
  explicit TempDirLock(UniqueFd fd) : fd_(std::move(fd)) {}
  bool held() const { return fd_.valid(); }

 private:
  UniqueFd fd_;
};

// Locks `dir` (which must exist) for this process and, when the lock was free, removes
// the regular files of `dir` whose name `ours` accepts. `swept` (optional) gets what was
// removed. The lock is returned not held (held() false) when another process has it.
// Errors: Internal when the folder cannot be opened; removal errors are skipped (the
// file stays for the next start).
StatusOr<TempDirLock> LockAndSweepTempDir(const std::filesystem::path& dir,
                                          const std::function<bool(std::string_view name)>& ours,
                                          TempSweep* swept = nullptr);

// Whether `name` is `prefix` followed by exactly `random` characters of mkstemp's
// alphabet (letters and digits) — "blob-" + "Ab12Cd" for a "blob-XXXXXX" pattern.
bool IsMkstempName(std::string_view name, std::string_view prefix, size_t random = 6);

}  // namespace infera
