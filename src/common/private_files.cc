#include "common/private_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/strings.h"
#include "common/unique_fd.h"

namespace infera {

namespace fs = std::filesystem;

namespace {

Status ErrnoError(std::string_view what, const fs::path& path, int err) {
  return absl::InternalError(
      StrCat("cannot ", what, " ", path.string(), ": ", std::string_view(std::strerror(err))));
}

}  // namespace

Status CreatePrivateDirectories(const fs::path& dir) {
  if (dir.empty()) return absl::OkStatus();
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return absl::OkStatus();
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    RETURN_IF_ERROR(CreatePrivateDirectories(dir.parent_path()));
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoError("create", dir, errno);
  return absl::OkStatus();
}

Status CreatePrivateFile(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid() && errno != EEXIST) return ErrnoError("create", path, errno);
  return absl::OkStatus();
}

}  // namespace infera
