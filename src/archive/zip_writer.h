// ZipWriter: writes a ZIP archive (APPNOTE 6.3) front to back into a sink, so that an
// HTTP response can be streamed while the archive is being built. Nothing but the
// central directory records (name, sizes, CRC, offset: ~50 bytes plus the name per
// entry) is kept in memory; entry data passes through in chunks.
//
// Entries are stored or raw-deflated (zlib). Every entry whose size or CRC is not known
// before its data is written (deflated entries, files read from disk) carries a data
// descriptor (general purpose bit 3), so no header is ever rewritten and the sink never
// needs to seek. ZIP64 records are written where a size, an offset or the entry count
// passes the 32-bit (16-bit for the count) limits, or for everything when
// ZipWriterOptions::force_zip64 is set. Names are flagged UTF-8 (bit 11); the unix mode
// 0644 is recorded in the external attributes.
//
// Thread safety: none; one thread uses a writer at a time.
// Errors: a name or file refused before anything was written for the entry returns its
// Status and leaves the writer usable. Any failure after that (the sink failed, the file
// could not be read to the end, a size limit was passed) makes the archive unusable: the
// writer remembers the error and every later call returns FailedPrecondition. An archive
// is only complete once Finish() returned OK.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/status.h"

namespace infera {

struct ZipWriterOptions {
  // Modification time recorded for every entry (DOS format: local time, 2-second
  // resolution, clamped to 1980..2107). Unset: the time the writer was constructed.
  std::optional<std::chrono::system_clock::time_point> mtime;
  // Writes ZIP64 extra fields for every entry and the ZIP64 end records even where
  // 32-bit fields would do (for tests, and for readers that want it).
  bool force_zip64 = false;
  // zlib level for Method::kDeflate, 1 (fast) .. 9 (small); -1 is zlib's default (6).
  int deflate_level = -1;
  // Bytes read from a file, and compressed bytes handed to the sink, per chunk.
  size_t chunk_bytes = size_t{64} * 1024;
};

class ZipWriter {
 public:
  // Sink: receives the archive's bytes in order. A non-OK Status aborts the archive
  // and is returned by the call that was writing.
  using Sink = std::function<Status(std::string_view bytes)>;

  enum class Method { kStored, kDeflate };

  explicit ZipWriter(Sink sink, ZipWriterOptions options = {});
  ZipWriter(const ZipWriter&) = delete;
  ZipWriter& operator=(const ZipWriter&) = delete;

  // AddFile appends an entry named `name` holding `data`.
  // Names are '/'-separated relative UTF-8 paths; InvalidArgument (writer still usable)
  // when a name is empty, absolute ("/x", "C:x"), has a ".." component, a backslash, a
  // NUL or other control character, a bidi or invisible formatting character
  // (common/utf8.h IsHiddenFormatCharacter), ends with '/', is not valid UTF-8, is
  // longer than 65535 bytes, or was already added.
  Status AddFile(std::string_view name, std::string_view data, Method method = Method::kDeflate);

  // AddFileFromPath appends an entry named `name` with the contents of the regular file
  // at `path`, read in chunks; CRC and sizes are computed while streaming and written in
  // the data descriptor. Name errors as AddFile; NotFound when the file does not exist
  // and InvalidArgument when it is not a regular file (both before anything is written,
  // writer still usable); Internal when reading fails midway, FailedPrecondition when
  // a file under 4 GiB at the start grows past it while read (writer unusable).
  Status AddFileFromPath(std::string_view name, const std::filesystem::path& path,
                         Method method = Method::kDeflate);

  // Source: produces an entry's data piece by piece. Each call returns the next piece,
  // an empty view at the end; the view must stay valid until the next call. An error
  // aborts the archive and is returned by AddFileFromSource.
  using Source = std::function<StatusOr<std::string_view>()>;

  // AddFileFromSource appends an entry named `name` with the data `source` produces,
  // streamed like AddFileFromPath. `size_hint`: the expected size; data that may reach
  // 4 GiB needs a hint of at least 4 GiB - 4 MiB (or force_zip64) so that the entry gets
  // ZIP64 fields, otherwise passing 4 GiB fails with FailedPrecondition (writer unusable).
  Status AddFileFromSource(std::string_view name, const Source& source,
                           Method method = Method::kDeflate, uint64_t size_hint = 0);

  // Finish writes the central directory and the end records. The archive is complete
  // when it returns OK; every later call returns FailedPrecondition.
  Status Finish();

  // Bytes handed to the sink so far.
  uint64_t bytes_written() const { return offset_; }
  // Entries added so far.
  size_t entry_count() const { return entries_.size(); }

 private:
  struct Entry {
    std::string name;
    uint16_t flags = 0;
    uint16_t method = 0;
    uint32_t crc = 0;
    uint64_t compressed_size = 0;
    uint64_t size = 0;
    uint64_t offset = 0;  // of the local header
    bool zip64 = false;   // local header carries a ZIP64 extra field
  };

  Status CheckUsable() const;
  Status CheckName(std::string_view name) const;
  // Writes the local header, the data from `source`, and (unless `known` sizes were
  // given for a stored entry) the data descriptor; records the entry.
  Status WriteEntry(std::string_view name, Method method, uint64_t expected_size,
                    const Source& source, const std::optional<uint32_t>& known_crc);
  Status Emit(std::string_view bytes);
  // Records `status` as the writer's failure when it is not OK; returns it.
  Status Fail(Status status);

  Sink sink_;
  ZipWriterOptions options_;
  uint16_t dos_time_ = 0;
  uint16_t dos_date_ = 0;
  uint64_t offset_ = 0;
  std::vector<Entry> entries_;
  std::unordered_set<std::string> names_;
  Status failed_;  // OK until something after a header went wrong
  bool finished_ = false;
};

}  // namespace infera
