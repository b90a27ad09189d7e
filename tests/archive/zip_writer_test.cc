#include "archive/zip_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <random>
#include <string>

#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using Method = ZipWriter::Method;

constexpr char kPython[] = "/usr/bin/python3";
constexpr char kUnzip[] = "/usr/bin/unzip";

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

// Compressible but not trivial: text lines with counters.
std::string TextBytes(size_t n) {
  std::string s;
  for (int i = 0; s.size() < n; ++i) s += "line " + std::to_string(i) + " of some text\n";
  s.resize(n);
  return s;
}

// A sink appending to a file; records the largest single write.
struct FileSink {
  explicit FileSink(const fs::path& path) : file(std::fopen(path.c_str(), "wb")) {}
  ~FileSink() {
    if (file != nullptr) std::fclose(file);
  }
  ZipWriter::Sink sink() {
    return [this](std::string_view bytes) -> Status {
      ++calls;
      largest = std::max(largest, bytes.size());
      if (std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size()) {
        return absl::InternalError("fwrite");
      }
      return absl::OkStatus();
    };
  }
  void Close() {
    std::fclose(file);
    file = nullptr;
  }
  std::FILE* file;
  size_t calls = 0;
  size_t largest = 0;
};

// Every entry of the archive at `path`, read with libzip (which checks the CRCs).
std::map<std::string, std::string> ReadWithLibzip(const fs::path& path) {
  std::map<std::string, std::string> out;
  int error = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &error);
  if (archive == nullptr) {
    ADD_FAILURE() << "libzip cannot open " << path << ": error " << error;
    return out;
  }
  const zip_int64_t n = zip_get_num_entries(archive, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    zip_stat_index(archive, i, 0, &st);
    zip_file_t* file = zip_fopen_index(archive, i, 0);
    if (file == nullptr) {
      ADD_FAILURE() << "cannot open entry " << st.name;
      continue;
    }
    std::string data;
    char buf[65536];
    zip_int64_t got;
    while ((got = zip_fread(file, buf, sizeof(buf))) > 0) data.append(buf, got);
    EXPECT_EQ(got, 0) << st.name << ": " << zip_error_strerror(zip_file_get_error(file));
    zip_fclose(file);
    EXPECT_EQ(data.size(), st.size) << st.name;
    out[st.name] = std::move(data);
  }
  zip_discard(archive);
  return out;
}

// Runs a shell command; returns its exit status and stdout.
int RunCommand(const std::string& command, std::string* output = nullptr) {
  std::FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) text.append(buf, n);
  const int status = pclose(pipe);
  if (output != nullptr) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// "name size crc32" per entry as Python's zipfile sees them after reading every byte
// (zipfile checks the CRC at the end of each read).
std::string PythonListing(const fs::path& path) {
  std::string out;
  const int rc = RunCommand(std::string(kPython) +
                                " -c 'import sys, zipfile, zlib\n"
                                "z = zipfile.ZipFile(sys.argv[1])\n"
                                "for i in z.infolist():\n"
                                "    d = z.read(i)\n"
                                "    print(i.filename, len(d), format(zlib.crc32(d), \"08x\"))' " +
                                path.string() + " 2>&1",
                            &out);
  EXPECT_EQ(rc, 0) << out;
  return out;
}

std::string ExpectedListing(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out;
  char crc[16];
  for (const auto& [name, data] : entries) {
    std::snprintf(crc, sizeof(crc), "%08lx",
                  crc32(0, reinterpret_cast<const Bytef*>(data.data()), data.size()));
    out += name + " " + std::to_string(data.size()) + " " + crc + "\n";
  }
  return out;
}

void ExpectExternalToolsAccept(const fs::path& archive,
                               const std::vector<std::pair<std::string, std::string>>& entries) {
  if (fs::exists(kUnzip)) {
    std::string out;
    EXPECT_EQ(RunCommand(std::string(kUnzip) + " -t " + archive.string() + " 2>&1", &out), 0)
        << out;
  }
  if (fs::exists(kPython)) {
    EXPECT_EQ(PythonListing(archive), ExpectedListing(entries));
  }
}

