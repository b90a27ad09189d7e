#include "archive/zip_reader.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "archive/zip_writer.h"
#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;
using Method = ZipWriter::Method;

constexpr char kPython[] = "/usr/bin/python3";

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

// Builds an archive in memory with ZipWriter; `add` adds the entries.
std::string BuildZip(const std::function<void(ZipWriter&)>& add) {
  std::string out;
  ZipWriter writer([&](std::string_view bytes) {
    out.append(bytes);
    return absl::OkStatus();
  });
  add(writer);
  EXPECT_TRUE(writer.Finish().ok());
  return out;
}

// A Source of `n` zero bytes from a 1 MiB buffer.
ZipWriter::Source Zeros(uint64_t n) {
  auto buffer = std::make_shared<std::string>(1 << 20, '\0');
  auto left = std::make_shared<uint64_t>(n);
  return [buffer, left]() -> StatusOr<std::string_view> {
    const uint64_t k = std::min<uint64_t>(buffer->size(), *left);
    *left -= k;
    return std::string_view(buffer->data(), k);
  };
}

uint32_t Get16(const std::string& s, size_t at) {
  return static_cast<uint8_t>(s[at]) | (static_cast<uint8_t>(s[at + 1]) << 8);
}
void Put16(std::string& s, size_t at, uint32_t v) {
  s[at] = static_cast<char>(v & 0xFF);
  s[at + 1] = static_cast<char>((v >> 8) & 0xFF);
}
void Put32(std::string& s, size_t at, uint32_t v) {
  Put16(s, at, v & 0xFFFF);
  Put16(s, at + 2, v >> 16);
}

// Offset of the header (local "PK\3\4" or central "PK\1\2") of entry `name`.
size_t FindHeader(const std::string& zip, std::string_view name, bool central) {
  const std::string signature =
      central ? std::string("PK\x01\x02", 4) : std::string("PK\x03\x04", 4);
  const size_t name_length_at = central ? 28 : 26;
  const size_t name_at = central ? 46 : 30;
  for (size_t at = zip.find(signature); at != std::string::npos; at = zip.find(signature, at + 1)) {
    if (at + name_at > zip.size()) break;
    if (std::string_view(zip).substr(at + name_at, Get16(zip, at + name_length_at)) == name) {
      return at;
    }
  }
  ADD_FAILURE() << "no header for " << name;
  return 0;
}

// Replaces entry `from`'s name with `to` (same length) in both of its headers.
void RenameEntry(std::string& zip, std::string_view from, std::string_view to) {
  ASSERT_EQ(from.size(), to.size());
  const size_t local = FindHeader(zip, from, false);
  const size_t central = FindHeader(zip, from, true);
  zip.replace(local + 30, from.size(), to);
  zip.replace(central + 46, from.size(), to);
}

struct Extracted {
  ZipEntryInfo info;
  std::string data;
};

// Runs ForEachFile, collecting what the callback got; checks the temp files are gone.
StatusOr<std::vector<ZipRefusal>> ExtractAll(const fs::path& archive, const ZipLimits& limits,
                                             std::vector<Extracted>* got) {
  testing::TempDir scratch;
  ASSIGN_OR_RETURN(ZipReader reader, ZipReader::Open(archive, limits));
  StatusOr<std::vector<ZipRefusal>> refused =
      reader.ForEachFile(scratch.path(), [&](const ZipEntryInfo& info, const fs::path& file) {
        EXPECT_EQ(file.parent_path(), scratch.path());
        EXPECT_EQ(fs::file_size(file), info.size);
        got->push_back({info, testing::ReadFile(file)});
        return absl::OkStatus();
      });
  EXPECT_TRUE(fs::is_empty(scratch.path())) << "temporary files left behind";
  return refused;
}

std::map<std::string, ZipRefusalReason> ByName(const std::vector<ZipRefusal>& refused) {
  std::map<std::string, ZipRefusalReason> out;
  for (const ZipRefusal& r : refused) {
    EXPECT_FALSE(r.message.empty()) << r.name;
    out[r.name] = r.reason;
  }
  return out;
}

