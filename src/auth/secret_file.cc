#include "auth/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>

#include "auth/crypto.h"
#include "common/hex.h"
#include "common/strings.h"
#include "common/unique_fd.h"

namespace infera {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

Status IoError(std::string_view what, const std::filesystem::path& path, int err) {
  std::string message = StrCat(what, " ", path.string(), ": ", ErrnoText(err));
  if (err == ENOENT) return absl::NotFoundError(message);
  return absl::InternalError(message);
}

std::string ModeText(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

bool IsTrailingSpace(char c) { return c == '\n' || c == '\r' || c == ' ' || c == '\t'; }

Status WriteAll(int fd, std::string_view data, const std::filesystem::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

Status SyncFolder(const std::filesystem::path& path) {
  std::filesystem::path folder = path.parent_path();
  if (folder.empty()) folder = ".";
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open folder", folder, errno);
  UniqueFd closer(fd);
  if (::fsync(fd) != 0) return IoError("cannot fsync folder", folder, errno);
  return absl::OkStatus();
}

}  // namespace

StatusOr<std::string> LoadSecret(const std::filesystem::path& path) {
  // O_NONBLOCK: opening a FIFO planted at the path must not hang the server.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(StrCat("secret file ", path.string(), " does not exist"));
    }
    return IoError("cannot open secret file", path, errno);
  }
  UniqueFd closer(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return IoError("cannot stat secret file", path, errno);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        StrCat("secret file ", path.string(), " is not a regular file"));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return absl::FailedPreconditionError(
        StrCat("secret file ", path.string(), " has mode ", ModeText(st.st_mode),
               ": group and others must have no access to it; run chmod 600 ", path.string()));
  }
  std::string content;
  char buf[1024];
  while (content.size() <= kMaxSecretFileBytes) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot read secret file", path, errno);
    }
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
  }
  std::fill(std::begin(buf), std::end(buf), '\0');
  if (content.size() > kMaxSecretFileBytes) {
    CleanseString(content);
    return absl::FailedPreconditionError(StrCat("secret file ", path.string(), " is larger than ",
                                                kMaxSecretFileBytes,
                                                " bytes: is it the right file?"));
  }
  while (!content.empty() && IsTrailingSpace(content.back())) content.pop_back();
  if (content.size() < kMinSecretBytes) {
    const size_t size = content.size();
    CleanseString(content);
    return absl::FailedPreconditionError(
        StrCat("secret file ", path.string(), " holds ", size, " bytes; at least ", kMinSecretBytes,
               " are required (for example the output of `openssl rand -hex 32`)"));
  }
  return content;
}

StatusOr<std::string> NewAuthSecret() {
  ASSIGN_OR_RETURN(std::string raw, SecureRandomBytes(kGeneratedSecretBytes));
  std::string secret = HexEncode(raw);
  CleanseString(raw);
  return secret;
}

StatusOr<std::string> LoadOrCreateSecret(const std::filesystem::path& path) {
  StatusOr<std::string> existing = LoadSecret(path);
  if (existing.ok() || existing.status().code() != absl::StatusCode::kNotFound) return existing;

  ASSIGN_OR_RETURN(std::string raw, SecureRandomBytes(kGeneratedSecretBytes));
  std::string secret = HexEncode(raw);
  CleanseString(raw);
  ASSIGN_OR_RETURN(const std::string suffix, SecureRandomBytes(8));
  const std::filesystem::path tmp = path.string() + ".tmp." + HexEncode(suffix);

  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return IoError("cannot create secret file", tmp, errno);
  // From here on the temporary is removed whatever happens.
  struct Unlinker {
    const std::filesystem::path& p;
    ~Unlinker() { ::unlink(p.c_str()); }
  } unlinker{tmp};
  {
    UniqueFd closer(fd);
    // The umask may have narrowed 0600 (e.g. to 0400 or 0000); set it exactly.
    if (::fchmod(fd, 0600) != 0) return IoError("cannot chmod secret file", tmp, errno);
    RETURN_IF_ERROR(WriteAll(fd, StrCat(secret, "\n"), tmp));
    if (::fsync(fd) != 0) return IoError("cannot fsync secret file", tmp, errno);
    if (const int err = closer.Close(); err != 0) {
      return IoError("cannot close secret file", tmp, err);
    }
  }
  // link(2) publishes the complete file under its name, or fails when the name exists.
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    if (err == EEXIST) {
      CleanseString(secret);
      return LoadSecret(path);  // another process won the race: use its secret
    }
    return IoError("cannot publish secret file", path, err);
  }
  RETURN_IF_ERROR(SyncFolder(path));
  return secret;
}

}  // namespace infera