TEST(ZipWriterTest, StoredAndDeflatedEntriesRoundTripByteForByte) {
  testing::TempDir tmp;
  const std::string big = RandomBytes(5 << 20, 1);
  const std::string text = TextBytes(300000);
  testing::WriteFile(tmp.path() / "big.bin", big);
  testing::WriteFile(tmp.path() / "text.txt", text);
  testing::WriteFile(tmp.path() / "empty-on-disk", "");

  const fs::path archive = tmp.path() / "out.zip";
  FileSink sink(archive);
  ZipWriter writer(sink.sink());
  ASSERT_TRUE(writer.AddFile("hello.txt", "hello, world\n", Method::kStored).ok());
  ASSERT_TRUE(writer.AddFile("dir/text-deflated.txt", text, Method::kDeflate).ok());
  ASSERT_TRUE(writer.AddFile("empty-stored", "", Method::kStored).ok());
  ASSERT_TRUE(writer.AddFile("empty-deflated", "", Method::kDeflate).ok());
  ASSERT_TRUE(
      writer.AddFileFromPath("big/stored.bin", tmp.path() / "big.bin", Method::kStored).ok());
  ASSERT_TRUE(writer.AddFileFromPath("big/deflated.bin", tmp.path() / "big.bin").ok());
  ASSERT_TRUE(writer.AddFileFromPath("text-from-path.txt", tmp.path() / "text.txt").ok());
  ASSERT_TRUE(writer.AddFileFromPath("empty-from-path", tmp.path() / "empty-on-disk").ok());
  ASSERT_TRUE(writer.Finish().ok());
  sink.Close();
  EXPECT_EQ(writer.entry_count(), 8u);
  EXPECT_EQ(writer.bytes_written(), fs::file_size(archive));
  // Text compresses: the archive is well under the sum of the inputs.
  EXPECT_LT(fs::file_size(archive), 2 * big.size() + 2 * text.size());

  const std::vector<std::pair<std::string, std::string>> expected = {
      {"hello.txt", "hello, world\n"}, {"dir/text-deflated.txt", text}, {"empty-stored", ""},
      {"empty-deflated", ""},          {"big/stored.bin", big},         {"big/deflated.bin", big},
      {"text-from-path.txt", text},    {"empty-from-path", ""}};
  const std::map<std::string, std::string> read = ReadWithLibzip(archive);
  ASSERT_EQ(read.size(), expected.size());
  for (const auto& [name, data] : expected) {
    ASSERT_TRUE(read.count(name)) << name;
    EXPECT_TRUE(read.at(name) == data) << name;
  }
  ExpectExternalToolsAccept(archive, expected);
}

TEST(ZipWriterTest, StreamsInChunksWithoutHoldingTheArchive) {
  testing::TempDir tmp;
  testing::WriteFile(tmp.path() / "big.bin", RandomBytes(5 << 20, 2));
  ZipWriterOptions options;
  options.chunk_bytes = 16 * 1024;
  FileSink sink(tmp.path() / "out.zip");
  ZipWriter writer(sink.sink(), options);
  ASSERT_TRUE(writer.AddFileFromPath("a.bin", tmp.path() / "big.bin", Method::kStored).ok());
  ASSERT_TRUE(writer.AddFileFromPath("b.bin", tmp.path() / "big.bin", Method::kDeflate).ok());
  ASSERT_TRUE(writer.AddFile("c.txt", TextBytes(1 << 20)).ok());
  ASSERT_TRUE(writer.Finish().ok());
  sink.Close();
  EXPECT_LE(sink.largest, options.chunk_bytes);
  EXPECT_GT(sink.calls, 2 * ((5u << 20) / options.chunk_bytes));
}

TEST(ZipWriterTest, WritesUtf8FlagAndNames) {
  testing::TempDir tmp;
  const fs::path archive = tmp.path() / "out.zip";
  FileSink sink(archive);
  ZipWriter writer(sink.sink());
  const std::string name = "caf\xC3\xA9/na\xC3\xAFve \xE2\x9C\x93.png";
  ASSERT_TRUE(writer.AddFile(name, "x").ok());
  ASSERT_TRUE(writer.Finish().ok());
  sink.Close();
  const std::string bytes = testing::ReadFile(archive);
  // Local header general purpose flags at offset 6: bit 3 (descriptor) and bit 11 (UTF-8).
  const uint16_t flags = static_cast<uint8_t>(bytes[6]) | (static_cast<uint8_t>(bytes[7]) << 8);
  EXPECT_EQ(flags, (1u << 11) | (1u << 3));
  EXPECT_EQ(ReadWithLibzip(archive).count(name), 1u);
  ExpectExternalToolsAccept(archive, {{name, "x"}});
}

