#include "archive/zip_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>

#include "common/strings.h"
#include "common/unique_fd.h"
#include "common/utf8.h"

namespace infera {

namespace {

constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kDataDescriptorSignature = 0x08074b50;
constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr uint32_t kZip64EndSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint32_t kEndSignature = 0x06054b50;

constexpr uint16_t kFlagDataDescriptor = 1u << 3;
constexpr uint16_t kFlagUtf8 = 1u << 11;
constexpr uint16_t kMethodStored = 0;
constexpr uint16_t kMethodDeflate = 8;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kVersionStored = 10;
constexpr uint16_t kVersionDeflate = 20;
constexpr uint16_t kVersionZip64 = 45;
constexpr uint16_t kVersionMadeBy = (3u << 8) | 63;  // unix, APPNOTE 6.3
constexpr uint32_t kExternalAttributes = 0100644u << 16;

constexpr uint64_t kMax16 = 0xFFFF;
constexpr uint64_t kMax32 = 0xFFFFFFFF;
// An entry whose expected size is within this of 4 GiB gets ZIP64 fields up front:
// deflate can expand incompressible data by ~0.03%, and a header written without ZIP64
// cannot be fixed later.
constexpr uint64_t kZip64Margin = uint64_t{1} << 22;

void Put16(std::string& out, uint64_t v) {
  out.push_back(static_cast<char>(v & 0xFF));
  out.push_back(static_cast<char>((v >> 8) & 0xFF));
}
void Put32(std::string& out, uint64_t v) {
  Put16(out, v & 0xFFFF);
  Put16(out, (v >> 16) & 0xFFFF);
}
void Put64(std::string& out, uint64_t v) {
  Put32(out, v & 0xFFFFFFFF);
  Put32(out, v >> 32);
}

// The DOS date and time of `tp` in local time, clamped to what the format can hold.
std::pair<uint16_t, uint16_t> DosDateTime(std::chrono::system_clock::time_point tp) {
  const std::time_t t = std::chrono::system_clock::to_time_t(tp);
  std::tm tm{};
  if (localtime_r(&t, &tm) == nullptr || tm.tm_year < 80) return {(1 << 5) | 1, 0};
  if (tm.tm_year > 207) return {(127 << 9) | (12 << 5) | 31, (23 << 11) | (59 << 5) | 29};
  const auto date =
      static_cast<uint16_t>(((tm.tm_year - 80) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday);
  const auto time =
      static_cast<uint16_t>((tm.tm_hour << 11) | (tm.tm_min << 5) | (std::min(tm.tm_sec, 59) / 2));
  return {date, time};
}

// Ends a deflate stream on scope exit.
class DeflateEnder {
 public:
  explicit DeflateEnder(z_stream* zs) : zs_(zs) {}
  ~DeflateEnder() { deflateEnd(zs_); }
  DeflateEnder(const DeflateEnder&) = delete;
  DeflateEnder& operator=(const DeflateEnder&) = delete;

 private:
  z_stream* zs_;
};

}  // namespace

ZipWriter::ZipWriter(Sink sink, ZipWriterOptions options)
    : sink_(std::move(sink)), options_(options) {
  if (options_.chunk_bytes == 0) options_.chunk_bytes = size_t{64} * 1024;
  options_.chunk_bytes = std::min<size_t>(options_.chunk_bytes, size_t{1} << 30);
  std::tie(dos_date_, dos_time_) =
      DosDateTime(options_.mtime.value_or(std::chrono::system_clock::now()));
}

Status ZipWriter::Fail(Status status) {
  if (!status.ok() && failed_.ok()) failed_ = status;
  return status;
}

Status ZipWriter::CheckUsable() const {
  if (finished_) return absl::FailedPreconditionError("ZipWriter: the archive is finished");
  if (!failed_.ok()) {
    return absl::FailedPreconditionError(
        StrCat("ZipWriter: an earlier write failed: ", ToStd(failed_.message())));
  }
  return absl::OkStatus();
}

Status ZipWriter::CheckName(std::string_view name) const {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(StrCat("zip entry name '", name, "': ", why));
  };
  if (name.empty()) return bad("empty");
  if (name.size() > kMax16) return bad("longer than 65535 bytes");
  if (name.front() == '/') return bad("absolute path");
  if (name.size() >= 2 && name[1] == ':' &&
      ((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z'))) {
    return bad("starts with a drive letter");
  }
  if (name.back() == '/') return bad("ends with '/' (directories are implied by file names)");
  for (char c : name) {
    if (c == '\\') return bad("contains a backslash");
    if (c == '\0') return bad("contains NUL");
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
      return bad("contains a control character");
  }
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    if (name.substr(start, end - start) == "..") return bad("has a '..' component");
    start = end + 1;
  }
  if (!IsValidUtf8(name)) return bad("not valid UTF-8");
  // Bidi overrides and invisible characters make a name show as another one.
  if (CleanDisplayText(name) != name) return bad("contains a bidi, invisible or control character");
  if (names_.count(std::string(name)) != 0) return bad("already in the archive");
  return absl::OkStatus();
}

Status ZipWriter::Emit(std::string_view bytes) {
  if (bytes.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(Fail(sink_(bytes)));
  offset_ += bytes.size();
  return absl::OkStatus();
}

Status ZipWriter::WriteEntry(std::string_view name, Method method, uint64_t expected_size,
                             const Source& source, const std::optional<uint32_t>& known_crc) {
  // Sizes and CRC go into the local header only for stored data whose CRC is known up
  // front; everything else gets a data descriptor after the data.
  const bool sizes_known = known_crc.has_value() && method == Method::kStored;
  Entry entry;
  entry.name = std::string(name);
  entry.method = method == Method::kStored ? kMethodStored : kMethodDeflate;
  entry.flags = kFlagUtf8 | (sizes_known ? 0 : kFlagDataDescriptor);
  entry.offset = offset_;
  entry.zip64 = options_.force_zip64 || expected_size >= kMax32 - kZip64Margin;
  if (sizes_known) {
    entry.crc = *known_crc;
    entry.size = entry.compressed_size = expected_size;
  }

  std::string header;
  header.reserve(30 + name.size() + 20);
  Put32(header, kLocalHeaderSignature);
  Put16(header, entry.zip64 ? kVersionZip64
                            : (method == Method::kStored ? kVersionStored : kVersionDeflate));
  Put16(header, entry.flags);
  Put16(header, entry.method);
  Put16(header, dos_time_);
  Put16(header, dos_date_);
  Put32(header, entry.crc);
  Put32(header, entry.zip64 ? kMax32 : entry.compressed_size);
  Put32(header, entry.zip64 ? kMax32 : entry.size);
  Put16(header, name.size());
  Put16(header, entry.zip64 ? 20 : 0);
  header.append(name);
  if (entry.zip64) {
    Put16(header, kZip64ExtraId);
    Put16(header, 16);
    Put64(header, entry.size);
    Put64(header, entry.compressed_size);
  }
  RETURN_IF_ERROR(Emit(header));

  uint32_t crc = static_cast<uint32_t>(crc32_z(0, nullptr, 0));
  uint64_t size = 0;
  uint64_t compressed_size = 0;
  if (method == Method::kStored) {
    for (;;) {
      StatusOr<std::string_view> chunk = source();
      if (!chunk.ok()) return Fail(chunk.status());
      if (chunk->empty()) break;
      if (!sizes_known) {
        crc = static_cast<uint32_t>(
            crc32_z(crc, reinterpret_cast<const Bytef*>(chunk->data()), chunk->size()));
      }
      size += chunk->size();
      RETURN_IF_ERROR(Emit(*chunk));
    }
    if (sizes_known) crc = entry.crc;
    compressed_size = size;
  } else {
    z_stream zs{};
    if (deflateInit2(&zs, options_.deflate_level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
      return Fail(absl::InternalError("ZipWriter: deflateInit2 failed"));
    }
    DeflateEnder ender(&zs);
    std::string out(options_.chunk_bytes, '\0');
    // Runs deflate over the pending input (flush Z_NO_FLUSH) or to the end of the
    // stream (Z_FINISH), handing every full output buffer to the sink.
    auto pump = [&](int flush) -> Status {
      for (;;) {
        zs.next_out = reinterpret_cast<Bytef*>(out.data());
        zs.avail_out = static_cast<uInt>(out.size());
        const int rc = deflate(&zs, flush);
        if (rc == Z_STREAM_ERROR) return absl::InternalError("ZipWriter: deflate failed");
        const size_t have = out.size() - zs.avail_out;
        compressed_size += have;
        RETURN_IF_ERROR(Emit(std::string_view(out.data(), have)));
        if (flush == Z_FINISH ? rc == Z_STREAM_END : zs.avail_out != 0) return absl::OkStatus();
      }
    };
    for (;;) {
      StatusOr<std::string_view> chunk = source();
      if (!chunk.ok()) return Fail(chunk.status());
      if (chunk->empty()) break;
      crc = static_cast<uint32_t>(
          crc32_z(crc, reinterpret_cast<const Bytef*>(chunk->data()), chunk->size()));
      size += chunk->size();
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk->data()));
      zs.avail_in = static_cast<uInt>(chunk->size());
      RETURN_IF_ERROR(Fail(pump(Z_NO_FLUSH)));
    }
    RETURN_IF_ERROR(Fail(pump(Z_FINISH)));
  }

  if (!entry.zip64 && (size >= kMax32 || compressed_size >= kMax32)) {
    return Fail(absl::FailedPreconditionError(
        StrCat("ZipWriter: entry '", name, "' grew past 4 GiB while it was written")));
  }
  if (sizes_known) {
    if (size != entry.size) {
      return Fail(absl::InternalError(StrCat("ZipWriter: entry '", name, "' changed size")));
    }
  } else {
    entry.crc = crc;
    entry.size = size;
    entry.compressed_size = compressed_size;
    std::string descriptor;
    Put32(descriptor, kDataDescriptorSignature);
    Put32(descriptor, crc);
    if (entry.zip64) {
      Put64(descriptor, compressed_size);
      Put64(descriptor, size);
    } else {
      Put32(descriptor, compressed_size);
      Put32(descriptor, size);
    }
    RETURN_IF_ERROR(Emit(descriptor));
  }
  names_.insert(entry.name);
  entries_.push_back(std::move(entry));
  return absl::OkStatus();
}

Status ZipWriter::AddFile(std::string_view name, std::string_view data, Method method) {
  RETURN_IF_ERROR(CheckUsable());
  RETURN_IF_ERROR(CheckName(name));
  std::optional<uint32_t> crc;
  if (method == Method::kStored) {
    crc = static_cast<uint32_t>(
        crc32_z(crc32_z(0, nullptr, 0), reinterpret_cast<const Bytef*>(data.data()), data.size()));
  }
  size_t pos = 0;
  const size_t chunk_bytes = options_.chunk_bytes;
  Source source = [&]() -> StatusOr<std::string_view> {
    const std::string_view chunk = data.substr(pos, chunk_bytes);
    pos += chunk.size();
    return chunk;
  };
  return WriteEntry(name, method, data.size(), source, crc);
}

Status ZipWriter::AddFileFromPath(std::string_view name, const std::filesystem::path& path,
                                  Method method) {
  RETURN_IF_ERROR(CheckUsable());
  RETURN_IF_ERROR(CheckName(name));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const std::string message = StrCat("ZipWriter: cannot open ", path.string(), ": ",
                                       std::string_view(std::strerror(err)));
    if (err == ENOENT || err == ENOTDIR) return absl::NotFoundError(message);
    return absl::InternalError(message);
  }
  UniqueFd closer(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return absl::InternalError(StrCat("ZipWriter: cannot stat ", path.string()));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        StrCat("ZipWriter: ", path.string(), " is not a regular file"));
  }
  std::string buffer(options_.chunk_bytes, '\0');
  const std::string path_text = path.string();
  Source source = [&]() -> StatusOr<std::string_view> {
    for (;;) {
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n >= 0) return std::string_view(buffer.data(), static_cast<size_t>(n));
      if (errno == EINTR) continue;
      return absl::InternalError(
          StrCat("ZipWriter: reading ", path_text, ": ", std::string_view(std::strerror(errno))));
    }
  };
  return WriteEntry(name, method, static_cast<uint64_t>(st.st_size), source, std::nullopt);
}

