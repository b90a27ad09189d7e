#include "common/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include "common/strings.h"
#include "common/unique_fd.h"

namespace infera {

namespace fs = std::filesystem;

namespace {

Status ErrnoError(std::string_view what, const fs::path& path) {
  const int err = errno;
  std::string message = StrCat(what, " ", path.string(), ": ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(message);
  return absl::InternalError(message);
}

Status FsyncPath(const fs::path& path, int flags) {
  const UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("open", path);
  if (::fsync(fd.get()) != 0) return ErrnoError("fsync", path);
  return absl::OkStatus();
}

// Writes through `fill` into a temp file beside `path`, then publishes it.
Status ReplaceDurably(const fs::path& path,
                      const std::function<Status(int fd, const fs::path& temp)>& fill) {
  std::string temp =
      (path.parent_path() / StrCat(".", path.filename().string(), ".XXXXXX")).string();
  UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("create a temporary file for", path);
  Status status = fill(fd.get(), temp);
  if (status.ok() && ::fchmod(fd.get(), 0644) != 0) status = ErrnoError("chmod", temp);
  if (status.ok() && ::fsync(fd.get()) != 0) status = ErrnoError("fsync", temp);
  if (fd.Close() != 0 && status.ok()) status = ErrnoError("close", temp);
  if (status.ok() && ::rename(temp.c_str(), path.c_str()) != 0)
    status = ErrnoError("rename to", path);
  if (!status.ok()) {
    ::unlink(temp.c_str());
    return status;
  }
  return FsyncPath(path.parent_path().empty() ? fs::path(".") : path.parent_path(),
                   O_RDONLY | O_DIRECTORY);
}

Status WriteAll(int fd, std::string_view bytes, const fs::path& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write", path);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

Status WriteFileDurably(const fs::path& path, std::string_view content) {
  return ReplaceDurably(path,
                        [&](int fd, const fs::path& temp) { return WriteAll(fd, content, temp); });
}

Status CopyFileDurably(const fs::path& from, const fs::path& to) {
  const UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return ErrnoError("open", from);
  return ReplaceDurably(to, [&](int fd, const fs::path& temp) -> Status {
    std::string buf(1 << 20, '\0');
    while (true) {
      const ssize_t n = ::read(in.get(), buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("read", from);
      }
      if (n == 0) return absl::OkStatus();
      RETURN_IF_ERROR(WriteAll(fd, std::string_view(buf.data(), static_cast<size_t>(n)), temp));
    }
  });
}

StatusOr<std::string> ReadFileToString(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("cannot read ", path.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return absl::InternalError(StrCat("read error on ", path.string()));
  return ss.str();
}

}  // namespace infera
