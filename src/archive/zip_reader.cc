#include "archive/zip_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>
#include <utility>

#include "common/strings.h"
#include "common/unique_fd.h"

namespace infera {

namespace fs = std::filesystem;

namespace {

constexpr size_t kChunkBytes = size_t{64} * 1024;
constexpr uint32_t kDosDirectoryAttribute = 0x10;

std::string LibzipErrorText(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string text = zip_error_strerror(&error);
  zip_error_fini(&error);
  return text;
}

std::string ErrorText(zip_error_t* error) {
  const char* text = error == nullptr ? nullptr : zip_error_strerror(error);
  return text == nullptr ? std::string("unknown libzip error") : std::string(text);
}

// Why `name` must not be used, or nullopt when it is a safe relative path.
std::optional<std::string> UnsafeNameReason(std::string_view name) {
  if (name.empty()) return "entry name is empty";
  if (name.front() == '/') return "entry name is an absolute path";
  if (name.size() >= 2 && name[1] == ':' &&
      ((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z'))) {
    return "entry name starts with a drive letter";
  }
  for (char c : name) {
    if (c == '\\') return "entry name contains a backslash";
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return "entry name contains a control character";
    }
  }
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    if (name.substr(start, end - start) == "..") return "entry name has a '..' component";
    start = end + 1;
  }
  const size_t slash = name.rfind('/');
  const std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  if (base == ".") return "entry name ends with '.'";
  return std::nullopt;
}

ZipEntryKind KindOf(std::string_view name, uint8_t opsys, uint32_t attributes) {
  if (!name.empty() && name.back() == '/') return ZipEntryKind::kDirectory;
  // The high half holds a unix st_mode for unix-like hosts; other hosts leave it zero,
  // so a file type found there is honoured whatever the host says.
  const uint32_t type = (attributes >> 16) & S_IFMT;
  if (type == S_IFLNK) return ZipEntryKind::kSymlink;
  if (type == S_IFDIR) return ZipEntryKind::kDirectory;
  if (type != 0 && type != S_IFREG) return ZipEntryKind::kOther;
  if ((opsys == ZIP_OPSYS_DOS || opsys == ZIP_OPSYS_WINDOWS_NTFS || opsys == ZIP_OPSYS_VFAT) &&
      (attributes & kDosDirectoryAttribute) != 0) {
    return ZipEntryKind::kDirectory;
  }
  return ZipEntryKind::kFile;
}

// A temporary file that is removed on destruction (if it still exists).
class TempFile {
 public:
  TempFile() = default;
  ~TempFile() {
    fd_.reset();
    if (!path_.empty()) {
      std::error_code ec;
      fs::remove(path_, ec);
    }
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  Status Create(const fs::path& dir) {
    std::string pattern = (dir / "zip-entry-XXXXXX").string();
    fd_.reset(::mkstemp(pattern.data()));
    if (!fd_.valid()) {
      return absl::InternalError(StrCat("cannot create a temporary file in ", dir.string(), ": ",
                                        std::string_view(std::strerror(errno))));
    }
    path_ = pattern;
    return absl::OkStatus();
  }

  Status Write(const char* data, size_t size) {
    while (size > 0) {
      const ssize_t n = ::write(fd_.get(), data, size);
      if (n < 0) {
        if (errno == EINTR) continue;
        return absl::InternalError(
            StrCat("writing ", path_.string(), ": ", std::string_view(std::strerror(errno))));
      }
      data += n;
      size -= static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }

  Status Close() {
    if (const int err = fd_.Close(); err != 0) {
      return absl::InternalError(
          StrCat("closing ", path_.string(), ": ", std::string_view(std::strerror(err))));
    }
    return absl::OkStatus();
  }

  const fs::path& path() const { return path_; }

 private:
  UniqueFd fd_;
  fs::path path_;
};

// Closes a libzip file on scope exit.
struct ZipFileCloser {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};

}  // namespace

std::string_view ZipRefusalReasonName(ZipRefusalReason reason) {
  switch (reason) {
    case ZipRefusalReason::kUnsafeName:
      return "unsafe_name";
    case ZipRefusalReason::kSymlink:
      return "symlink";
    case ZipRefusalReason::kNotRegularFile:
      return "not_regular_file";
    case ZipRefusalReason::kEncrypted:
      return "encrypted";
    case ZipRefusalReason::kUnsupportedCompression:
      return "unsupported_compression";
    case ZipRefusalReason::kEntryTooLarge:
      return "entry_too_large";
    case ZipRefusalReason::kTotalTooLarge:
      return "total_too_large";
    case ZipRefusalReason::kCorrupt:
      return "corrupt";
    case ZipRefusalReason::kRejectedContent:
      return "rejected_content";
  }
  return "unknown";
}

void ZipReader::ArchiveCloser::operator()(zip* archive) const { zip_discard(archive); }

ZipReader::ZipReader(std::unique_ptr<zip, ArchiveCloser> archive, ZipLimits limits,
                     std::vector<ZipEntryInfo> entries)
    : archive_(std::move(archive)), limits_(limits), entries_(std::move(entries)) {}

ZipReader::ZipReader(ZipReader&&) noexcept = default;
ZipReader& ZipReader::operator=(ZipReader&&) noexcept = default;
ZipReader::~ZipReader() = default;

StatusOr<ZipReader> ZipReader::Open(const fs::path& path, const ZipLimits& limits) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    return absl::NotFoundError(StrCat("zip archive ", path.string(), " does not exist"));
  }
  if (!fs::is_regular_file(status)) {
    return absl::InvalidArgumentError(StrCat(path.string(), " is not a regular file"));
  }
  if (fs::file_size(path, ec) == 0 && !ec) {
    return absl::InvalidArgumentError("not a zip archive: the file is empty");
  }