Status ZipWriter::AddFileFromSource(std::string_view name, const Source& source, Method method,
                                    uint64_t size_hint) {
  RETURN_IF_ERROR(CheckUsable());
  RETURN_IF_ERROR(CheckName(name));
  return WriteEntry(name, method, size_hint, source, std::nullopt);
}

Status ZipWriter::Finish() {
  RETURN_IF_ERROR(CheckUsable());
  const uint64_t cd_offset = offset_;
  std::string buffer;
  for (const Entry& e : entries_) {
    const bool offset64 = options_.force_zip64 || e.offset >= kMax32;
    const bool zip64 = e.zip64 || offset64;
    std::string extra;
    if (zip64) {
      Put16(extra, kZip64ExtraId);
      Put16(extra, (e.zip64 ? 16 : 0) + (offset64 ? 8 : 0));
      if (e.zip64) {
        Put64(extra, e.size);
        Put64(extra, e.compressed_size);
      }
      if (offset64) Put64(extra, e.offset);
    }
    Put32(buffer, kCentralHeaderSignature);
    Put16(buffer, kVersionMadeBy);
    Put16(buffer,
          zip64 ? kVersionZip64 : (e.method == kMethodStored ? kVersionStored : kVersionDeflate));
    Put16(buffer, e.flags);
    Put16(buffer, e.method);
    Put16(buffer, dos_time_);
    Put16(buffer, dos_date_);
    Put32(buffer, e.crc);
    Put32(buffer, e.zip64 ? kMax32 : e.compressed_size);
    Put32(buffer, e.zip64 ? kMax32 : e.size);
    Put16(buffer, e.name.size());
    Put16(buffer, extra.size());
    Put16(buffer, 0);  // comment length
    Put16(buffer, 0);  // disk number start
    Put16(buffer, 0);  // internal attributes
    Put32(buffer, kExternalAttributes);
    Put32(buffer, offset64 ? kMax32 : e.offset);
    buffer.append(e.name);
    buffer.append(extra);
    if (buffer.size() >= options_.chunk_bytes) {
      RETURN_IF_ERROR(Emit(buffer));
      buffer.clear();
    }
  }
  RETURN_IF_ERROR(Emit(buffer));
  buffer.clear();

  const uint64_t count = entries_.size();
  const uint64_t cd_size = offset_ - cd_offset;
  const bool zip64_end =
      options_.force_zip64 || count >= kMax16 || cd_size >= kMax32 || cd_offset >= kMax32;
  if (zip64_end) {
    const uint64_t zip64_end_offset = offset_;
    Put32(buffer, kZip64EndSignature);
    Put64(buffer, 44);  // size of the rest of this record
    Put16(buffer, kVersionMadeBy);
    Put16(buffer, kVersionZip64);
    Put32(buffer, 0);  // this disk
    Put32(buffer, 0);  // disk with the central directory
    Put64(buffer, count);
    Put64(buffer, count);
    Put64(buffer, cd_size);
    Put64(buffer, cd_offset);
    Put32(buffer, kZip64LocatorSignature);
    Put32(buffer, 0);  // disk with the ZIP64 end record
    Put64(buffer, zip64_end_offset);
    Put32(buffer, 1);  // total disks
  }
  // With ZIP64 end records every field they hold is saturated here, the usual signal
  // (and what libzip's consistency check expects).
  Put32(buffer, kEndSignature);
  Put16(buffer, 0);
  Put16(buffer, 0);
  Put16(buffer, zip64_end ? kMax16 : count);
  Put16(buffer, zip64_end ? kMax16 : count);
  Put32(buffer, zip64_end ? kMax32 : cd_size);
  Put32(buffer, zip64_end ? kMax32 : cd_offset);
  Put16(buffer, 0);  // comment length
  RETURN_IF_ERROR(Emit(buffer));
  finished_ = true;
  return absl::OkStatus();
}

}  // namespace infera