TEST(ZipReaderTest, ExtractsEntriesWrittenByZipWriter) {
  testing::TempDir tmp;
  const std::string big = RandomBytes(5 << 20, 7);
  const fs::path archive = tmp.path() / "a.zip";
  testing::WriteFile(archive, BuildZip([&](ZipWriter& w) {
                       ASSERT_TRUE(w.AddFile("photos/cat.png", "meow", Method::kStored).ok());
                       ASSERT_TRUE(w.AddFile("dog.png", big, Method::kDeflate).ok());
                       ASSERT_TRUE(w.AddFile("empty.png", "", Method::kDeflate).ok());
                     }));
  std::vector<Extracted> got;
  StatusOr<std::vector<ZipRefusal>> refused = ExtractAll(archive, ZipLimits{}, &got);
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_TRUE(refused->empty());
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].info.name, "photos/cat.png");
  EXPECT_EQ(got[0].info.base_name, "cat.png");
  EXPECT_EQ(got[0].info.method, 0);
  EXPECT_EQ(got[0].data, "meow");
  EXPECT_EQ(got[1].info.base_name, "dog.png");
  EXPECT_EQ(got[1].info.method, 8);
  EXPECT_TRUE(got[1].data == big);
  EXPECT_EQ(got[2].info.name, "empty.png");
  EXPECT_EQ(got[2].data, "");
}

// Writes an archive with Python's zipfile (which writes whatever names and modes it is
// given); `body` is Python adding entries to ZipFile `z`.
bool PythonZip(const fs::path& archive, const std::string& body) {
  const fs::path script = archive.parent_path() / "make_zip.py";
  testing::WriteFile(script,
                     "import sys, zipfile\n"
                     "def info(name, mode):\n"
                     "    i = zipfile.ZipInfo(name, (2020, 1, 2, 3, 4, 6))\n"
                     "    i.create_system = 3\n"
                     "    i.external_attr = mode << 16\n"
                     "    return i\n"
                     "with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n" +
                         body);
  const std::string command = std::string(kPython) + " " + script.string() + " " + archive.string();
  return std::system(command.c_str()) == 0;
}

TEST(ZipReaderTest, RefusesUnsafeEntriesOneByOneAndKeepsTheGoodOnes) {
  if (!fs::exists(kPython)) GTEST_SKIP() << "needs " << kPython;
  testing::TempDir tmp;
  const fs::path archive = tmp.path() / "mixed.zip";
  ASSERT_TRUE(PythonZip(archive,
                        "    z.writestr(info('good.png', 0o100644), b'good')\n"
                        "    z.writestr(info('../evil.png', 0o100644), b'evil')\n"
                        "    z.writestr(info('a/../../evil2.png', 0o100644), b'evil')\n"
                        "    z.writestr(info('/abs.png', 0o100644), b'abs')\n"
                        "    z.writestr(info('C:/drive.png', 0o100644), b'drive')\n"
                        "    z.writestr(info('..\\\\back.png', 0o100644), b'back')\n"
                        "    z.writestr(info('link.png', 0o120777), b'/etc/passwd')\n"
                        "    z.writestr(info('fifo', 0o010644), b'')\n"
                        "    z.writestr(info('dir/', 0o040755), b'')\n"
                        "    z.writestr(info('dir/nested/', 0o040755), b'')\n"
                        "    z.writestr(info('dir/nested/cat.png', 0o100644), b'cat')\n"
                        "    z.writestr(info('dos.png', 0), b'dos')\n"
                        "    z.writestr(info('dots..png', 0o100644), b'dots')\n"));

  StatusOr<ZipReader> reader = ZipReader::Open(archive, ZipLimits{});
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_EQ(reader->entries().size(), 13u);
  EXPECT_EQ(reader->entries()[6].kind, ZipEntryKind::kSymlink);
  EXPECT_EQ(reader->entries()[7].kind, ZipEntryKind::kOther);
  EXPECT_EQ(reader->entries()[8].kind, ZipEntryKind::kDirectory);
  EXPECT_EQ(reader->entries()[10].kind, ZipEntryKind::kFile);

  std::vector<Extracted> got;
  StatusOr<std::vector<ZipRefusal>> refused = ExtractAll(archive, ZipLimits{}, &got);
  ASSERT_TRUE(refused.ok()) << refused.status();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].info.name, "good.png");
  EXPECT_EQ(got[0].data, "good");
  EXPECT_EQ(got[1].info.name, "dir/nested/cat.png");
  EXPECT_EQ(got[1].info.base_name, "cat.png");
  EXPECT_EQ(got[1].data, "cat");
  EXPECT_EQ(got[2].data, "dos");
  EXPECT_EQ(got[3].data, "dots");
  const std::map<std::string, ZipRefusalReason> expected = {
      {"../evil.png", ZipRefusalReason::kUnsafeName},
      {"a/../../evil2.png", ZipRefusalReason::kUnsafeName},
      {"/abs.png", ZipRefusalReason::kUnsafeName},
      {"C:/drive.png", ZipRefusalReason::kUnsafeName},
      {"..\\back.png", ZipRefusalReason::kUnsafeName},
      {"link.png", ZipRefusalReason::kSymlink},
      {"fifo", ZipRefusalReason::kNotRegularFile}};
  EXPECT_EQ(ByName(*refused), expected);
  EXPECT_EQ((*refused)[0].name, "../evil.png");  // in archive order
  EXPECT_EQ(ZipRefusalReasonName((*refused)[0].reason), "unsafe_name");
}