  int code = 0;
  std::unique_ptr<zip, ArchiveCloser> archive(zip_open(path.c_str(), ZIP_RDONLY, &code));
  if (archive == nullptr) {
    const std::string message = StrCat("cannot read zip archive: ", LibzipErrorText(code));
    switch (code) {
      case ZIP_ER_NOENT:
        return absl::NotFoundError(message);
      case ZIP_ER_OPEN:
      case ZIP_ER_READ:
      case ZIP_ER_SEEK:
      case ZIP_ER_TELL:
      case ZIP_ER_MEMORY:
      case ZIP_ER_INTERNAL:
        return absl::InternalError(message);
      default:
        return absl::InvalidArgumentError(message);
    }
  }

  const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
  if (count < 0) return absl::InternalError("zip archive: cannot count the entries");
  if (static_cast<uint64_t>(count) > limits.max_entries) {
    return absl::ResourceExhaustedError(
        StrCat("zip archive has ", count, " entries; the limit is ", limits.max_entries));
  }

  std::vector<ZipEntryInfo> entries;
  entries.reserve(static_cast<size_t>(count));
  for (zip_int64_t i = 0; i < count; ++i) {
    const auto index = static_cast<zip_uint64_t>(i);
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(archive.get(), index, 0, &st) != 0 || (st.valid & ZIP_STAT_NAME) == 0) {
      return absl::InvalidArgumentError(StrCat(
          "zip archive: entry ", i, " is unreadable: ", ErrorText(zip_get_error(archive.get()))));
    }
    zip_uint8_t opsys = ZIP_OPSYS_DOS;
    zip_uint32_t attributes = 0;
    if (zip_file_get_external_attributes(archive.get(), index, 0, &opsys, &attributes) != 0) {
      opsys = ZIP_OPSYS_DOS;
      attributes = 0;
    }
    ZipEntryInfo info;
    info.index = index;
    info.name = st.name;
    const size_t slash = info.name.rfind('/');
    info.base_name = slash == std::string::npos ? info.name : info.name.substr(slash + 1);
    info.kind = KindOf(info.name, opsys, attributes);
    info.size = (st.valid & ZIP_STAT_SIZE) != 0 ? st.size : 0;
    info.compressed_size = (st.valid & ZIP_STAT_COMP_SIZE) != 0 ? st.comp_size : 0;
    info.method = (st.valid & ZIP_STAT_COMP_METHOD) != 0 ? st.comp_method : 0;
    info.encrypted =
        (st.valid & ZIP_STAT_ENCRYPTION_METHOD) != 0 && st.encryption_method != ZIP_EM_NONE;
    entries.push_back(std::move(info));
  }
  return ZipReader(std::move(archive), limits, std::move(entries));
}