TEST(ZipWriterTest, RecordsTheGivenModificationTime) {
  testing::TempDir tmp;
  const fs::path archive = tmp.path() / "out.zip";
  std::tm tm{};
  tm.tm_year = 2024 - 1900;
  tm.tm_mon = 2;
  tm.tm_mday = 15;
  tm.tm_hour = 12;
  tm.tm_min = 34;
  tm.tm_sec = 56;
  tm.tm_isdst = -1;
  const std::time_t when = std::mktime(&tm);  // local time, as DOS times are
  ZipWriterOptions options;
  options.mtime = std::chrono::system_clock::from_time_t(when);
  FileSink sink(archive);
  ZipWriter writer(sink.sink(), options);
  ASSERT_TRUE(writer.AddFile("a.txt", "a").ok());
  ASSERT_TRUE(writer.Finish().ok());
  sink.Close();
  int error = 0;
  zip_t* za = zip_open(archive.c_str(), ZIP_RDONLY, &error);
  ASSERT_NE(za, nullptr);
  zip_stat_t st;
  ASSERT_EQ(zip_stat_index(za, 0, 0, &st), 0);
  EXPECT_EQ(st.mtime, when);  // 56 s is even: no 2-second rounding
  zip_discard(za);
}

TEST(ZipWriterTest, ForcedZip64IsReadByLibzipUnzipAndPython) {
  testing::TempDir tmp;
  const std::string big = RandomBytes(1 << 20, 3);
  testing::WriteFile(tmp.path() / "big.bin", big);
  const fs::path archive = tmp.path() / "out.zip";
  ZipWriterOptions options;
  options.force_zip64 = true;
  FileSink sink(archive);
  ZipWriter writer(sink.sink(), options);
  ASSERT_TRUE(writer.AddFile("stored.txt", "stored data", Method::kStored).ok());
  ASSERT_TRUE(writer.AddFile("deflated.txt", TextBytes(100000)).ok());
  ASSERT_TRUE(writer.AddFile("empty", "", Method::kStored).ok());
  ASSERT_TRUE(writer.AddFileFromPath("from-path.bin", tmp.path() / "big.bin").ok());
  ASSERT_TRUE(writer.Finish().ok());
  sink.Close();

  const std::string bytes = testing::ReadFile(archive);
  EXPECT_NE(bytes.find(std::string("PK\x06\x06", 4)), std::string::npos);  // ZIP64 end record
  EXPECT_NE(bytes.find(std::string("PK\x06\x07", 4)), std::string::npos);  // its locator
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"stored.txt", "stored data"},
      {"deflated.txt", TextBytes(100000)},
      {"empty", ""},
      {"from-path.bin", big}};
  const std::map<std::string, std::string> read = ReadWithLibzip(archive);
  ASSERT_EQ(read.size(), expected.size());
  for (const auto& [name, data] : expected) EXPECT_TRUE(read.at(name) == data) << name;
  ExpectExternalToolsAccept(archive, expected);
}

TEST(ZipWriterTest, MoreThan65535EntriesUseZip64EndRecords) {
  testing::TempDir tmp;
  const fs::path archive = tmp.path() / "out.zip";
  FileSink sink(archive);
  ZipWriter writer(sink.sink());
  constexpr int kEntries = 70000;
  for (int i = 0; i < kEntries; ++i) {
    ASSERT_TRUE(writer.AddFile("f" + std::to_string(i), std::to_string(i), Method::kStored).ok());
  }
  ASSERT_TRUE(writer.Finish().ok());
  sink.Close();
  int error = 0;
  zip_t* za = zip_open(archive.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &error);
  ASSERT_NE(za, nullptr) << error;
  EXPECT_EQ(zip_get_num_entries(za, 0), kEntries);
  zip_stat_t st;
  ASSERT_EQ(zip_stat(za, "f69999", 0, &st), 0);
  EXPECT_EQ(st.size, 5u);
  zip_discard(za);
  if (fs::exists(kPython)) {
    std::string out;
    EXPECT_EQ(RunCommand(std::string(kPython) +
                             " -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); "
                             "print(len(z.infolist()), z.read(\"f12345\").decode())' " +
                             archive.string(),
                         &out),
              0);
    EXPECT_EQ(out, "70000 12345\n");
  }
}

// A sink that writes runs of zeros as holes, so a >4 GiB archive of a sparse file takes
// almost no disk.
struct SparseSink {
  explicit SparseSink(const fs::path& path)
      : fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644)) {}
  ~SparseSink() {
    if (fd >= 0) ::close(fd);
  }
  ZipWriter::Sink sink() {
    return [this](std::string_view bytes) -> Status {
      const bool zeros =
          bytes[0] == 0 && std::memcmp(bytes.data(), bytes.data() + 1, bytes.size() - 1) == 0;
      if (zeros) {
        if (::lseek(fd, static_cast<off_t>(bytes.size()), SEEK_CUR) < 0)
          return absl::InternalError("seek");
      } else if (::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
        return absl::InternalError("write");
      }
      size += bytes.size();
      return absl::OkStatus();
    };
  }
  int fd;
  uint64_t size = 0;
};

