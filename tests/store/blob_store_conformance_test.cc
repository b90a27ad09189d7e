// The BlobStore conformance suite (see blob_store_conformance.h), instantiated here for
// the filesystem store.
#include "store/blob_store_conformance.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <map>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "api/blob_download.h"
#include "archive/zip_writer.h"
#include "common/sha256.h"
#include "store/blob_store.h"

namespace infera::store_testing {
namespace {

using absl::StatusCode;
namespace fs = std::filesystem;

constexpr char kAbcSha[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kEmptySha[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::span<const std::byte> Bytes(const std::string& s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

// Deterministic, not compressible, not periodic at chunk sizes.
std::string Pattern(size_t size) {
  std::string s(size, '\0');
  uint32_t x = 12345;
  for (auto& c : s) {
    x = x * 1103515245 + 12345;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

TEST_P(BlobStoreConformanceTest, PutStoresContentUnderItsSha) {
  ASSERT_OK_AND_ASSIGN(BlobInfo info, blobs_->Put(Bytes("abc")));
  EXPECT_EQ(info.sha256, kAbcSha);
  EXPECT_EQ(info.size, 3);
  ASSERT_OK_AND_ASSIGN(std::string content, blobs_->Get(kAbcSha));
  EXPECT_EQ(content, "abc");
  ASSERT_OK_AND_ASSIGN(int64_t size, blobs_->Size(kAbcSha));
  EXPECT_EQ(size, 3);
}

// ForEach lists every stored blob with its size, once, and stops at the first error.
TEST_P(BlobStoreConformanceTest, ForEachListsEveryBlobOnce) {
  ASSERT_OK(blobs_->Put(Bytes("abc")).status());
  ASSERT_OK_AND_ASSIGN(BlobInfo other, blobs_->Put(Bytes("hello, blobs")));
  ASSERT_OK(blobs_->Put(Bytes("abc")).status());
  std::map<std::string, int64_t> seen;
  ASSERT_OK(blobs_->ForEach([&](const BlobInfo& blob) -> Status {
    EXPECT_TRUE(seen.emplace(blob.sha256, blob.size).second) << blob.sha256;
    return absl::OkStatus();
  }));
  EXPECT_EQ(seen, (std::map<std::string, int64_t>{{kAbcSha, 3}, {other.sha256, 12}}));
  int calls = 0;
  const Status stopped = blobs_->ForEach([&](const BlobInfo&) -> Status {
    ++calls;
    return absl::AbortedError("enough");
  });
  EXPECT_EQ(stopped.code(), StatusCode::kAborted);
  EXPECT_EQ(calls, 1);
}

TEST_P(BlobStoreConformanceTest, EmptyBlob) {
  ASSERT_OK_AND_ASSIGN(BlobInfo info, blobs_->Put({}));
  EXPECT_EQ(info.sha256, kEmptySha);
  EXPECT_EQ(info.size, 0);
  ASSERT_OK_AND_ASSIGN(std::string content, blobs_->Get(kEmptySha));
  EXPECT_EQ(content, "");
  ASSERT_OK_AND_ASSIGN(int64_t size, blobs_->Size(kEmptySha));
  EXPECT_EQ(size, 0);
}

TEST_P(BlobStoreConformanceTest, SameContentHasOneName) {
  ASSERT_OK_AND_ASSIGN(BlobInfo first, blobs_->Put(Bytes("abc")));
  ASSERT_OK_AND_ASSIGN(BlobInfo second, blobs_->Put(Bytes("abc")));
  const fs::path file = dir_.path() / "abc.txt";
  std::ofstream(file) << "abc";
  ASSERT_OK_AND_ASSIGN(BlobInfo third, blobs_->PutFile(file));
  EXPECT_EQ(first.sha256, second.sha256);
  EXPECT_EQ(first.sha256, third.sha256);
  ASSERT_OK(blobs_->Remove(kAbcSha));  // one removal removes it
  EXPECT_EQ(StatusOf(blobs_->Get(kAbcSha)).code(), StatusCode::kNotFound);
}

TEST_P(BlobStoreConformanceTest, PutFileStreamsALargeFileAndLeavesItInPlace) {
  const std::string content = Pattern((3 << 20) + 17);  // several chunks and a bit
  const fs::path file = dir_.path() / "big.bin";
  std::ofstream(file, std::ios::binary) << content;
  ASSERT_OK_AND_ASSIGN(BlobInfo info, blobs_->PutFile(file));
  EXPECT_EQ(info.sha256, Sha256Hex(Bytes(content)));
  EXPECT_EQ(info.size, static_cast<int64_t>(content.size()));
  EXPECT_TRUE(fs::exists(file));
  ASSERT_OK_AND_ASSIGN(std::string got, blobs_->Get(info.sha256));
  EXPECT_TRUE(got == content);
  ASSERT_OK_AND_ASSIGN(int64_t size, blobs_->Size(info.sha256));
  EXPECT_EQ(size, static_cast<int64_t>(content.size()));
}

TEST_P(BlobStoreConformanceTest, PutFileOfAMissingFileOrAFolderFails) {
  EXPECT_EQ(StatusOf(blobs_->PutFile(dir_.path() / "missing")).code(), StatusCode::kNotFound);
  EXPECT_EQ(StatusOf(blobs_->PutFile(dir_.path())).code(), StatusCode::kInvalidArgument);
}

TEST_P(BlobStoreConformanceTest, ReadStreamsChunksAndStopsAtTheSinksError) {
  const std::string content = Pattern((2 << 20) + 5);
  ASSERT_OK_AND_ASSIGN(BlobInfo info, blobs_->Put(Bytes(content)));
  std::string streamed;
  int chunks = 0;
  ASSERT_OK(blobs_->Read(info.sha256, [&](std::string_view chunk) {
    streamed.append(chunk);
    ++chunks;
    return absl::OkStatus();
  }));
  EXPECT_TRUE(streamed == content);
  EXPECT_GT(chunks, 1);

  chunks = 0;
  Status stopped = blobs_->Read(info.sha256, [&](std::string_view) {
    ++chunks;
    return absl::CancelledError("client went away");
  });
  EXPECT_EQ(stopped.code(), StatusCode::kCancelled);
  EXPECT_EQ(chunks, 1);
}

// Open: the reader pulls the blob piece by piece, in whatever pieces the consumer asks
// for (here smaller than a chunk and across chunk boundaries), then says 0 at the end.
TEST_P(BlobStoreConformanceTest, OpenReadsTheBlobPieceByPiece) {
  const std::string content = Pattern((2 << 20) + 333);
  ASSERT_OK_AND_ASSIGN(BlobInfo info, blobs_->Put(Bytes(content)));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobReader> reader, blobs_->Open(info.sha256));
  EXPECT_EQ(reader->size(), static_cast<int64_t>(content.size()));
  std::string got;
  std::string buf(100'003, '\0');
  int reads = 0;
  for (; reads < 1000; ++reads) {
    ASSERT_OK_AND_ASSIGN(size_t n, reader->Read(std::span<char>(buf.data(), buf.size())));
    if (n == 0) break;
    EXPECT_LE(n, buf.size());
    got.append(buf.data(), n);
  }
  EXPECT_TRUE(got == content) << got.size() << " bytes of " << content.size();
  EXPECT_GT(reads, 20);
  ASSERT_OK_AND_ASSIGN(size_t after_end, reader->Read(std::span<char>(buf.data(), buf.size())));
  EXPECT_EQ(after_end, 0u);

  ASSERT_OK_AND_ASSIGN(BlobInfo empty, blobs_->Put({}));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobReader> none, blobs_->Open(empty.sha256));
  EXPECT_EQ(none->size(), 0);
  ASSERT_OK_AND_ASSIGN(size_t n, none->Read(std::span<char>(buf.data(), buf.size())));
  EXPECT_EQ(n, 0u);
}

// A blob removed while a reader is on it: the reader gives the whole content (a file
// stays readable once open) or stops with Unavailable (PostgreSQL's chunks are gone) —
// never other bytes.
TEST_P(BlobStoreConformanceTest, ABlobRemovedWhileReadIsReadWholeOrUnavailable) {
  const std::string content = Pattern((3 << 20) + 1);
  ASSERT_OK_AND_ASSIGN(BlobInfo info, blobs_->Put(Bytes(content)));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobReader> reader, blobs_->Open(info.sha256));
  std::string buf(1 << 16, '\0');
  std::string got;
  ASSERT_OK_AND_ASSIGN(size_t first, reader->Read(std::span<char>(buf.data(), buf.size())));
  got.append(buf.data(), first);
  ASSERT_OK(blobs_->Remove(info.sha256));
  ASSERT_OK(blobs_->Put(Bytes(content)).status());  // stored again: a new copy
  Status ended;
  for (int i = 0; i < 1000; ++i) {
    StatusOr<size_t> n = reader->Read(std::span<char>(buf.data(), buf.size()));
    if (!n.ok()) {
      ended = n.status();
      break;
    }
    if (*n == 0) break;
    got.append(buf.data(), *n);
  }
  if (ended.ok()) {
    EXPECT_TRUE(got == content);
  } else {
    EXPECT_EQ(ended.code(), StatusCode::kUnavailable) << ended;
    EXPECT_TRUE(content.starts_with(got));
    // The error stays.
    EXPECT_EQ(StatusOf(reader->Read(std::span<char>(buf.data(), buf.size()))).code(),
              StatusCode::kUnavailable);
  }
}

// The peak resident memory of this process (VmHWM) since ResetPeakMemory, in bytes.
int64_t PeakMemoryBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::stoll(line.substr(6)) * 1024;  // "  123 kB"
  }
  ADD_FAILURE() << "no VmHWM in /proc/self/status";
  return 0;
}

// Sets the peak (VmHWM) to the current resident size (Linux: "5" to clear_refs).
void ResetPeakMemory() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  ASSERT_TRUE(clear.good()) << "cannot reset VmHWM through /proc/self/clear_refs";
}

// A 64 MiB blob goes out through a ZIP download (api/blob_download.h, what the job
// download and the label-image export call) and through a pulled read, while this
// process's peak resident memory grows by a few MiB at most: the blob is never whole in
// memory. Holding it (Get) grows the peak by its size, which the last check confirms
// (so the measure can see what it is meant to catch).
TEST_P(BlobStoreConformanceTest, A64MiBBlobStreamsThroughAZipDownloadInBoundedMemory) {
  constexpr int64_t kBlobBytes = int64_t{64} << 20;
  constexpr int64_t kAllowedGrowth = int64_t{8} << 20;
  const fs::path file = dir_.path() / "big.bin";
  {
    const std::string piece = Pattern((1 << 20) + 7);
    std::ofstream out(file, std::ios::binary);
    for (int64_t left = kBlobBytes; left > 0; left -= static_cast<int64_t>(piece.size())) {
      out.write(piece.data(), std::min<int64_t>(left, static_cast<int64_t>(piece.size())));
    }
    ASSERT_TRUE(out.good());
  }
  ASSERT_OK_AND_ASSIGN(BlobInfo info, blobs_->PutFile(file));
  ASSERT_EQ(info.size, kBlobBytes);
  fs::remove(file);

  // Through the ZIP writer, into a sink that only counts (a client that reads).
  ASSERT_NO_FATAL_FAILURE(ResetPeakMemory());
  const int64_t before_zip = PeakMemoryBytes();
  uint64_t zipped = 0;
  {
    ZipWriter zip([&zipped](std::string_view bytes) {
      zipped += bytes.size();
      return absl::OkStatus();
    });
    ASSERT_OK(AddBlobToZip(zip, *blobs_, "images/big.bin", info.sha256));
    ASSERT_OK(zip.Finish());
  }
  const int64_t zip_growth = PeakMemoryBytes() - before_zip;
  EXPECT_GT(zipped, static_cast<uint64_t>(kBlobBytes));
  EXPECT_LT(zip_growth, kAllowedGrowth) << "the ZIP download held " << zip_growth << " bytes";

  // Pulled and hashed: the bytes are the blob's.
  ASSERT_NO_FATAL_FAILURE(ResetPeakMemory());
  const int64_t before_read = PeakMemoryBytes();
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobReader> reader, blobs_->Open(info.sha256));
    Sha256Hasher hasher;
    std::string buf(1 << 16, '\0');
    int64_t total = 0;
    while (true) {
      ASSERT_OK_AND_ASSIGN(size_t n, reader->Read(std::span<char>(buf.data(), buf.size())));
      if (n == 0) break;
      hasher.Update(std::string_view(buf.data(), n));
      total += static_cast<int64_t>(n);
    }
    EXPECT_EQ(total, kBlobBytes);
    EXPECT_EQ(hasher.FinishHex(), info.sha256);
  }
  const int64_t read_growth = PeakMemoryBytes() - before_read;
  EXPECT_LT(read_growth, kAllowedGrowth) << "the read held " << read_growth << " bytes";