StatusOr<std::vector<ZipRefusal>> ZipReader::ForEachFile(const fs::path& tmp_dir,
                                                         const FileCallback& fn,
                                                         const PrefixCheck& check) {
  std::vector<ZipRefusal> refused;
  auto refuse = [&](const ZipEntryInfo& info, ZipRefusalReason reason, std::string message) {
    refused.push_back(ZipRefusal{info.name, reason, std::move(message)});
  };
  std::string buffer(kChunkBytes, '\0');
  uint64_t total = 0;

  for (const ZipEntryInfo& entry : entries_) {
    if (entry.kind == ZipEntryKind::kDirectory) continue;
    if (std::optional<std::string> why = UnsafeNameReason(entry.name)) {
      refuse(entry, ZipRefusalReason::kUnsafeName, std::move(*why));
      continue;
    }
    if (entry.kind == ZipEntryKind::kSymlink) {
      refuse(entry, ZipRefusalReason::kSymlink, "entry is a symbolic link");
      continue;
    }
    if (entry.kind != ZipEntryKind::kFile) {
      refuse(entry, ZipRefusalReason::kNotRegularFile, "entry is not a regular file");
      continue;
    }
    if (entry.encrypted) {
      refuse(entry, ZipRefusalReason::kEncrypted, "entry is encrypted");
      continue;
    }
    if (zip_compression_method_supported(entry.method, 0) == 0) {
      refuse(entry, ZipRefusalReason::kUnsupportedCompression,
             StrCat("compression method ", entry.method, " is not supported"));
      continue;
    }
    if (entry.size > limits_.max_entry_bytes) {
      refuse(entry, ZipRefusalReason::kEntryTooLarge,
             StrCat("uncompressed size ", entry.size, " bytes is over the limit of ",
                    limits_.max_entry_bytes, " bytes per file"));
      continue;
    }
    if (entry.size > limits_.max_total_bytes - total) {
      refuse(entry, ZipRefusalReason::kTotalTooLarge,
             StrCat("extracting ", entry.size, " more bytes would pass the limit of ",
                    limits_.max_total_bytes, " bytes per archive"));
      continue;
    }

    std::unique_ptr<zip_file_t, ZipFileCloser> file(
        zip_fopen_index(archive_.get(), entry.index, 0));
    if (file == nullptr) {
      refuse(entry, ZipRefusalReason::kCorrupt,
             StrCat("cannot read entry: ", ErrorText(zip_get_error(archive_.get()))));
      continue;
    }
    TempFile out;
    RETURN_IF_ERROR(out.Create(tmp_dir));
    // The bytes actually produced are what counts: a header may understate them.
    const uint64_t entry_room = std::min(limits_.max_entry_bytes, limits_.max_total_bytes - total);
    uint64_t written = 0;
    std::optional<ZipRefusal> refusal;
    // The first bytes are held back until `check` has seen them; a refused entry is not
    // decompressed any further.
    std::string head;
    bool checked = !check;
    auto check_head = [&]() -> Status {
      checked = true;
      if (Status s = check(entry, head); !s.ok()) {
        refusal = ZipRefusal{entry.name, ZipRefusalReason::kRejectedContent,
                             std::string(ToStd(s.message()))};
        return absl::OkStatus();
      }
      return out.Write(head.data(), head.size());
    };
    for (;;) {
      const zip_int64_t n = zip_fread(file.get(), buffer.data(), buffer.size());
      if (n < 0) {
        refusal = ZipRefusal{
            entry.name, ZipRefusalReason::kCorrupt,
            StrCat("entry data is corrupt: ", ErrorText(zip_file_get_error(file.get())))};
        break;
      }
      if (n == 0) break;
      const auto got = static_cast<uint64_t>(n);
      if (got > entry_room - written) {
        if (written + got > limits_.max_entry_bytes) {
          refusal = ZipRefusal{
              entry.name, ZipRefusalReason::kEntryTooLarge,
              StrCat("entry decompresses to more than the limit of ", limits_.max_entry_bytes,
                     " bytes per file (its header says ", entry.size, ")")};
        } else {
          refusal = ZipRefusal{entry.name, ZipRefusalReason::kTotalTooLarge,
                               StrCat("entry decompresses past the limit of ",
                                      limits_.max_total_bytes, " bytes per archive")};
        }
        break;
      }
      written += got;
      if (!checked) {
        head.append(buffer.data(), static_cast<size_t>(got));
        if (head.size() < kPrefixCheckBytes) continue;
        RETURN_IF_ERROR(check_head());
        if (refusal.has_value()) break;
        continue;
      }
      RETURN_IF_ERROR(out.Write(buffer.data(), static_cast<size_t>(got)));
    }
    if (!refusal.has_value() && !checked) RETURN_IF_ERROR(check_head());
    file.reset();
    if (!refusal.has_value() && written != entry.size) {
      refusal =
          ZipRefusal{entry.name, ZipRefusalReason::kCorrupt,
                     StrCat("entry has ", written, " bytes but its header says ", entry.size)};
    }
    if (refusal.has_value()) {
      refused.push_back(std::move(*refusal));
      continue;  // `out` removes the partial file
    }
    RETURN_IF_ERROR(out.Close());
    total += written;
    RETURN_IF_ERROR(fn(entry, out.path()));
  }
  return refused;
}

}  // namespace infera
