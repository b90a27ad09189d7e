// The PostgreSQL stores on a real server (tests/support/postgres_server.h): the
// conformance suites of Store, UserStore and BlobStore instantiated for them, blob
// lifetime with both on PostgreSQL, and what is particular to PostgreSQL: migrations
// applied once when several nodes open an empty database at once, a newer schema
// refused, an unreachable server reported, and claims from several nodes (stores, each
// with its pool) racing on one database.
#include "store/postgres_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "store/annotation_conformance.h"
#include "store/blob_lifetime.h"
#include "store/blob_store_conformance.h"
#include "store/postgres_db.h"
#include "store/postgres_migrations.h"
#include "store/store_conformance.h"
#include "store/store_registry.h"
#include "store/user_store_conformance.h"
#include "support/postgres_server.h"

namespace infera::store_testing {
namespace {

using absl::StatusCode;
using infera::testing::FreshPostgresDatabase;

PostgresStoreOptions Options(const std::string& url, std::function<int64_t()> now_ms = {}) {
  PostgresStoreOptions options;
  options.url = url;
  options.now_ms = std::move(now_ms);
  return options;
}

INSTANTIATE_TEST_SUITE_P(Postgres, StoreConformanceTest,
                         ::testing::Values(StoreFactory{
                             "Postgres",
                             [](const std::filesystem::path&, std::function<int64_t()> now_ms)
                                 -> StatusOr<std::unique_ptr<Store>> {
                               ASSIGN_OR_RETURN(std::string url, FreshPostgresDatabase());
                               return OpenPostgresStore(Options(url, std::move(now_ms)));
                             }}),
                         StoreFactoryName);

INSTANTIATE_TEST_SUITE_P(Postgres, UserStoreConformanceTest,
                         ::testing::Values(UserStoreFactory{
                             "Postgres",
                             [](const std::filesystem::path&, std::function<int64_t()> now_ms)
                                 -> StatusOr<std::unique_ptr<UserStore>> {
                               ASSIGN_OR_RETURN(std::string url, FreshPostgresDatabase());
                               return OpenPostgresUserStore(Options(url, std::move(now_ms)));
                             }}),
                         UserStoreFactoryName);

INSTANTIATE_TEST_SUITE_P(Postgres, AnnotationConformanceTest,
                         ::testing::Values(AnnotationStoreFactory{
                             "Postgres",
                             [](const std::filesystem::path&,
                                std::function<int64_t()> now_ms) -> StatusOr<AnnotationStores> {
                               ASSIGN_OR_RETURN(std::string url, FreshPostgresDatabase());
                               AnnotationStores stores;
                               ASSIGN_OR_RETURN(stores.records,
                                                OpenPostgresStore(Options(url, now_ms)));
                               ASSIGN_OR_RETURN(stores.annotations,
                                                OpenPostgresAnnotationStore(Options(url, now_ms)));
                               return stores;
                             }}),
                         AnnotationStoreFactoryName);

// The database of each scratch folder: opening again with the same folder (the
// reopening test) finds the same database.
StatusOr<std::unique_ptr<BlobStore>> OpenBlobsFor(const std::filesystem::path& dir) {
  static std::mutex mu;
  static std::map<std::string, std::string> urls;
  std::string url;
  {
    std::lock_guard lock(mu);
    url = urls[dir.string()];
  }
  if (url.empty()) {
    ASSIGN_OR_RETURN(url, FreshPostgresDatabase());
    std::lock_guard lock(mu);
    urls[dir.string()] = url;
  }
  return OpenPostgresBlobStore(Options(url));
}

INSTANTIATE_TEST_SUITE_P(Postgres, BlobStoreConformanceTest,
                         ::testing::Values(BlobStoreFactory{"Postgres", OpenBlobsFor}),
                         BlobStoreFactoryName);

// `blobs: {path: DIR}` with the postgres driver: the registry's blob store is the
// filesystem one on the shared folder (the records stay in the database).
StatusOr<std::unique_ptr<BlobStore>> OpenSharedDirBlobs(const std::filesystem::path& dir) {
  ASSIGN_OR_RETURN(std::string url, FreshPostgresDatabase());
  StorageOptions options{.driver = "postgres", .path = {}, .url = url, .now_ms = {}};
  options.blobs_path = dir / "shared-blobs";
  return OpenBlobStore(options);
}

INSTANTIATE_TEST_SUITE_P(PostgresSharedDir, BlobStoreConformanceTest,
                         ::testing::Values(BlobStoreFactory{"PostgresSharedDir",
                                                            OpenSharedDirBlobs}),
                         BlobStoreFactoryName);

TEST(PostgresStoreTest, BlobsInASharedFolderAreSeenByEveryNodeAndNotStoredInTheDatabase) {
  ASSERT_OK_AND_ASSIGN(std::string url, FreshPostgresDatabase());
  ScratchDir dir;
  StorageOptions options{.driver = "postgres", .path = {}, .url = url, .now_ms = {}};
  options.blobs_path = dir.path() / "shared";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> records, OpenRecordStore(options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobStore> node_a, OpenBlobStore(options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BlobStore> node_b, OpenBlobStore(options));
  const std::string bytes(3 << 20, 'x');  // several of the database store's chunks
  ASSERT_OK_AND_ASSIGN(BlobInfo put,
                       node_a->Put(std::as_bytes(std::span(bytes.data(), bytes.size()))));
  ASSERT_OK_AND_ASSIGN(std::string got, node_b->Get(put.sha256));
  EXPECT_TRUE(got == bytes);
  // A file, not rows: LocalPath names it under the shared folder.
  ASSERT_OK_AND_ASSIGN(std::filesystem::path local, node_b->LocalPath(put.sha256));
  EXPECT_TRUE(local.string().starts_with(options.blobs_path.string())) << local;
  ASSERT_OK_AND_ASSIGN(auto conn, PgConnection::Connect(url));
  ASSERT_OK_AND_ASSIGN(PgResult rows, conn->Exec("SELECT COUNT(*) FROM blob_chunks"));
  EXPECT_EQ(rows.Int(0, 0), 0);
}

// Rows of `sql` as text, each row's columns joined by '|'.
std::vector<std::string> Query(const std::string& url, const char* sql) {
  std::vector<std::string> rows;
  StatusOr<std::unique_ptr<PgConnection>> conn = PgConnection::Connect(url);
  EXPECT_TRUE(conn.ok()) << conn.status();
  if (!conn.ok()) return rows;
  StatusOr<PgResult> r = (*conn)->Exec(sql);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return rows;
  for (int i = 0; i < r->rows(); ++i) rows.push_back(r->Text(i, 0));
  return rows;
}

TEST(PostgresStoreTest, NodesOpeningAnEmptyDatabaseAtOnceMigrateItOnce) {
  ASSERT_OK_AND_ASSIGN(std::string url, FreshPostgresDatabase());
  // Each store is a node: its own pool, its own connections (separate server sessions,
  // as separate processes would have).
  constexpr int kNodes = 6;
  std::vector<StatusOr<std::unique_ptr<Store>>> opened;
  for (int i = 0; i < kNodes; ++i) opened.emplace_back(absl::UnknownError("not run"));
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kNodes; ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (ready.load() < kNodes) std::this_thread::yield();  // start together
      opened[i] = OpenPostgresStore(Options(url));
    });
  }
  for (auto& t : threads) t.join();
  for (auto& store : opened) ASSERT_TRUE(store.ok()) << store.status();
  std::vector<std::string> expected;
  for (int v = 1; v <= LatestPgSchemaVersion(); ++v) expected.push_back(std::to_string(v));
  EXPECT_EQ(Query(url, "SELECT version FROM schema_migrations ORDER BY version"), expected);
  // And they share one database: a dataset made on one node is seen by another.
  DatasetRecord d;
  d.name = "shared";
  ASSERT_OK_AND_ASSIGN(DatasetRecord created, (*opened[0])->CreateDataset(d));
  ASSERT_OK_AND_ASSIGN(DatasetRecord seen, (*opened[kNodes - 1])->GetDataset(created.id));
  EXPECT_EQ(seen.name, "shared");
}