TEST(ZipReaderTest, RefusesUnsafeNamesInCraftedBytes) {
  testing::TempDir tmp;
  std::string zip = BuildZip([](ZipWriter& w) {
    ASSERT_TRUE(w.AddFile("xx/evil.png", "evil").ok());
    ASSERT_TRUE(w.AddFile("xabs.png", "abs").ok());
    ASSERT_TRUE(w.AddFile("ok.png", "ok").ok());
    ASSERT_TRUE(w.AddFile("nulXname.png", "nul").ok());
  });
  RenameEntry(zip, "xx/evil.png", "../evil.png");
  RenameEntry(zip, "xabs.png", "/abs.png");
  RenameEntry(zip, "nulXname.png", std::string("nul\0name.png", 12));
  const fs::path archive = tmp.path() / "crafted.zip";
  testing::WriteFile(archive, zip);
  std::vector<Extracted> got;
  StatusOr<std::vector<ZipRefusal>> refused = ExtractAll(archive, ZipLimits{}, &got);
  ASSERT_TRUE(refused.ok()) << refused.status();
  const std::map<std::string, ZipRefusalReason> expected = {
      {"../evil.png", ZipRefusalReason::kUnsafeName}, {"/abs.png", ZipRefusalReason::kUnsafeName}};
  EXPECT_EQ(ByName(*refused), expected);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].info.name, "ok.png");
  // libzip 1.7.3 turns a NUL in a name into a space while reading the directory, so a
  // NUL can never truncate a name on its way to the caller.
  EXPECT_EQ(got[1].info.name, "nul name.png");
}

TEST(ZipReaderTest, RefusesEntryOverTheLimitFromItsHeader) {
  testing::TempDir tmp;
  const fs::path archive = tmp.path() / "bomb.zip";
  testing::WriteFile(archive, BuildZip([](ZipWriter& w) {
                       ASSERT_TRUE(w.AddFileFromSource("zeros.png", Zeros(200 << 20)).ok());
                       ASSERT_TRUE(w.AddFile("small.png", "small").ok());
                     }));
  EXPECT_LT(fs::file_size(archive), 1u << 20);
  ZipLimits limits;
  limits.max_entry_bytes = 10 << 20;
  std::vector<Extracted> got;
  StatusOr<std::vector<ZipRefusal>> refused = ExtractAll(archive, limits, &got);
  ASSERT_TRUE(refused.ok()) << refused.status();
  ASSERT_EQ(refused->size(), 1u);
  EXPECT_EQ((*refused)[0].name, "zeros.png");
  EXPECT_EQ((*refused)[0].reason, ZipRefusalReason::kEntryTooLarge);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, "small");
}

