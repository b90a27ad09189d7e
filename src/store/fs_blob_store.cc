// FsBlobStore: the BlobStore on a local filesystem (see blob_store.h for the layout and
// the crash-safety contract). POSIX file calls throughout, so each step that matters for
// durability (fsync of the file, rename, fsync of the directory) is explicit.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>
#include <utility>

#include "common/out_of_space.h"
#include "common/private_files.h"
#include "common/sha256.h"
#include "common/strings.h"
#include "common/temp_sweep.h"
#include "common/unique_fd.h"
#include "store/blob_store.h"

namespace infera {
namespace {

namespace fs = std::filesystem;

constexpr size_t kChunkBytes = 1 << 20;
// Temp files older than this at open are leftovers of a crashed writer.
constexpr auto kStaleTempAge = std::chrono::hours(1);

Status ErrnoStatus(int err, std::string_view what, const fs::path& path) {
  std::string message = StrCat(what, " ", path.string(), ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(message);
    case ENOSPC:
    case EDQUOT:
      return OutOfSpaceError(message);
    default:
      return absl::InternalError(message);
  }
}

// Closes `fd` now, reporting the error (close can report a deferred write error).
Status CloseFd(UniqueFd& fd, const fs::path& path) {
  if (const int err = fd.Close(); err != 0) return ErrnoStatus(err, "close", path);
  return absl::OkStatus();
}

StatusOr<UniqueFd> OpenFd(const fs::path& path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoStatus(errno, "open", path);
  return UniqueFd(fd);
}

Status WriteAll(int fd, std::string_view bytes, const fs::path& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write", path);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// Reads up to `buf.size()` bytes; 0 at end of file.
StatusOr<size_t> ReadSome(int fd, std::string& buf, const fs::path& path) {
  while (true) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return ErrnoStatus(errno, "read", path);
  }
}

Status FsyncFd(int fd, const fs::path& path) {
  if (::fsync(fd) != 0) return ErrnoStatus(errno, "fsync", path);
  return absl::OkStatus();
}

Status FsyncDir(const fs::path& dir) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFd(dir, O_RDONLY | O_DIRECTORY));
  RETURN_IF_ERROR(FsyncFd(fd.get(), dir));
  return CloseFd(fd, dir);
}

// Creates `dir` (one level) when missing and makes its entry durable in `parent`.
Status EnsureDir(const fs::path& dir, const fs::path& parent) {
  if (::mkdir(dir.c_str(), 0700) == 0) return FsyncDir(parent);  // private (common/private_files.h)
  if (errno == EEXIST) return absl::OkStatus();
  return ErrnoStatus(errno, "mkdir", dir);
}

Status CheckSha(std::string_view sha256) {
  if (IsSha256Hex(sha256)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      StrCat("blob name must be 64 lower-case hex digits (a sha256), got '", sha256.substr(0, 80),
             sha256.size() > 80 ? "...'" : "'"));
}

// A temp file being written; removed on destruction unless committed (renamed away).
class TempFile {
 public:
  static StatusOr<TempFile> Create(const fs::path& tmp_dir) {
    std::string name = (tmp_dir / "blob-XXXXXX").string();
    const int fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, "mkostemp", name);
    return TempFile(UniqueFd(fd), fs::path(name));
  }
  TempFile(TempFile&& other) noexcept
      : fd_(std::move(other.fd_)),
        path_(std::move(other.path_)),
        live_(std::exchange(other.live_, false)) {}
  TempFile& operator=(TempFile&&) = delete;
  ~TempFile() {
    if (live_) ::unlink(path_.c_str());
  }
  int fd() const { return fd_.get(); }
  const fs::path& path() const { return path_; }
  // fsyncs and closes the file (before the rename that publishes it).
  Status SyncAndClose() {
    RETURN_IF_ERROR(FsyncFd(fd_.get(), path_));
    return CloseFd(fd_, path_);
  }
  // The file is gone from its temp name (renamed, or to be left to the destructor).
  void Release() { live_ = false; }

 private:
  TempFile(UniqueFd fd, fs::path path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  fs::path path_;
  bool live_ = true;
};

// A blob file open for reading. The open descriptor keeps the content readable when the
// blob is removed meanwhile (unlink leaves an open file alone).
class FsBlobReader final : public BlobReader {
 public:
  FsBlobReader(UniqueFd fd, fs::path path, int64_t size)
      : fd_(std::move(fd)), path_(std::move(path)), size_(size) {}