// CRC-32 of `n` zero bytes, by doubling with crc32_combine.
uint32_t ZerosCrc(uint64_t n) {
  uLong crc = crc32(0, nullptr, 0);
  const Bytef zero = 0;
  uLong block = crc32(0, &zero, 1);
  z_off_t block_len = 1;
  for (; n != 0; n >>= 1) {
    if (n & 1) crc = crc32_combine(crc, block, block_len);
    block = crc32_combine(block, block, block_len);
    block_len *= 2;
  }
  return static_cast<uint32_t>(crc);
}

TEST(ZipWriterTest, EntriesAndOffsetsPast4GiBUseZip64) {
  testing::TempDir tmp;
  {
    // The archive is only small on disk where the file system keeps holes.
    const fs::path probe = tmp.path() / "probe";
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::lseek(fd, 16 << 20, SEEK_SET), 16 << 20);
    ASSERT_EQ(::write(fd, "x", 1), 1);
    ::close(fd);
    struct stat st {};
    ASSERT_EQ(::stat(probe.c_str(), &st), 0);
    if (st.st_blocks * 512 >= (8 << 20)) GTEST_SKIP() << "the temp file system has no holes";
  }
  constexpr uint64_t kBig = (uint64_t{4} << 30) + 12345;
  const std::string zeros(1 << 20, '\0');
  uint64_t produced = 0;
  // 4 GiB of zeros from one 1 MiB buffer.
  const ZipWriter::Source source = [&]() -> StatusOr<std::string_view> {
    const uint64_t n = std::min<uint64_t>(zeros.size(), kBig - produced);
    produced += n;
    return std::string_view(zeros.data(), n);
  };
  const fs::path archive = tmp.path() / "big.zip";
  {
    ZipWriterOptions options;
    options.chunk_bytes = 1 << 20;
    SparseSink sink(archive);
    ZipWriter writer(sink.sink(), options);
    ASSERT_TRUE(writer.AddFileFromSource("zeros.bin", source, Method::kStored, kBig).ok());
    ASSERT_TRUE(writer.AddFile("after.txt", "after the big one", Method::kStored).ok());
    ASSERT_TRUE(writer.AddFile("after-deflated.txt", "deflated after the big one").ok());
    ASSERT_TRUE(writer.Finish().ok());
    ASSERT_EQ(::ftruncate(sink.fd, static_cast<off_t>(sink.size)), 0);
  }
  struct stat st {};
  ASSERT_EQ(::stat(archive.c_str(), &st), 0);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, uint64_t{64} << 20);  // sparse

  int error = 0;
  zip_t* za = zip_open(archive.c_str(), ZIP_RDONLY, &error);
  ASSERT_NE(za, nullptr) << error;
  ASSERT_EQ(zip_get_num_entries(za, 0), 3);
  zip_stat_t zst;
  ASSERT_EQ(zip_stat(za, "zeros.bin", 0, &zst), 0);
  EXPECT_EQ(zst.size, kBig);
  EXPECT_EQ(zst.crc, ZerosCrc(kBig));
  for (const char* name : {"after.txt", "after-deflated.txt"}) {
    zip_file_t* file = zip_fopen(za, name, 0);
    ASSERT_NE(file, nullptr) << name;
    char buf[64];
    const zip_int64_t n = zip_fread(file, buf, sizeof(buf));
    zip_fclose(file);
    EXPECT_EQ(std::string(buf, n > 0 ? n : 0), std::string(name) == "after.txt"
                                                   ? "after the big one"
                                                   : "deflated after the big one");
  }
  zip_discard(za);
  if (fs::exists(kPython)) {
    std::string out;
    EXPECT_EQ(
        RunCommand(
            std::string(kPython) +
                " -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); "
                "print(z.getinfo(\"zeros.bin\").file_size, z.read(\"after.txt\").decode())' " +
                archive.string(),
            &out),
        0);
    EXPECT_EQ(out, std::to_string(kBig) + " after the big one\n");
  }
}