  // The measure sees a blob held whole.
  ASSERT_NO_FATAL_FAILURE(ResetPeakMemory());
  const int64_t before_get = PeakMemoryBytes();
  {
    ASSERT_OK_AND_ASSIGN(std::string whole, blobs_->Get(info.sha256));
    EXPECT_EQ(static_cast<int64_t>(whole.size()), kBlobBytes);
  }
  EXPECT_GT(PeakMemoryBytes() - before_get, kBlobBytes - kAllowedGrowth);
  ASSERT_OK(blobs_->Remove(info.sha256));
}

TEST_P(BlobStoreConformanceTest, MissingBlobsAreNotFoundAndRemoveIsIdempotent) {
  EXPECT_EQ(StatusOf(blobs_->Get(kAbcSha)).code(), StatusCode::kNotFound);
  EXPECT_EQ(StatusOf(blobs_->Size(kAbcSha)).code(), StatusCode::kNotFound);
  EXPECT_EQ(StatusOf(blobs_->LocalPath(kAbcSha)).code(), StatusCode::kNotFound);
  EXPECT_EQ(StatusOf(blobs_->Open(kAbcSha)).code(), StatusCode::kNotFound);
  EXPECT_EQ(blobs_->Read(kAbcSha, [](std::string_view) { return absl::OkStatus(); }).code(),
            StatusCode::kNotFound);
  ASSERT_OK(blobs_->Remove(kAbcSha));

  ASSERT_OK(blobs_->Put(Bytes("abc")).status());
  ASSERT_OK(blobs_->Remove(kAbcSha));
  EXPECT_EQ(StatusOf(blobs_->Get(kAbcSha)).code(), StatusCode::kNotFound);
  EXPECT_EQ(StatusOf(blobs_->Size(kAbcSha)).code(), StatusCode::kNotFound);
  ASSERT_OK(blobs_->Remove(kAbcSha));
}