TEST(PostgresStoreTest, ReopeningAppliesNoMigrationTwice) {
  ASSERT_OK_AND_ASSIGN(std::string url, FreshPostgresDatabase());
  ASSERT_OK(OpenPostgresStore(Options(url)).status());
  ASSERT_OK(OpenPostgresUserStore(Options(url)).status());
  ASSERT_OK(OpenPostgresBlobStore(Options(url)).status());
  EXPECT_EQ(Query(url, "SELECT COUNT(*) FROM schema_migrations"),
            std::vector<std::string>{std::to_string(LatestPgSchemaVersion())});
}

TEST(PostgresStoreTest, NewerSchemaIsFailedPrecondition) {
  ASSERT_OK_AND_ASSIGN(std::string url, FreshPostgresDatabase());
  ASSERT_OK(OpenPostgresStore(Options(url)).status());
  ASSERT_OK_AND_ASSIGN(auto conn, PgConnection::Connect(url));
  ASSERT_OK(
      conn->Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)").status());
  Status s = OpenPostgresStore(Options(url)).status();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(std::string(s.message()).find("999"), std::string::npos) << s;
}

TEST(PostgresStoreTest, AnUnreachableServerIsUnavailableAndNoPasswordIsShown) {
  Status s = OpenPostgresStore(Options("postgresql://infera:hunter2@/nodb?host=/nonexistent-dir"))
                 .status();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s;
  EXPECT_EQ(std::string(s.message()).find("hunter2"), std::string::npos) << s;
  EXPECT_EQ(OpenPostgresStore(Options("")).status().code(), StatusCode::kInvalidArgument);
}

