// Blob lifetime on the real stores (SQLite + files): uploads of identical bytes racing
// dataset deletes never lose a blob a record references, and after the last sweep no
// blob is left that nothing references.
#include "store/blob_lifetime.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>
#include <vector>

#include "store/sqlite_store.h"
#include "support/test_env.h"

namespace infera {
namespace {

namespace fs = std::filesystem;

// The blob files under the store's root (not its temp folder).
std::set<std::string> BlobsOnDisk(const fs::path& root) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file() && e.path().parent_path().filename() != "tmp") {
      out.insert(e.path().filename().string());
    }
  }
  return out;
}

std::vector<std::byte> Bytes(int which) {
  std::vector<std::byte> b(257);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::byte>((i * 7 + which) & 0xff);
  return b;
}

// A SQLite store and a blob store in a fresh folder.
class BlobLifetimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(dir_.path() / "infera.db");
    StatusOr<std::unique_ptr<BlobStore>> blobs = OpenFsBlobStore(dir_.path() / "blobs");
    ASSERT_TRUE(store.ok() && blobs.ok());
    store_ = std::move(*store);
    blobs_ = std::move(*blobs);
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<BlobStore> blobs_;
};

TEST_F(BlobLifetimeTest, PutPinnedWritesAgainWhatASweepRemovedBeforeThePin) {
  // An old copy of the bytes, registered and unreferenced: a sweep may take it.
  StatusOr<PinnedBlob> old = PutPinned(*store_, *blobs_, Bytes(1));
  ASSERT_TRUE(old.ok()) << old.status();
  old->pin.Release();
  ASSERT_TRUE(SweepUnusedBlobs(*store_, *blobs_).ok());
  EXPECT_EQ(blobs_->Size(old->info.sha256).status().code(), absl::StatusCode::kNotFound);
  // Written and pinned again: a sweep now leaves it, and it is there.
  StatusOr<PinnedBlob> again = PutPinned(*store_, *blobs_, Bytes(1));
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_TRUE(SweepUnusedBlobs(*store_, *blobs_).ok());
  EXPECT_TRUE(blobs_->Size(again->info.sha256).ok());
}

// The race, step by step: upload A has written its bytes and not yet committed its
// record while upload B of the same bytes commits, its dataset is deleted and the
// dropped blobs are swept. A's pin must keep the bytes.
TEST_F(BlobLifetimeTest, ASweepBetweenAnUploadsWriteAndItsRecordKeepsTheBytes) {
  Store& store = *store_;
  BlobStore& blobs = *blobs_;
  auto new_dataset = [&](const std::string& name) {
    DatasetRecord d;
    d.name = name;
    StatusOr<DatasetRecord> ds = store.CreateDataset(d);
    EXPECT_TRUE(ds.ok());
    return ds.ok() ? ds->id : 0;
  };
  auto add_file = [&](int64_t dataset, const BlobInfo& blob) {
    FileRecord f;
    f.dataset_id = dataset;
    f.role = "source";
    f.filename = "a.png";
    f.sha256 = blob.sha256;
    f.size = blob.size;
    EXPECT_TRUE(store.AddFile(f).ok());
  };
  for (int round = 0; round < 5; ++round) {
    const int64_t a = new_dataset("a");
    StatusOr<PinnedBlob> a_blob = PutPinned(store, blobs, Bytes(round));  // A: written
    ASSERT_TRUE(a_blob.ok());
    // B: the same bytes, recorded, then its dataset deleted and swept.
    const int64_t b = new_dataset("b");
    StatusOr<PinnedBlob> b_blob = PutPinned(store, blobs, Bytes(round));
    ASSERT_TRUE(b_blob.ok());
    add_file(b, b_blob->info);
    b_blob->pin.Release();
    StatusOr<std::vector<std::string>> dropped = store.DeleteDataset(b);
    ASSERT_TRUE(dropped.ok());
    EXPECT_EQ(*dropped, std::vector<std::string>{b_blob->info.sha256});
    ASSERT_TRUE(SweepUnusedBlobs(store, blobs, *dropped).ok());
    // A: its record, then its pin released. The bytes are there.
    add_file(a, a_blob->info);
    a_blob->pin.Release();
    EXPECT_TRUE(blobs.Size(a_blob->info.sha256).ok()) << "round " << round;
  }
}