TEST(ZipReaderTest, RefusesBombWhoseHeaderLiesAboutItsSize) {
  testing::TempDir tmp;
  std::string zip = BuildZip([](ZipWriter& w) {
    ASSERT_TRUE(w.AddFileFromSource("bomb.png", Zeros(200 << 20)).ok());
    ASSERT_TRUE(w.AddFile("small.png", "small").ok());
  });
  // The central directory (what readers trust) now claims 1000 bytes.
  Put32(zip, FindHeader(zip, "bomb.png", true) + 24, 1000);
  const fs::path archive = tmp.path() / "lying.zip";
  testing::WriteFile(archive, zip);
  ZipLimits limits;
  limits.max_entry_bytes = 10 << 20;

  testing::TempDir scratch;
  StatusOr<ZipReader> reader = ZipReader::Open(archive, limits);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(reader->entries()[0].size, 1000u);
  std::vector<std::string> names;
  StatusOr<std::vector<ZipRefusal>> refused =
      reader->ForEachFile(scratch.path(), [&](const ZipEntryInfo& info, const fs::path&) {
        names.push_back(info.name);
        return absl::OkStatus();
      });
  ASSERT_TRUE(refused.ok()) << refused.status();
  ASSERT_EQ(refused->size(), 1u);
  EXPECT_EQ((*refused)[0].name, "bomb.png");
  EXPECT_EQ((*refused)[0].reason, ZipRefusalReason::kEntryTooLarge) << (*refused)[0].message;
  EXPECT_EQ(names, std::vector<std::string>{"small.png"});
  EXPECT_TRUE(fs::is_empty(scratch.path()));
}

TEST(ZipReaderTest, HeaderClaimingMoreThanTheDataIsCorrupt) {
  testing::TempDir tmp;
  std::string zip = BuildZip([](ZipWriter& w) {
    ASSERT_TRUE(w.AddFile("short.png", "only this", Method::kDeflate).ok());
  });
  Put32(zip, FindHeader(zip, "short.png", true) + 24, 5000);
  const fs::path archive = tmp.path() / "short.zip";
  testing::WriteFile(archive, zip);
  std::vector<Extracted> got;
  StatusOr<std::vector<ZipRefusal>> refused = ExtractAll(archive, ZipLimits{}, &got);
  ASSERT_TRUE(refused.ok()) << refused.status();
  ASSERT_EQ(refused->size(), 1u);
  EXPECT_EQ((*refused)[0].reason, ZipRefusalReason::kCorrupt);
  EXPECT_TRUE(got.empty());
}

TEST(ZipReaderTest, RefusesEntriesPastTheTotalLimit) {
  testing::TempDir tmp;
  const fs::path archive = tmp.path() / "total.zip";
  testing::WriteFile(archive, BuildZip([](ZipWriter& w) {
                       for (const char* name : {"a.png", "b.png", "c.png"}) {
                         ASSERT_TRUE(w.AddFileFromSource(name, Zeros(4 << 20)).ok());
                       }
                       ASSERT_TRUE(w.AddFile("d.png", "tiny").ok());
                     }));
  ZipLimits limits;
  limits.max_total_bytes = 10 << 20;
  std::vector<Extracted> got;
  StatusOr<std::vector<ZipRefusal>> refused = ExtractAll(archive, limits, &got);
  ASSERT_TRUE(refused.ok()) << refused.status();
  ASSERT_EQ(refused->size(), 1u);
  EXPECT_EQ((*refused)[0].name, "c.png");
  EXPECT_EQ((*refused)[0].reason, ZipRefusalReason::kTotalTooLarge);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].info.name, "d.png");
}

TEST(ZipReaderTest, TooManyEntriesIsResourceExhausted) {
  testing::TempDir tmp;
  const fs::path archive = tmp.path() / "many.zip";
  testing::WriteFile(archive, BuildZip([](ZipWriter& w) {
                       for (int i = 0; i < 5; ++i) {
                         ASSERT_TRUE(w.AddFile("f" + std::to_string(i), "x").ok());
                       }
                     }));
  ZipLimits limits;
  limits.max_entries = 4;
  EXPECT_EQ(ZipReader::Open(archive, limits).status().code(), absl::StatusCode::kResourceExhausted);
  limits.max_entries = 5;
  EXPECT_TRUE(ZipReader::Open(archive, limits).ok());
}