  int64_t size() const override { return size_; }

  StatusOr<size_t> Read(std::span<char> buf) override {
    RETURN_IF_ERROR(failed_);
    while (true) {
      const ssize_t n = ::read(fd_.get(), buf.data(), buf.size());
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) {
        failed_ = ErrnoStatus(errno, "read", path_);
        return failed_;
      }
    }
  }

 private:
  UniqueFd fd_;
  const fs::path path_;
  const int64_t size_;
  Status failed_;
};

class FsBlobStore final : public BlobStore {
 public:
  FsBlobStore(fs::path root, TempDirLock tmp_lock)
      : root_(std::move(root)), tmp_(root_ / "tmp"), tmp_lock_(std::move(tmp_lock)) {}

  StatusOr<BlobInfo> Put(std::span<const std::byte> bytes) override {
    BlobInfo info{Sha256Hex(bytes), static_cast<int64_t>(bytes.size())};
    if (Exists(info.sha256)) return info;
    ASSIGN_OR_RETURN(TempFile temp, TempFile::Create(tmp_));
    RETURN_IF_ERROR(WriteAll(
        temp.fd(), std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
        temp.path()));
    RETURN_IF_ERROR(temp.SyncAndClose());
    RETURN_IF_ERROR(Publish(temp, info.sha256));
    return info;
  }

  StatusOr<BlobInfo> PutFile(const fs::path& file) override {
    ASSIGN_OR_RETURN(UniqueFd in, OpenFd(file, O_RDONLY));
    struct stat st;
    if (::fstat(in.get(), &st) != 0) return ErrnoStatus(errno, "stat", file);
    if (!S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(StrCat(file.string(), " is not a regular file"));
    }
    ASSIGN_OR_RETURN(TempFile temp, TempFile::Create(tmp_));
    Sha256Hasher hasher;
    std::string buf(kChunkBytes, '\0');
    int64_t size = 0;
    while (true) {
      ASSIGN_OR_RETURN(size_t n, ReadSome(in.get(), buf, file));
      if (n == 0) break;
      const std::string_view chunk(buf.data(), n);
      hasher.Update(chunk);
      RETURN_IF_ERROR(WriteAll(temp.fd(), chunk, temp.path()));
      size += static_cast<int64_t>(n);
    }
    RETURN_IF_ERROR(temp.SyncAndClose());
    BlobInfo info{hasher.FinishHex(), size};
    if (!Exists(info.sha256)) RETURN_IF_ERROR(Publish(temp, info.sha256));
    return info;  // an already stored blob: the temp file is removed by its destructor
  }

  StatusOr<std::unique_ptr<BlobReader>> Open(std::string_view sha256) override {
    RETURN_IF_ERROR(CheckSha(sha256));
    const fs::path path = BlobPath(sha256);
    StatusOr<UniqueFd> in = OpenFd(path, O_RDONLY);
    if (!in.ok()) return NotFoundOr(in.status(), sha256);
    struct stat st;
    if (::fstat(in->get(), &st) != 0) return ErrnoStatus(errno, "stat", path);
    return std::unique_ptr<BlobReader>(
        new FsBlobReader(std::move(*in), path, static_cast<int64_t>(st.st_size)));
  }

  StatusOr<int64_t> Size(std::string_view sha256) override {
    RETURN_IF_ERROR(CheckSha(sha256));
    struct stat st;
    const fs::path path = BlobPath(sha256);
    if (::stat(path.c_str(), &st) != 0) {
      return NotFoundOr(ErrnoStatus(errno, "stat", path), sha256);
    }
    return static_cast<int64_t>(st.st_size);
  }

