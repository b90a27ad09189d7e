#include "common/temp_sweep.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "common/strings.h"

namespace infera {

namespace fs = std::filesystem;

StatusOr<TempDirLock> LockAndSweepTempDir(const fs::path& dir,
                                          const std::function<bool(std::string_view name)>& ours,
                                          TempSweep* swept) {
  TempSweep result;
  // The lock is on the folder itself (flock works on a directory's descriptor): no lock
  // file to create, to keep private, or to find among the temp files.
  const fs::path& lock_path = dir;
  UniqueFd fd(::open(lock_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    return absl::InternalError(StrCat("open ", lock_path.string(), ": ", std::strerror(errno)));
  }
  int rc;
  do {
    rc = ::flock(fd.get(), LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    if (errno != EWOULDBLOCK) {
      return absl::InternalError(StrCat("flock ", lock_path.string(), ": ", std::strerror(errno)));
    }
    if (swept != nullptr) *swept = result;
    return TempDirLock();  // another live process uses the folder: leave its files alone
  }
  result.locked = true;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    struct stat st;
    // lstat: a link is never followed nor removed.
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode) || !ours(name)) continue;
    if (::unlink(it->path().c_str()) == 0) {
      ++result.files;
      result.bytes += static_cast<uint64_t>(st.st_size);
    }
  }
  if (swept != nullptr) *swept = result;
  return TempDirLock(std::move(fd));
}

bool IsMkstempName(std::string_view name, std::string_view prefix, size_t random) {
  if (!name.starts_with(prefix) || name.size() != prefix.size() + random) return false;
  for (char c : name.substr(prefix.size())) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum) return false;
  }
  return true;
}

}  // namespace infera