TEST(PostgresStoreTest, NodesShareOneSecretMadeOnce) {
  ASSERT_OK_AND_ASSIGN(std::string url, FreshPostgresDatabase());
  std::atomic<int> made{0};
  std::vector<std::string> got(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i) {
    threads.emplace_back([&, i] {
      StatusOr<std::string> secret =
          LoadOrCreatePostgresSecret(Options(url), "auth_jwt", [&]() -> StatusOr<std::string> {
            return "secret-of-node-" + std::to_string(i) + "-" + std::to_string(++made);
          });
      EXPECT_TRUE(secret.ok()) << secret.status();
      if (secret.ok()) got[i] = *secret;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(got[0].empty());
  for (const std::string& s : got) EXPECT_EQ(s, got[0]);
  // Later calls read it and make nothing.
  const int before = made.load();
  ASSERT_OK_AND_ASSIGN(
      std::string again,
      LoadOrCreatePostgresSecret(Options(url), "auth_jwt", [&]() -> StatusOr<std::string> {
        ++made;
        return "other";
      }));
  EXPECT_EQ(again, got[0]);
  EXPECT_EQ(made.load(), before);
  // Through the registry: postgres shares it, sqlite has none to share.
  StorageOptions pg{.driver = "postgres", .path = {}, .url = url, .now_ms = {}};
  ASSERT_OK_AND_ASSIGN(
      std::optional<std::string> shared,
      LoadOrCreateSharedSecret(pg, "auth_jwt", [] { return StatusOr<std::string>("x"); }));
  EXPECT_EQ(shared, std::optional<std::string>(got[0]));
  ScratchDir dir;
  StorageOptions sqlite{.driver = "sqlite", .path = dir.path(), .url = {}, .now_ms = {}};
  ASSERT_OK_AND_ASSIGN(
      std::optional<std::string> none,
      LoadOrCreateSharedSecret(sqlite, "auth_jwt", [] { return StatusOr<std::string>("x"); }));
  EXPECT_FALSE(none.has_value());
}

TEST(PostgresStoreTest, RedactPgUrlHidesThePassword) {
  EXPECT_EQ(RedactPgUrl("postgresql://u:secret@h:5432/db"), "postgresql://u:***@h:5432/db");
  EXPECT_EQ(RedactPgUrl("postgresql://u@h/db"), "postgresql://u@h/db");
  EXPECT_EQ(RedactPgUrl("host=h password=secret dbname=x"), "host=h password=*** dbname=x");
}

// Workers on several nodes claim until nothing is left, finishing each job they get:
// every job is claimed exactly once however the claims interleave.
TEST(PostgresStoreTest, ClaimsFromSeveralNodesClaimEachJobOnce) {
  ASSERT_OK_AND_ASSIGN(std::string url, FreshPostgresDatabase());
  std::vector<std::unique_ptr<Store>> nodes;
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(auto store, OpenPostgresStore(Options(url)));
    nodes.push_back(std::move(store));
  }
  constexpr int kJobs = 120;
  for (int i = 0; i < kJobs; ++i) {
    JobRecord j;
    j.kind = "segment";
    ASSERT_OK(nodes[0]->CreateJob(j).status());
  }
  std::mutex mu;
  std::vector<int64_t> claimed;
  std::vector<std::thread> threads;
  for (size_t n = 0; n < nodes.size(); ++n) {
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&, store = nodes[n].get(),
                            worker = "node" + std::to_string(n) + "." + std::to_string(t)] {
        for (int round = 0; round < kJobs + 1; ++round) {  // bounded
          auto job = store->ClaimJob(worker, 60'000, {});
          if (!job.ok()) {
            ADD_FAILURE() << worker << ": " << job.status();
            return;
          }
          if (!job->has_value()) return;
          {
            std::lock_guard lock(mu);
            claimed.push_back((*job)->id);
          }
          Status finished = store->FinishJob((*job)->id, worker, JobStatus::kCompleted, "", "{}");
          if (!finished.ok()) ADD_FAILURE() << worker << ": " << finished;
        }
      });
    }
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(claimed.size(), static_cast<size_t>(kJobs));
  EXPECT_EQ(std::set<int64_t>(claimed.begin(), claimed.end()).size(), claimed.size())
      << "a job was claimed twice";
  EXPECT_EQ(Query(url, "SELECT COUNT(*) FROM jobs WHERE status = 'completed' AND attempts = 1"),
            std::vector<std::string>{std::to_string(kJobs)});
}

// Blob lifetime with records and bytes both in PostgreSQL: uploads of identical bytes
// racing dataset deletes on two nodes never lose a referenced blob, and after a last
// sweep nothing unreferenced is left.
TEST(PostgresStoreTest, BlobLifetimeHoldsAcrossNodes) {
  ASSERT_OK_AND_ASSIGN(std::string url, FreshPostgresDatabase());
  ASSERT_OK_AND_ASSIGN(auto store_a, OpenPostgresStore(Options(url)));
  ASSERT_OK_AND_ASSIGN(auto store_b, OpenPostgresStore(Options(url)));
  ASSERT_OK_AND_ASSIGN(auto blobs_a, OpenPostgresBlobStore(Options(url)));
  ASSERT_OK_AND_ASSIGN(auto blobs_b, OpenPostgresBlobStore(Options(url)));
  std::vector<std::byte> bytes(5000);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(i * 13);

  std::atomic<int> failures{0};
  auto node = [&](Store& store, BlobStore& blobs, const std::string& name) {
    for (int i = 0; i < 15; ++i) {
      DatasetRecord d;
      d.name = name;
      StatusOr<DatasetRecord> ds = store.CreateDataset(d);
      StatusOr<PinnedBlob> blob = PutPinned(store, blobs, bytes);
      if (!ds.ok() || !blob.ok()) {
        ++failures;
        continue;
      }
      FileRecord f;
      f.dataset_id = ds->id;
      f.filename = "a.png";
      f.sha256 = blob->info.sha256;
      f.size = blob->info.size;
      if (!store.AddFile(f).ok()) ++failures;
      blob->pin.Release();
      // The record references the blob: its bytes must be there.
      if (!blobs.Size(f.sha256).ok()) ++failures;
      if (i % 2 == 0) {
        StatusOr<std::vector<std::string>> dropped = store.DeleteDataset(ds->id);
        if (!dropped.ok() || !SweepUnusedBlobs(store, blobs, *dropped).ok()) ++failures;
      }
    }
  };
  std::thread a([&] { node(*store_a, *blobs_a, "a"); });
  std::thread b([&] { node(*store_b, *blobs_b, "b"); });
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  // Datasets remain (odd rounds): the blob is referenced and present.
  ASSERT_OK_AND_ASSIGN(auto left, store_a->ListDatasets(std::nullopt));
  ASSERT_FALSE(left.empty());
  ASSERT_OK_AND_ASSIGN(auto files, store_a->ListDatasetFiles(left[0].id));
  ASSERT_EQ(files.size(), 1u);
  ASSERT_OK(blobs_a->Size(files[0].sha256).status());
  // Everything deleted: the last sweep leaves no bytes behind.
  for (const DatasetRecord& d : left) ASSERT_OK(store_a->DeleteDataset(d.id).status());
  ASSERT_OK(SweepUnusedBlobs(*store_a, *blobs_a).status());
  EXPECT_EQ(StatusOf(blobs_b->Size(files[0].sha256)).code(), StatusCode::kNotFound);
  EXPECT_EQ(Query(url, "SELECT (SELECT COUNT(*) FROM blob_chunks) + (SELECT COUNT(*) FROM blobs)"),
            std::vector<std::string>{"0"});
}

// A dataset deleted on one node while another writes its job's results: every call
// ends with its own answer (a result written, or NotFound / FailedPrecondition once the
// job is gone) and never with a deadlock (40P01, which maps to Unavailable): both take
// the dataset's row before the job's and the files'.
TEST(PostgresStoreTest, ADatasetDeleteRacingResultWritesNeverDeadlocks) {
  ASSERT_OK_AND_ASSIGN(std::string url, FreshPostgresDatabase());
  ASSERT_OK_AND_ASSIGN(auto writer, OpenPostgresStore(Options(url)));
  ASSERT_OK_AND_ASSIGN(auto deleter, OpenPostgresStore(Options(url)));
  const std::string sha(64, 'a');
  for (int round = 0; round < 12; ++round) {
    DatasetRecord d;
    d.name = "race";
    ASSERT_OK_AND_ASSIGN(DatasetRecord ds, writer->CreateDataset(d));
    std::vector<int64_t> sources;
    for (int i = 0; i < 8; ++i) {
      FileRecord f;
      f.dataset_id = ds.id;
      f.filename = "img" + std::to_string(i) + ".png";
      f.sha256 = sha;
      f.size = 10;
      ASSERT_OK_AND_ASSIGN(FileRecord added, writer->AddFile(f));
      sources.push_back(added.id);
    }
    JobRecord j;
    j.kind = "inference";
    j.dataset_id = ds.id;
    ASSERT_OK_AND_ASSIGN(JobRecord job, writer->CreateJob(j));
    ASSERT_OK_AND_ASSIGN(std::optional<JobRecord> claimed, writer->ClaimJob("w", 60'000, {}));
    ASSERT_TRUE(claimed.has_value());
    std::atomic<int> unexpected{0};
    std::string last_error;
    std::thread results([&] {
      for (int64_t source : sources) {
        JobResultRecord r;
        r.job_id = job.id;
        r.source_file_id = source;
        FileRecord out;
        out.role = "class_mask";
        out.filename = "m" + std::to_string(source) + ".png";
        out.sha256 = std::string(64, 'b');
        out.size = 5;
        StatusOr<JobResultRecord> added = writer->AddJobResult(r, {out}, "w");
        const StatusCode code = added.status().code();
        if (code != StatusCode::kOk && code != StatusCode::kNotFound &&
            code != StatusCode::kFailedPrecondition) {
          ++unexpected;
          last_error = std::string(added.status().message());
        }
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(round % 4));
    StatusOr<std::vector<std::string>> deleted = deleter->DeleteDataset(ds.id);
    results.join();
    EXPECT_TRUE(deleted.ok()) << deleted.status();
    EXPECT_EQ(unexpected.load(), 0) << last_error;
  }
}

}  // namespace
}  // namespace infera::store_testing