  Status Remove(std::string_view sha256) override {
    RETURN_IF_ERROR(CheckSha(sha256));
    const fs::path path = BlobPath(sha256);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, "unlink", path);
    }
    return absl::OkStatus();
  }

  Status ForEach(const std::function<Status(const BlobInfo& blob)>& fn) override {
    // root/ab/cd/<sha256>: two levels of two hex digits, then the blobs.
    std::error_code ec;
    for (fs::directory_iterator outer(root_, ec), end; !ec && outer != end; outer.increment(ec)) {
      const std::string a = outer->path().filename().string();
      if (a.size() != 2 || !outer->is_directory()) continue;
      std::error_code ec2;
      for (fs::directory_iterator inner(outer->path(), ec2); !ec2 && inner != end;
           inner.increment(ec2)) {
        const std::string b = inner->path().filename().string();
        if (b.size() != 2 || !inner->is_directory()) continue;
        std::error_code ec3;
        for (fs::directory_iterator blob(inner->path(), ec3); !ec3 && blob != end;
             blob.increment(ec3)) {
          const std::string name = blob->path().filename().string();
          if (!IsSha256Hex(name) || name.substr(0, 2) != a || name.substr(2, 2) != b) continue;
          std::error_code size_ec;
          const uintmax_t size = blob->file_size(size_ec);
          if (size_ec) continue;  // removed meanwhile
          RETURN_IF_ERROR(fn(BlobInfo{name, static_cast<int64_t>(size)}));
        }
        if (ec3)
          return absl::InternalError(StrCat("list ", inner->path().string(), ": ", ec3.message()));
      }
      if (ec2)
        return absl::InternalError(StrCat("list ", outer->path().string(), ": ", ec2.message()));
    }
    if (ec) return absl::InternalError(StrCat("list ", root_.string(), ": ", ec.message()));
    return absl::OkStatus();
  }

  StatusOr<fs::path> LocalPath(std::string_view sha256) override {
    RETURN_IF_ERROR(CheckSha(sha256));
    if (!Exists(sha256)) return absl::NotFoundError(StrCat("blob ", sha256, " not found"));
    return BlobPath(sha256);
  }

 private:
  fs::path BlobPath(std::string_view sha256) const {
    return root_ / sha256.substr(0, 2) / sha256.substr(2, 2) / sha256;
  }

  bool Exists(std::string_view sha256) const {
    struct stat st;
    return ::stat(BlobPath(sha256).c_str(), &st) == 0;
  }

  // A NotFound from the filesystem, reworded to name the blob; other errors unchanged.
  static Status NotFoundOr(const Status& status, std::string_view sha256) {
    if (absl::IsNotFound(status)) return absl::NotFoundError(StrCat("blob ", sha256, " not found"));
    return status;
  }

  // Renames the synced temp file to the blob's final name and makes that durable.
  Status Publish(TempFile& temp, std::string_view sha256) {
    const fs::path outer = root_ / sha256.substr(0, 2);
    const fs::path inner = outer / sha256.substr(2, 2);
    RETURN_IF_ERROR(EnsureDir(outer, root_));
    RETURN_IF_ERROR(EnsureDir(inner, outer));
    const fs::path final_path = inner / sha256;
    if (::rename(temp.path().c_str(), final_path.c_str()) != 0) {
      return ErrnoStatus(errno, "rename to", final_path);
    }
    temp.Release();
    return FsyncDir(inner);
  }

  const fs::path root_;
  const fs::path tmp_;
  const TempDirLock tmp_lock_;  // held: no other process writes blobs here
};

bool IsBlobTempName(std::string_view name) { return IsMkstempName(name, "blob-"); }

// Removes temp files older than kStaleTempAge, when another process holds the folder
// (best effort: errors are ignored; younger files may belong to its live writers).
void RemoveStaleTempFiles(const fs::path& tmp_dir) {
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  for (fs::directory_iterator it(tmp_dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code entry_ec;
    const auto mtime = it->last_write_time(entry_ec);
    if (!entry_ec && now - mtime > kStaleTempAge && it->is_regular_file(entry_ec) &&
        IsBlobTempName(it->path().filename().string())) {
      fs::remove(it->path(), entry_ec);
    }
  }
}

}  // namespace

StatusOr<std::unique_ptr<BlobStore>> OpenFsBlobStore(const fs::path& root) {
  if (root.empty()) return absl::InvalidArgumentError("blob store root is empty");
  RETURN_IF_ERROR(CreatePrivateDirectories(root / "tmp"));
  // What a crashed writer left: every temp blob when this process is the folder's only
  // user (common/temp_sweep.h), else only old ones.
  ASSIGN_OR_RETURN(TempDirLock lock, LockAndSweepTempDir(root / "tmp", IsBlobTempName));
  if (!lock.held()) RemoveStaleTempFiles(root / "tmp");
  return std::unique_ptr<BlobStore>(new FsBlobStore(root, std::move(lock)));
}

}  // namespace infera
