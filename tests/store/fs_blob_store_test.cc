// What is particular to the filesystem blob store: its two-level layout, one file per
// content, temp files never left behind. The BlobStore behaviour itself is tested by the
// conformance suite (blob_store_conformance_test.cc).
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <map>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/sha256.h"
#include "store/blob_store.h"
#include "store/store_conformance.h"

namespace infera::store_testing {
namespace {

using absl::StatusCode;
namespace fs = std::filesystem;

constexpr char kAbcSha[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

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

size_t FilesUnder(const fs::path& dir) {
  size_t n = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) n += entry.is_regular_file();
  return n;
}

class FsBlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK_AND_ASSIGN(blobs_, OpenFsBlobStore(root())); }
  fs::path root() const { return dir_.path() / "blobs"; }

  ScratchDir dir_;
  std::unique_ptr<BlobStore> blobs_;
};

TEST_F(FsBlobStoreTest, PutStoresContentUnderItsShaInTwoLevels) {
  ASSERT_OK_AND_ASSIGN(BlobInfo info, blobs_->Put(Bytes("abc")));
  EXPECT_EQ(info.sha256, kAbcSha);
  EXPECT_EQ(info.size, 3);
  const fs::path expected = root() / "ba" / "78" / kAbcSha;
  EXPECT_TRUE(fs::is_regular_file(expected));
  ASSERT_OK_AND_ASSIGN(fs::path local, blobs_->LocalPath(kAbcSha));
  EXPECT_EQ(local, expected);
  ASSERT_OK_AND_ASSIGN(std::string content, blobs_->Get(kAbcSha));
  EXPECT_EQ(content, "abc");
  ASSERT_OK_AND_ASSIGN(int64_t size, blobs_->Size(kAbcSha));
  EXPECT_EQ(size, 3);
  EXPECT_TRUE(fs::is_empty(root() / "tmp"));
}

TEST_F(FsBlobStoreTest, SameContentIsStoredOnce) {
  ASSERT_OK_AND_ASSIGN(BlobInfo first, blobs_->Put(Bytes("abc")));
  ASSERT_OK_AND_ASSIGN(BlobInfo second, blobs_->Put(Bytes("abc")));
  const fs::path file = dir_.path() / "abc.txt";
  std::ofstream(file) << "abc";
  ASSERT_OK_AND_ASSIGN(BlobInfo third, blobs_->PutFile(file));
  EXPECT_EQ(first.sha256, second.sha256);
  EXPECT_EQ(first.sha256, third.sha256);
  EXPECT_EQ(FilesUnder(root()), 1u);  // no temp file left behind either
}

TEST_F(FsBlobStoreTest, PutFileStreamsALargeFileAndLeavesItInPlace) {
  const std::string content = Pattern((3 << 20) + 17);  // several chunks and a bit
  const fs::path file = dir_.path() / "big.bin";
  std::ofstream(file, std::ios::binary) << content;
  ASSERT_OK_AND_ASSIGN(BlobInfo info, blobs_->PutFile(file));
  EXPECT_EQ(info.sha256, Sha256Hex(Bytes(content)));
  EXPECT_EQ(info.size, static_cast<int64_t>(content.size()));
  EXPECT_TRUE(fs::exists(file));
  ASSERT_OK_AND_ASSIGN(std::string got, blobs_->Get(info.sha256));
  EXPECT_TRUE(got == content);
  EXPECT_TRUE(fs::is_empty(root() / "tmp"));
}

TEST_F(FsBlobStoreTest, ConcurrentPutsOfTheSameContentAgree) {
  const std::string content = Pattern(300'000);
  std::vector<std::string> shas(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < shas.size(); ++i) {
    threads.emplace_back([&, i] {
      auto info = blobs_->Put(Bytes(content));
      if (info.ok()) shas[i] = info->sha256;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& sha : shas) EXPECT_EQ(sha, Sha256Hex(Bytes(content)));
  ASSERT_OK_AND_ASSIGN(std::string got, blobs_->Get(shas[0]));
  EXPECT_TRUE(got == content);
  EXPECT_EQ(FilesUnder(root()), 1u);
}

TEST_F(FsBlobStoreTest, ReopeningFindsStoredBlobs) {
  ASSERT_OK(blobs_->Put(Bytes("abc")).status());
  blobs_.reset();
  ASSERT_OK_AND_ASSIGN(auto reopened, OpenFsBlobStore(root()));
  ASSERT_OK_AND_ASSIGN(std::string content, reopened->Get(kAbcSha));
  EXPECT_EQ(content, "abc");
}

TEST_F(FsBlobStoreTest, OpeningAloneRemovesEveryTempBlobOfACrashedWriter) {
  const fs::path old_one = root() / "tmp" / "blob-Crash1";
  const fs::path fresh = root() / "tmp" / "blob-Kill09";  // killed a moment ago
  const fs::path other = root() / "tmp" / "notes.txt";
  std::ofstream(old_one) << "partial";
  std::ofstream(fresh) << "partial";
  std::ofstream(other) << "not a temp blob";
  fs::last_write_time(old_one, fs::file_time_type::clock::now() - std::chrono::hours(2));
  blobs_.reset();
  ASSERT_OK_AND_ASSIGN(blobs_, OpenFsBlobStore(root()));
  EXPECT_FALSE(fs::exists(old_one));
  EXPECT_FALSE(fs::exists(fresh));
  EXPECT_TRUE(fs::exists(other));
}

TEST_F(FsBlobStoreTest, WhileAnotherOpenerHoldsTheFolderOnlyStaleTempFilesGo) {
  const fs::path stale = root() / "tmp" / "blob-Crash2";
  const fs::path fresh = root() / "tmp" / "blob-Write2";
  std::ofstream(stale) << "partial";
  std::ofstream(fresh) << "partial";
  fs::last_write_time(stale, fs::file_time_type::clock::now() - std::chrono::hours(2));
  // blobs_ stays open: a second opener (another process) finds the folder in use.
  ASSERT_OK_AND_ASSIGN(auto second, OpenFsBlobStore(root()));
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(fresh));  // may belong to the live writer
}

TEST_F(FsBlobStoreTest, ForEachListsEveryBlobAndNothingElse) {
  const std::string big = Pattern(3000);
  ASSERT_OK_AND_ASSIGN(BlobInfo a, blobs_->Put(Bytes("abc")));
  ASSERT_OK_AND_ASSIGN(BlobInfo b, blobs_->Put(Bytes(big)));
  std::ofstream(root() / "tmp" / "blob-Part01") << "a temp file is no blob";
  std::ofstream(root() / "ba" / "78" / "not-a-sha") << "stray";
  std::map<std::string, int64_t> seen;
  ASSERT_OK(blobs_->ForEach([&](const BlobInfo& blob) {
    seen[blob.sha256] = blob.size;
    return Status();
  }));
  EXPECT_EQ(seen, (std::map<std::string, int64_t>{{a.sha256, 3}, {b.sha256, 3000}}));
  // The callback's error stops the walk and is returned.
  int calls = 0;
  const Status stopped = blobs_->ForEach([&](const BlobInfo&) {
    ++calls;
    return absl::AbortedError("stop");
  });
  EXPECT_EQ(stopped.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace infera::store_testing