TEST_P(BlobStoreConformanceTest, MalformedNamesAreRejected) {
  // A file outside the store that a path trick would reach.
  std::ofstream(dir_.path() / "secret") << "secret";
  for (const std::string& bad : std::vector<std::string>{
           "../secret", "../../etc/passwd", "ba/78/../../../secret", std::string(64, 'A'),
           std::string(63, 'a') + "/", std::string(kAbcSha).substr(0, 63), std::string()}) {
    EXPECT_EQ(StatusOf(blobs_->Get(bad)).code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(StatusOf(blobs_->Size(bad)).code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(StatusOf(blobs_->LocalPath(bad)).code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(StatusOf(blobs_->Open(bad)).code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(blobs_->Remove(bad).code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(blobs_->Read(bad, [](std::string_view) { return absl::OkStatus(); }).code(),
              StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_TRUE(fs::exists(dir_.path() / "secret"));
}

TEST_P(BlobStoreConformanceTest, ConcurrentPutsOfTheSameContentAgree) {
  const std::string content = Pattern(300'000);
  std::vector<std::string> shas(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < shas.size(); ++i) {
    threads.emplace_back([&, i] {
      auto info = blobs_->Put(Bytes(content));
      EXPECT_TRUE(info.ok()) << info.status();
      if (info.ok()) shas[i] = info->sha256;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& sha : shas) EXPECT_EQ(sha, Sha256Hex(Bytes(content)));
  ASSERT_OK_AND_ASSIGN(std::string got, blobs_->Get(shas[0]));
  EXPECT_TRUE(got == content);
}

TEST_P(BlobStoreConformanceTest, ReopeningFindsStoredBlobs) {
  ASSERT_OK(blobs_->Put(Bytes("abc")).status());
  blobs_.reset();
  ASSERT_OK_AND_ASSIGN(auto reopened, GetParam().open(dir_.path()));
  ASSERT_OK_AND_ASSIGN(std::string content, reopened->Get(kAbcSha));
  EXPECT_EQ(content, "abc");
}

INSTANTIATE_TEST_SUITE_P(Fs, BlobStoreConformanceTest,
                         ::testing::Values(BlobStoreFactory{
                             "Fs",
                             [](const fs::path& dir) { return OpenFsBlobStore(dir / "blobs"); }}),
                         BlobStoreFactoryName);

}  // namespace
}  // namespace infera::store_testing
