// BlobStore: content-addressed bytes. A blob is named by the lower-case hex sha256 of
// its content; writing the same content twice stores it once.
//
// FsBlobStore keeps blobs under `root/ab/cd/<sha256>`: each write goes to a temp file
// in `root/tmp/`, is fsynced, then renamed into place (and the directory fsynced), so a
// crash never leaves a partial blob under its final name (temp files a crash leaves in
// `root/tmp/` are removed by the next open: all of them when the opener holds the
// folder's lock — common/temp_sweep.h —, else those an hour old).
// Blob names passed in must be 64 lower-case hex digits: anything else (a path trick
// such as "../../etc/passwd") is InvalidArgument and never reaches the filesystem.
// Thread-safety: all methods are safe from any thread (concurrent writers of the same
// content race harmlessly: the rename is atomic and the content identical).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"

namespace infera {

struct BlobInfo {
  std::string sha256;
  int64_t size = 0;
};

// BlobReader: one blob read front to back by its consumer, a piece at a time (pull, as a
// file is read): the consumer asks for the next bytes when it wants them, so one that
// waits (a ZIP writer behind a slow client) holds no more than its own buffer and the
// reader's (at most one 1 MiB chunk for PostgreSQL, nothing for a file).
// Thread-safety: one thread at a time. The BlobStore that opened it must outlive it.
class BlobReader {
 public:
  virtual ~BlobReader() = default;
  // The blob's size in bytes.
  virtual int64_t size() const = 0;
  // Copies the next bytes, up to `buf.size()`, into `buf` and returns how many; 0 at the
  // end of the blob (or for an empty `buf`). An error (the storage failed, or the blob
  // was removed while read: Unavailable) ends the read: later calls return it again.
  virtual StatusOr<size_t> Read(std::span<char> buf) = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  // Stores bytes held in memory.
  virtual StatusOr<BlobInfo> Put(std::span<const std::byte> bytes) = 0;
  // Stores the content of a file (read in chunks, never whole in memory). The file is
  // left in place. NotFound when it does not exist, InvalidArgument when it is not a
  // regular file.
  virtual StatusOr<BlobInfo> PutFile(const std::filesystem::path& file) = 0;
  // Opens a blob for reading (BlobReader above). NotFound when absent.
  virtual StatusOr<std::unique_ptr<BlobReader>> Open(std::string_view sha256) = 0;
  // Reads a whole blob into memory (for blobs that are small by nature: masks, images
  // to decode). NotFound when absent.
  StatusOr<std::string> Get(std::string_view sha256);
  // Streams a blob to `sink` in chunks of up to 1 MiB (over Open); stops at the first
  // error the sink returns and returns that error. NotFound when absent.
  Status Read(std::string_view sha256, const std::function<Status(std::string_view chunk)>& sink);
  // The blob's size; NotFound when absent.
  virtual StatusOr<int64_t> Size(std::string_view sha256) = 0;
  // Calls `fn` with every blob stored (any order; temp files are not blobs), stopping at
  // the first error it returns. For the sweep of blobs no record knows (blob_lifetime.h).
  virtual Status ForEach(const std::function<Status(const BlobInfo& blob)>& fn) = 0;
  // Removes a blob (OK when already absent).
  virtual Status Remove(std::string_view sha256) = 0;
  // The path of a blob on a local filesystem, for readers that want a file (libzip,
  // libtiff); NotFound when absent or the store is not file-based.
  virtual StatusOr<std::filesystem::path> LocalPath(std::string_view sha256) = 0;
};

// The filesystem blob store rooted at `root` (created when missing).
StatusOr<std::unique_ptr<BlobStore>> OpenFsBlobStore(const std::filesystem::path& root);

}  // namespace infera