TEST_F(BlobLifetimeTest, UploadsOfIdenticalBytesRacingDatasetDeletesNeverLoseAReferencedBlob) {
  Store& store = *store_;
  BlobStore& blobs = *blobs_;

  // Uploaders add the same few contents to fresh datasets; a deleter deletes datasets
  // and sweeps what they dropped, as DELETE /api/datasets/{id} does. Bounded in rounds
  // and time.
  constexpr int kUploaders = 3;
  constexpr int kRounds = 60;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::atomic<int> uploaders_done{0};
  std::atomic<int> errors{0};
  std::mutex mu;
  std::vector<int64_t> to_delete;
  std::vector<std::thread> threads;
  for (int u = 0; u < kUploaders; ++u) {
    threads.emplace_back([&, u] {
      for (int r = 0; r < kRounds && std::chrono::steady_clock::now() < deadline; ++r) {
        DatasetRecord d;
        d.name = "u" + std::to_string(u) + "-" + std::to_string(r);
        StatusOr<DatasetRecord> ds = store.CreateDataset(d);
        if (!ds.ok()) {
          ++errors;
          continue;
        }
        StatusOr<PinnedBlob> blob = PutPinned(store, blobs, Bytes(r % 3));
        if (!blob.ok()) {
          ++errors;
          continue;
        }
        FileRecord f;
        f.dataset_id = ds->id;
        f.role = "source";
        f.filename = "a.png";
        f.sha256 = blob->info.sha256;
        f.size = blob->info.size;
        if (!store.AddFile(f).ok()) ++errors;
        blob->pin.Release();
        std::lock_guard lock(mu);
        to_delete.push_back(ds->id);
      }
      ++uploaders_done;
    });
  }
  // Deletes every other dataset as soon as it appears; keeps the rest.
  int64_t kept = 0;
  threads.emplace_back([&] {
    int seen = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      std::vector<int64_t> batch;
      {
        std::lock_guard lock(mu);
        batch.swap(to_delete);
      }
      for (int64_t id : batch) {
        if (seen++ % 2 == 1) {
          ++kept;
          continue;
        }
        StatusOr<std::vector<std::string>> dropped = store.DeleteDataset(id);
        if (!dropped.ok() || !SweepUnusedBlobs(store, blobs, *dropped).ok()) ++errors;
      }
      if (batch.empty() && uploaders_done.load() == kUploaders) break;
      if (batch.empty()) std::this_thread::yield();
    }
  });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(kept, 0);

  // Every file a record names is on disk...
  StatusOr<std::vector<DatasetRecord>> datasets = store.ListDatasets(std::nullopt);
  ASSERT_TRUE(datasets.ok());
  std::set<std::string> referenced;
  for (const DatasetRecord& d : *datasets) {
    StatusOr<std::vector<FileRecord>> files = store.ListDatasetFiles(d.id);
    ASSERT_TRUE(files.ok());
    for (const FileRecord& f : *files) {
      referenced.insert(f.sha256);
      EXPECT_TRUE(blobs.Size(f.sha256).ok()) << "lost blob " << f.sha256 << " of dataset " << d.id;
    }
  }
  EXPECT_FALSE(referenced.empty());
  // ... and after a sweep, nothing else is.
  ASSERT_TRUE(SweepUnusedBlobs(store, blobs).ok());
  EXPECT_EQ(BlobsOnDisk(dir_.path() / "blobs"), referenced);
}

// Blobs on disk that no record knows (a writer killed between its write and its pin, an
// older version): the sweep at start removes them, and keeps what a file references or
// a pin holds.
TEST_F(BlobLifetimeTest, TheSweepAtStartRemovesBlobsNoRecordKnows) {
  DatasetRecord d;
  d.name = "d";
  StatusOr<DatasetRecord> dataset = store_->CreateDataset(d);
  ASSERT_TRUE(dataset.ok());
  StatusOr<BlobInfo> referenced = blobs_->Put(Bytes(1));
  ASSERT_TRUE(referenced.ok());
  FileRecord f;
  f.dataset_id = dataset->id;
  f.role = "source";
  f.filename = "a.png";
  f.content_type = "image/png";
  f.sha256 = referenced->sha256;
  f.size = referenced->size;
  ASSERT_TRUE(store_->AddFile(f).ok());
  StatusOr<PinnedBlob> pinned = PutPinned(*store_, *blobs_, Bytes(2));  // a live writer's
  ASSERT_TRUE(pinned.ok());
  StatusOr<BlobInfo> stray = blobs_->Put(Bytes(3));  // never pinned, never referenced
  ASSERT_TRUE(stray.ok());
  StatusOr<BlobInfo> stray2 = blobs_->Put(Bytes(4));
  ASSERT_TRUE(stray2.ok());

  // The plain sweep knows only registered blobs: the strays stay.
  ASSERT_TRUE(SweepUnusedBlobs(*store_, *blobs_).ok());
  EXPECT_EQ(BlobsOnDisk(dir_.path() / "blobs").size(), 4u);

  StatusOr<std::vector<std::string>> removed = SweepAllUnusedBlobs(*store_, *blobs_);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(std::set<std::string>(removed->begin(), removed->end()),
            (std::set<std::string>{stray->sha256, stray2->sha256}));
  EXPECT_EQ(BlobsOnDisk(dir_.path() / "blobs"),
            (std::set<std::string>{referenced->sha256, pinned->info.sha256}));
  // Once its writer lets go (and nothing references it), the next sweep takes it.
  pinned->pin.Release();
  ASSERT_TRUE(SweepAllUnusedBlobs(*store_, *blobs_).ok());
  EXPECT_EQ(BlobsOnDisk(dir_.path() / "blobs"), (std::set<std::string>{referenced->sha256}));
}

}  // namespace
}  // namespace infera