TEST(ZipReaderTest, RefusesEncryptedEntries) {
  testing::TempDir tmp;
  std::string zip = BuildZip([](ZipWriter& w) {
    ASSERT_TRUE(w.AddFile("secret.png", "not really encrypted", Method::kStored).ok());
    ASSERT_TRUE(w.AddFile("open.png", "open", Method::kStored).ok());
  });
  // General purpose bit 0: encrypted (traditional PKWARE).
  const size_t local = FindHeader(zip, "secret.png", false);
  const size_t central = FindHeader(zip, "secret.png", true);
  Put16(zip, local + 6, Get16(zip, local + 6) | 1);
  Put16(zip, central + 8, Get16(zip, central + 8) | 1);
  const fs::path archive = tmp.path() / "encrypted.zip";
  testing::WriteFile(archive, zip);
  std::vector<Extracted> got;
  StatusOr<std::vector<ZipRefusal>> refused = ExtractAll(archive, ZipLimits{}, &got);
  ASSERT_TRUE(refused.ok()) << refused.status();
  ASSERT_EQ(refused->size(), 1u);
  EXPECT_EQ((*refused)[0].reason, ZipRefusalReason::kEncrypted);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, "open");
}

TEST(ZipReaderTest, CorruptEntryDataIsRefusedPerEntry) {
  testing::TempDir tmp;
  const std::string payload(1000, 'p');
  std::string zip = BuildZip([&](ZipWriter& w) {
    ASSERT_TRUE(w.AddFile("stored.png", payload, Method::kStored).ok());
    ASSERT_TRUE(w.AddFile("deflated.png", RandomBytes(5000, 3), Method::kDeflate).ok());
    ASSERT_TRUE(w.AddFile("fine.png", "fine").ok());
  });
  zip[zip.find(payload) + 500] = 'q';  // CRC mismatch
  const size_t deflated = FindHeader(zip, "deflated.png", false) + 30 + 12;
  for (size_t i = 0; i < 64; ++i) zip[deflated + 100 + i] ^= 0x5A;  // bad data or CRC
  const fs::path archive = tmp.path() / "corrupt-data.zip";
  testing::WriteFile(archive, zip);
  std::vector<Extracted> got;
  StatusOr<std::vector<ZipRefusal>> refused = ExtractAll(archive, ZipLimits{}, &got);
  ASSERT_TRUE(refused.ok()) << refused.status();
  const std::map<std::string, ZipRefusalReason> expected = {
      {"stored.png", ZipRefusalReason::kCorrupt}, {"deflated.png", ZipRefusalReason::kCorrupt}};
  EXPECT_EQ(ByName(*refused), expected);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, "fine");
}

