// ZipReader: reads an untrusted ZIP archive on disk (libzip) and extracts its regular
// files one at a time into temporary files, refusing, entry by entry, what is unsafe.
//
// Nothing is ever extracted under an entry's own name: each accepted file goes to a
// fresh temporary file in a folder the caller chooses, streamed in 64 KiB chunks (never
// the whole entry in memory), and is handed to a callback. Refused entries (see
// ZipRefusalReason) are reported with their name and a reason so that the caller can use
// the good entries and tell the client about the others; directory entries are skipped
// silently. An optional PrefixCheck sees each entry's first bytes before the rest is
// decompressed, and may refuse it there. Sizes are checked against ZipLimits before extraction from
// the headers, and during extraction from the bytes actually produced, so a header that lies about
// the uncompressed size cannot get more than the limit onto the disk (decompression bombs).
//
// Thread safety: none; a ZipReader is used by one thread at a time (libzip's archive
// handle is not thread-safe). Distinct readers are independent.
// Ownership: the reader owns the libzip handle (and so an open descriptor of the file).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

struct zip;  // libzip's zip_t

namespace infera {

struct ZipLimits {
  // Entries in the central directory (directories included); more is ResourceExhausted
  // at Open.
  uint64_t max_entries = 10000;
  // Uncompressed bytes of one file.
  uint64_t max_entry_bytes = uint64_t{256} << 20;
  // Uncompressed bytes of all the files handed to the callback together.
  uint64_t max_total_bytes = uint64_t{1} << 30;
};

enum class ZipEntryKind { kFile, kDirectory, kSymlink, kOther };

struct ZipEntryInfo {
  uint64_t index = 0;     // position in the central directory
  std::string name;       // full name in the archive, UTF-8 ("photos/cat.png")
  std::string base_name;  // last component of `name` ("cat.png")
  ZipEntryKind kind = ZipEntryKind::kFile;
  uint64_t size = 0;             // uncompressed size (from the header; once extracted,
                                 // the bytes actually written, which then match it)
  uint64_t compressed_size = 0;  // from the header
  uint16_t method = 0;           // ZIP compression method (0 stored, 8 deflate, ...)
  bool encrypted = false;
};

enum class ZipRefusalReason {
  kUnsafeName,              // "..", absolute, drive letter, backslash, control chars
                            // (libzip 1.7.3 already turns a NUL in a name into a space)
  kSymlink,                 // unix mode S_IFLNK
  kNotRegularFile,          // device, fifo, socket
  kEncrypted,               // any encryption method
  kUnsupportedCompression,  // a method libzip cannot decompress
  kEntryTooLarge,           // over max_entry_bytes (header or actual bytes)
  kTotalTooLarge,           // would take the total over max_total_bytes
  kCorrupt,                 // CRC or size mismatch, invalid compressed data
  kRejectedContent,         // the caller's PrefixCheck refused the first bytes
};

// ForEachFile shows a PrefixCheck the first kPrefixCheckBytes of each entry (or the whole
// entry when shorter) before decompressing more of it.
inline constexpr size_t kPrefixCheckBytes = size_t{64} * 1024;

// Short lower-case name of a reason ("unsafe_name", "symlink", ...), for logs and JSON.
std::string_view ZipRefusalReasonName(ZipRefusalReason reason);

struct ZipRefusal {
  std::string name;  // full entry name as in ZipEntryInfo::name
  ZipRefusalReason reason = ZipRefusalReason::kCorrupt;
  std::string message;  // a sentence for the client ("entry name has a '..' component")
};

class ZipReader {
 public:
  // Called for every accepted regular file with its information and the temporary
  // file holding its bytes. The file is removed after the callback returns unless the
  // callback moved it elsewhere (renaming it is how to keep it). A non-OK Status stops
  // ForEachFile, which returns it.
  using FileCallback =
      std::function<Status(const ZipEntryInfo& info, const std::filesystem::path& file)>;
  // Called with the first bytes of an entry (see kPrefixCheckBytes) before the rest is
  // decompressed: a non-OK Status refuses the entry (kRejectedContent, with the
  // status's message) without extracting any more of it. For a caller that knows what
  // the files must be (an image: its header, its declared pixel count), a bomb costs
  // one chunk instead of its whole size.
  using PrefixCheck = std::function<Status(const ZipEntryInfo& info, std::string_view head)>;

  // Open reads the central directory of the archive at `path`.
  // Errors: NotFound when the file does not exist; InvalidArgument when it is empty,
  // not a ZIP archive, inconsistent or multi-disk; ResourceExhausted when it has more
  // than limits.max_entries entries; Internal for I/O failures.
  static StatusOr<ZipReader> Open(const std::filesystem::path& path, const ZipLimits& limits);

  ZipReader(ZipReader&&) noexcept;
  ZipReader& operator=(ZipReader&&) noexcept;
  ~ZipReader();

  // Every entry of the central directory, in order (nothing refused or skipped yet).
  const std::vector<ZipEntryInfo>& entries() const { return entries_; }

  // ForEachFile extracts every acceptable regular file, in central-directory order, into
  // a new temporary file in `tmp_dir` (which must exist) and calls `fn` with it. Returns
  // the refused entries in order (empty when everything was accepted).
  // Errors: Internal when a temporary file cannot be created or written; the callback's
  // own error. Temporary files are removed in every case.
  StatusOr<std::vector<ZipRefusal>> ForEachFile(const std::filesystem::path& tmp_dir,
                                                const FileCallback& fn,
                                                const PrefixCheck& check = nullptr);

 private:
  struct ArchiveCloser {
    void operator()(zip* archive) const;
  };

  ZipReader(std::unique_ptr<zip, ArchiveCloser> archive, ZipLimits limits,
            std::vector<ZipEntryInfo> entries);

  std::unique_ptr<zip, ArchiveCloser> archive_;
  ZipLimits limits_;
  std::vector<ZipEntryInfo> entries_;
};

}  // namespace infera
