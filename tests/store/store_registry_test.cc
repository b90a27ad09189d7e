// The store registry: drivers by name, each part of the storage opened through it, and
// an unknown driver refused naming the known ones.
#include "store/store_registry.h"

#include <gtest/gtest.h>

#include "store/store_conformance.h"
#include "support/postgres_server.h"

namespace infera::store_testing {
namespace {

TEST(StoreRegistryTest, OpensEachPartOfASqliteStorage) {
  ScratchDir dir;
  StorageOptions options;
  options.path = dir.path() / "data";
  options.now_ms = [] { return int64_t{4242}; };
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> records, OpenRecordStore(options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<UserStore> users, OpenUserStore(options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobStore> blobs, OpenBlobStore(options));
  DatasetRecord d;
  d.name = "d";
  ASSERT_OK_AND_ASSIGN(DatasetRecord created, records->CreateDataset(d));
  EXPECT_EQ(created.created_at, 4242);  // the injected clock reached the driver
  EXPECT_TRUE(std::filesystem::exists(options.path / "infera.db"));
  const std::string bytes = "bytes";
  ASSERT_OK_AND_ASSIGN(BlobInfo blob, blobs->Put(std::as_bytes(std::span(bytes))));
  EXPECT_TRUE(std::filesystem::exists(options.path / "blobs"));
  EXPECT_EQ(blob.size, 5);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AnnotationStore> annotations, OpenAnnotationStore(options));
  AnnotationSetRecord set;
  set.dataset_id = created.id;
  set.name = "gt";
  ASSERT_OK_AND_ASSIGN(AnnotationSetRecord made, annotations->CreateAnnotationSet(set, {}));
  EXPECT_EQ(made.created_at, 4242);
  EXPECT_EQ(StoreDriverNames(), (std::vector<std::string>{"sqlite", "postgres"}));
}

TEST(StoreRegistryTest, AnUnknownDriverOrAMissingPathIsInvalidArgument) {
  ScratchDir dir;
  StorageOptions options;
  options.driver = "postgres-someday";
  options.path = dir.path();
  Status s = OpenRecordStore(options).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "unknown storage driver 'postgres-someday' (known: sqlite, postgres)");
  EXPECT_EQ(OpenUserStore(options).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenBlobStore(options).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenAnnotationStore(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.driver = "sqlite";
  options.path.clear();
  EXPECT_EQ(OpenRecordStore(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.driver = "postgres";  // without a url
  EXPECT_EQ(OpenRecordStore(options).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenUserStore(options).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenBlobStore(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(StoreRegistryTest, OpensEachPartOfAPostgresStorageFromItsUrl) {
  ASSERT_OK_AND_ASSIGN(std::string url, infera::testing::FreshPostgresDatabase());
  StorageOptions options;
  options.driver = "postgres";
  options.url = url;
  options.now_ms = [] { return int64_t{4242}; };
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> records, OpenRecordStore(options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<UserStore> users, OpenUserStore(options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobStore> blobs, OpenBlobStore(options));
  DatasetRecord d;
  d.name = "d";
  ASSERT_OK_AND_ASSIGN(DatasetRecord created, records->CreateDataset(d));
  EXPECT_EQ(created.created_at, 4242);
  const std::string bytes = "bytes";
  ASSERT_OK_AND_ASSIGN(BlobInfo blob, blobs->Put(std::as_bytes(std::span(bytes))));
  ASSERT_OK_AND_ASSIGN(std::string back, blobs->Get(blob.sha256));
  EXPECT_EQ(back, "bytes");
  EXPECT_EQ(StatusOf(blobs->LocalPath(blob.sha256)).code(), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(int64_t count, users->CountUsers());
  EXPECT_EQ(count, 0);
}

}  // namespace
}  // namespace infera::store_testing