TEST(ZipReaderTest, NonZipFilesAreInvalidArgument) {
  testing::TempDir tmp;
  const std::string good =
      BuildZip([](ZipWriter& w) { ASSERT_TRUE(w.AddFile("a.png", "a").ok()); });
  const std::map<std::string, std::string> cases = {
      {"empty.zip", ""},
      {"text.zip", "this is not a zip archive at all, just some text\n"},
      {"random.zip", RandomBytes(4096, 9)},
      {"truncated.zip", good.substr(0, good.size() - 10)},
      {"png.zip", std::string("\x89PNG\r\n\x1a\n", 8) + RandomBytes(100, 1)},
  };
  for (const auto& [name, bytes] : cases) {
    testing::WriteFile(tmp.path() / name, bytes);
    EXPECT_EQ(ZipReader::Open(tmp.path() / name, ZipLimits{}).status().code(),
              absl::StatusCode::kInvalidArgument)
        << name;
  }
  EXPECT_EQ(ZipReader::Open(tmp.path() / "missing.zip", ZipLimits{}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ZipReader::Open(tmp.path(), ZipLimits{}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ZipReaderTest, CallbackErrorStopsAndTempFilesAreRemoved) {
  testing::TempDir tmp;
  const fs::path archive = tmp.path() / "a.zip";
  testing::WriteFile(archive, BuildZip([](ZipWriter& w) {
                       ASSERT_TRUE(w.AddFile("a.png", "a").ok());
                       ASSERT_TRUE(w.AddFile("b.png", "b").ok());
                     }));
  testing::TempDir scratch;
  StatusOr<ZipReader> reader = ZipReader::Open(archive, ZipLimits{});
  ASSERT_TRUE(reader.ok());
  int calls = 0;
  StatusOr<std::vector<ZipRefusal>> refused =
      reader->ForEachFile(scratch.path(), [&](const ZipEntryInfo&, const fs::path&) {
        ++calls;
        return absl::InvalidArgumentError("a.png is not an image");
      });
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(fs::is_empty(scratch.path()));
}

TEST(ZipReaderTest, CallbackKeepsAFileByMovingIt) {
  testing::TempDir tmp;
  const fs::path archive = tmp.path() / "a.zip";
  testing::WriteFile(archive,
                     BuildZip([](ZipWriter& w) { ASSERT_TRUE(w.AddFile("a.png", "kept").ok()); }));
  testing::TempDir scratch;
  StatusOr<ZipReader> reader = ZipReader::Open(archive, ZipLimits{});
  ASSERT_TRUE(reader.ok());
  const fs::path kept = tmp.path() / "kept.png";
  ASSERT_TRUE(reader
                  ->ForEachFile(scratch.path(),
                                [&](const ZipEntryInfo&, const fs::path& file) {
                                  fs::rename(file, kept);
                                  return absl::OkStatus();
                                })
                  .ok());
  EXPECT_EQ(testing::ReadFile(kept), "kept");
  EXPECT_TRUE(fs::is_empty(scratch.path()));
}

// Issue 22 item 4: a ZIP bomb was decompressed whole to disk before anything looked
// at it. A PrefixCheck sees the first bytes and refuses the entry there.
TEST(ZipReaderTest, PrefixCheckRefusesAnEntryFromItsFirstBytes) {
  testing::TempDir tmp;
  const fs::path archive = tmp.path() / "bomb.zip";
  const std::string small(100, 's');
  std::string big(200000, 'b');
  big.replace(0, 4, "GOOD");
  testing::WriteFile(
      archive, BuildZip([&](ZipWriter& w) {
        ASSERT_TRUE(w.AddFileFromSource("bomb.bin", Zeros(uint64_t{512} << 20)).ok());
        ASSERT_TRUE(w.AddFile("small.txt", small).ok());
        ASSERT_TRUE(w.AddFile("good.bin", big).ok());
      }));
  StatusOr<ZipReader> reader = ZipReader::Open(archive, ZipLimits{.max_entry_bytes = 1ull << 30});
  ASSERT_TRUE(reader.ok()) << reader.status();
  testing::TempDir scratch;
  std::map<std::string, size_t> seen;  // name -> bytes the check saw
  std::map<std::string, std::string> extracted;
  StatusOr<std::vector<ZipRefusal>> refused = reader->ForEachFile(
      scratch.path(),
      [&](const ZipEntryInfo& info, const fs::path& file) {
        extracted[info.name] = testing::ReadFile(file);
        return absl::OkStatus();
      },
      [&](const ZipEntryInfo& info, std::string_view head) -> Status {
        seen[info.name] = head.size();
        if (head.starts_with("GOOD") || info.name == "small.txt") return absl::OkStatus();
        return absl::InvalidArgumentError("not what we want");
      });
  ASSERT_TRUE(refused.ok()) << refused.status();
  ASSERT_EQ(refused->size(), 1u);
  EXPECT_EQ((*refused)[0].name, "bomb.bin");
  EXPECT_EQ((*refused)[0].reason, ZipRefusalReason::kRejectedContent);
  EXPECT_EQ((*refused)[0].message, "not what we want");
  EXPECT_EQ(seen["bomb.bin"], kPrefixCheckBytes);
  EXPECT_EQ(seen["small.txt"], small.size());  // the whole entry when shorter
  EXPECT_EQ(extracted.count("bomb.bin"), 0u);
  EXPECT_EQ(extracted["small.txt"], small);
  EXPECT_EQ(extracted["good.bin"], big);  // the held-back head is written first
  EXPECT_TRUE(fs::is_empty(scratch.path()));
}

TEST(ZipReaderTest, MissingTempDirIsInternal) {
  testing::TempDir tmp;
  const fs::path archive = tmp.path() / "a.zip";
  testing::WriteFile(archive,
                     BuildZip([](ZipWriter& w) { ASSERT_TRUE(w.AddFile("a.png", "a").ok()); }));
  StatusOr<ZipReader> reader = ZipReader::Open(archive, ZipLimits{});
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader
                ->ForEachFile(tmp.path() / "no-such-dir",
                              [](const ZipEntryInfo&, const fs::path&) { return absl::OkStatus(); })
                .status()
                .code(),
            absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace infera