TEST(ZipWriterTest, DataPassing4GiBWithoutAHintFails) {
  const std::string zeros(1 << 20, '\0');
  uint64_t produced = 0;
  const ZipWriter::Source source = [&]() -> StatusOr<std::string_view> {
    const uint64_t n = std::min<uint64_t>(zeros.size(), (uint64_t{4} << 30) - produced);
    produced += n;
    return std::string_view(zeros.data(), n);
  };
  ZipWriter writer([](std::string_view) { return absl::OkStatus(); });
  EXPECT_EQ(writer.AddFileFromSource("zeros.bin", source, Method::kStored).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(writer.Finish().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ZipWriterTest, SourceErrorIsReturnedAndPoisonsTheWriter) {
  int calls = 0;
  const ZipWriter::Source source = [&]() -> StatusOr<std::string_view> {
    if (++calls == 3) return absl::DataLossError("disk went away");
    return std::string_view("data");
  };
  ZipWriter writer([](std::string_view) { return absl::OkStatus(); });
  EXPECT_EQ(writer.AddFileFromSource("a.bin", source).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(writer.AddFile("b.txt", "b").code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ZipWriterTest, EmptyArchiveIsValid) {
  testing::TempDir tmp;
  const fs::path archive = tmp.path() / "out.zip";
  FileSink sink(archive);
  ZipWriter writer(sink.sink());
  ASSERT_TRUE(writer.Finish().ok());
  sink.Close();
  EXPECT_EQ(fs::file_size(archive), 22u);
  EXPECT_TRUE(ReadWithLibzip(archive).empty());
  if (fs::exists(kPython)) {
    EXPECT_EQ(PythonListing(archive), "");
  }
}

TEST(ZipWriterTest, RefusesBadNamesAndStaysUsable) {
  testing::TempDir tmp;
  const fs::path archive = tmp.path() / "out.zip";
  FileSink sink(archive);
  ZipWriter writer(sink.sink());
  ASSERT_TRUE(writer.AddFile("ok.txt", "ok").ok());
  for (const std::string& name :
       {std::string(""), std::string("/abs.png"), std::string("../evil.png"),
        std::string("a/../../evil.png"), std::string(".."), std::string("a\\b.png"),
        std::string("a\0b.png", 7), std::string("C:evil.png"), std::string("c:/evil.png"),
        std::string("dir/"), std::string("bad\xFF.png"), std::string("over\xC0\xAFlong"),
        std::string("tab\there"), std::string("ok.txt"), std::string(70000, 'a')}) {
    EXPECT_EQ(writer.AddFile(name, "x").code(), absl::StatusCode::kInvalidArgument) << name;
  }
  const uint64_t before = writer.bytes_written();
  EXPECT_EQ(writer.AddFileFromPath("../x", tmp.path() / "nothing").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(writer.AddFileFromPath("missing", tmp.path() / "nothing").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(writer.AddFileFromPath("dir", tmp.path()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(writer.bytes_written(), before);
  // Names that merely look similar are fine.
  ASSERT_TRUE(writer.AddFile("a..b.png", "x").ok());
  ASSERT_TRUE(writer.AddFile("..hidden/x.png", "x").ok());
  ASSERT_TRUE(writer.AddFile("./dot.png", "x").ok());
  ASSERT_TRUE(writer.Finish().ok());
  sink.Close();
  EXPECT_EQ(ReadWithLibzip(archive).size(), 4u);
}

// Issue 22 item 1: a right-to-left override shows "x\u202Egnp.exe" as "xexe.png".
TEST(ZipWriterTest, RefusesBidiAndInvisibleCharactersInNames) {
  ZipWriter writer([](std::string_view) { return absl::OkStatus(); });
  for (const std::string& name :
       {std::string("x\xE2\x80\xAEgnp.exe"),
        std::string("a\xE2\x81\xA6"
                    "b.png"),
        std::string("zero\xE2\x80\x8Bwidth.png"), std::string("c1\xC2\x85.png"),
        std::string("\xEF\xBB\xBF"
                    "bom.png")}) {
    EXPECT_EQ(writer.AddFile(name, "x").code(), absl::StatusCode::kInvalidArgument) << name;
  }
  EXPECT_TRUE(writer.AddFile("caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC.png", "x").ok());
}

TEST(ZipWriterTest, SinkFailureIsReturnedAndPoisonsTheWriter) {
  int calls = 0;
  ZipWriter writer([&](std::string_view) -> Status {
    if (++calls == 3) return absl::UnavailableError("client went away");
    return absl::OkStatus();
  });
  ASSERT_TRUE(writer.AddFile("a.txt", "a", Method::kStored).ok());  // header + data
  EXPECT_EQ(writer.AddFile("b.txt", "b", Method::kStored).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(writer.AddFile("c.txt", "c").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(writer.Finish().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ZipWriterTest, NothingCanBeAddedAfterFinish) {
  ZipWriter writer([](std::string_view) { return absl::OkStatus(); });
  ASSERT_TRUE(writer.Finish().ok());
  EXPECT_EQ(writer.AddFile("a.txt", "a").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(writer.Finish().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace infera
