// What is particular to the SQLite store: the file it makes, its pragmas, migrations,
// persistence across reopening, and claims racing from threads and connections. The
// Store behaviour itself is tested by the conformance suite.
#include "store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite_migrations.h"
#include "store/store_conformance.h"

namespace infera::store_testing {
namespace {

using absl::StatusCode;
namespace fs = std::filesystem;

// A second, raw connection to look at (or tamper with) the database file.
class RawDb {
 public:
  explicit RawDb(const fs::path& file) {
    EXPECT_EQ(sqlite3_open(file.c_str(), &db_), SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  // The rows of `sql`, each as its columns' text joined by '|'.
  std::vector<std::string> Query(const std::string& sql) {
    std::vector<std::string> rows;
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
    while (st != nullptr && sqlite3_step(st) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        if (i > 0) row += "|";
        const unsigned char* text = sqlite3_column_text(st, i);
        row += text != nullptr ? reinterpret_cast<const char*>(text) : "NULL";
      }
      rows.push_back(row);
    }
    sqlite3_finalize(st);
    return rows;
  }
  void Exec(const std::string& sql) {
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error != nullptr ? error : "");
    sqlite3_free(error);
  }

 private:
  sqlite3* db_ = nullptr;
};

std::string Sha(int n) {
  std::string s(64, '0');
  s[63] = static_cast<char>('0' + n % 10);
  return s;
}

SqliteStoreOptions WithClock(int64_t now) {
  SqliteStoreOptions options;
  options.now_ms = [now] { return now; };
  return options;
}

TEST(SqliteStoreTest, CreatesTheParentFolderAndUsesWal) {
  ScratchDir dir;
  const fs::path file = dir.path() / "a" / "b" / "infera.db";
  ASSERT_OK_AND_ASSIGN(auto store, OpenSqliteStore(file));
  EXPECT_TRUE(fs::is_regular_file(file));
  RawDb raw(file);
  EXPECT_EQ(raw.Query("PRAGMA journal_mode"), std::vector<std::string>{"wal"});
}

TEST(SqliteStoreTest, MigrationsAreRecordedInOrder) {
  ASSERT_FALSE(SqliteMigrations().empty());
  for (size_t i = 0; i < SqliteMigrations().size(); ++i) {
    EXPECT_EQ(SqliteMigrations()[i].version, static_cast<int>(i) + 1);
  }
  EXPECT_EQ(LatestSqliteSchemaVersion(), static_cast<int>(SqliteMigrations().size()));

  ScratchDir dir;
  const fs::path file = dir.path() / "infera.db";
  ASSERT_OK(OpenSqliteStore(file, WithClock(12345)).status());
  RawDb raw(file);
  std::vector<std::string> expected;
  for (const auto& m : SqliteMigrations()) expected.push_back(std::to_string(m.version) + "|12345");
  EXPECT_EQ(raw.Query("SELECT version, applied_at FROM schema_migrations ORDER BY version"),
            expected);
  EXPECT_EQ(raw.Query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"),
            (std::vector<std::string>{"annotation_image_labels", "annotation_revisions",
                                      "annotation_sets", "api_keys", "blob_pins", "blobs",
                                      "datasets", "files", "job_results", "jobs", "refresh_tokens",
                                      "revoked_tokens", "schema_migrations", "users"}));
  EXPECT_EQ(raw.Query("PRAGMA foreign_key_check"), std::vector<std::string>{});
  EXPECT_EQ(raw.Query("PRAGMA integrity_check"), std::vector<std::string>{"ok"});
}

TEST(SqliteStoreTest, ReopeningKeepsDataAndAppliesNoMigrationTwice) {
  ScratchDir dir;
  const fs::path file = dir.path() / "infera.db";
  int64_t dataset_id = 0;
  int64_t job_id = 0;
  {
    ASSERT_OK_AND_ASSIGN(auto store, OpenSqliteStore(file, WithClock(1000)));
    DatasetRecord d;
    d.name = "kept";
    ASSERT_OK_AND_ASSIGN(DatasetRecord created, store->CreateDataset(d));
    dataset_id = created.id;
    FileRecord f;
    f.dataset_id = dataset_id;
    f.filename = "a.png";
    f.sha256 = Sha(1);
    f.size = 3;
    ASSERT_OK(store->AddFile(f).status());
    JobRecord j;
    j.kind = "segment";
    j.dataset_id = dataset_id;
    ASSERT_OK_AND_ASSIGN(JobRecord job, store->CreateJob(j));
    job_id = job.id;
    ASSERT_OK(store->ClaimJob("w", 60'000, {}).status());
  }
  ASSERT_OK_AND_ASSIGN(auto store, OpenSqliteStore(file, WithClock(2000)));
  ASSERT_OK_AND_ASSIGN(DatasetRecord d, store->GetDataset(dataset_id));
  EXPECT_EQ(d.name, "kept");
  EXPECT_EQ(d.file_count, 1);
  EXPECT_EQ(d.created_at, 1000);
  ASSERT_OK_AND_ASSIGN(JobRecord job, store->GetJob(job_id));
  EXPECT_EQ(job.status, JobStatus::kRunning);
  EXPECT_EQ(job.lease_owner, "w");
  EXPECT_EQ(job.lease_expires_at, 61'000);
  EXPECT_EQ(job.total, 1);

  RawDb raw(file);
  EXPECT_EQ(raw.Query("SELECT COUNT(*), MAX(applied_at) FROM schema_migrations"),
            std::vector<std::string>{std::to_string(LatestSqliteSchemaVersion()) + "|1000"});
}

TEST(SqliteStoreTest, ConcurrentOpensOfANewFileApplyEachMigrationOnce) {
  ScratchDir dir;
  const fs::path file = dir.path() / "infera.db";
  std::vector<std::thread> threads;
  std::vector<Status> opened(4);
  for (size_t i = 0; i < opened.size(); ++i) {
    threads.emplace_back([&, i] { opened[i] = OpenSqliteStore(file).status(); });
  }
  for (auto& t : threads) t.join();
  for (const Status& s : opened) EXPECT_TRUE(s.ok()) << s;
  RawDb raw(file);
  EXPECT_EQ(raw.Query("SELECT COUNT(*) FROM schema_migrations"),
            std::vector<std::string>{std::to_string(LatestSqliteSchemaVersion())});
}

TEST(SqliteStoreTest, UpgradeToVersion3RegistersTheBlobsFilesAlreadyReference) {
  ScratchDir dir;
  const fs::path file = dir.path() / "infera.db";
  {
    // A database as version 2 left it, with a dataset holding one file.
    RawDb raw(file);
    raw.Exec(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
        " applied_at INTEGER NOT NULL) STRICT");
    for (int v = 1; v <= 2; ++v) {
      raw.Exec(SqliteMigrations()[v - 1].sql);
      raw.Exec("INSERT INTO schema_migrations VALUES (" + std::to_string(v) + ", 1)");
    }
    raw.Exec("INSERT INTO datasets (id, name, created_at) VALUES (1, 'old', 5)");
    raw.Exec(
        "INSERT INTO files (dataset_id, role, filename, sha256, size, created_at)"
        " VALUES (1, 'source', 'a.png', '" +
        Sha(1) + "', 42, 7)");
  }
  ASSERT_OK_AND_ASSIGN(auto store, OpenSqliteStore(file));
  {
    RawDb raw(file);
    EXPECT_EQ(raw.Query("SELECT sha256, size, created_at FROM blobs"),
              std::vector<std::string>{Sha(1) + "|42|7"});
  }
  // Swept like any other once nothing references it.
  ASSERT_OK(store->DeleteDataset(1).status());
  ASSERT_OK_AND_ASSIGN(
      std::vector<std::string> removed,
      store->SweepBlobs(std::nullopt, [](const std::string&) { return Status(); }));
  EXPECT_EQ(removed, std::vector<std::string>{Sha(1)});
}

TEST(SqliteStoreTest, UpgradeToVersion6KeepsAnnotationSetsAndRevisionsAndTheirCascades) {
  ScratchDir dir;
  const fs::path file = dir.path() / "infera.db";
  {
    // A database as version 5 left it: a dataset, two images, a set with two revisions.
    RawDb raw(file);
    raw.Exec(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
        " applied_at INTEGER NOT NULL) STRICT");
    for (int v = 1; v <= 5; ++v) {
      raw.Exec(SqliteMigrations()[v - 1].sql);
      raw.Exec("INSERT INTO schema_migrations VALUES (" + std::to_string(v) + ", 1)");
    }
    raw.Exec("INSERT INTO datasets (id, name, created_at) VALUES (1, 'old', 5)");
    raw.Exec(
        "INSERT INTO files (id, dataset_id, role, filename, sha256, size, created_at)"
        " VALUES (1, 1, 'source', 'a.png', '" +
        Sha(1) + "', 42, 7), (2, 1, 'source', 'b.png', '" + Sha(2) + "', 42, 7)");
    raw.Exec(
        "INSERT INTO annotation_sets (id, dataset_id, owner_id, name, kind, labels_json,"
        " created_at) VALUES (4, 1, 3, 'gt', 'instances', '[{\"id\":1}]', 8)");
    raw.Exec(
        "INSERT INTO annotation_revisions (set_id, source_file_id, revision, sha256, size,"
        " width, height, bit_depth, author_id, origin, classes_json, created_at) VALUES"
        " (4, 1, 1, '" +
        Sha(3) + "', 9, 8, 6, 16, 3, 'import', '{\"1\":1}', 9), (4, 2, 1, '" + Sha(4) +
        "', 9, 8, 6, 8, 3, 'edit', '{}', 10)");
  }
  ASSERT_OK_AND_ASSIGN(auto store, OpenSqliteStore(file));
  RawDb raw(file);
  EXPECT_EQ(raw.Query("SELECT id, dataset_id, owner_id, name, kind, labels_json, created_at"
                      " FROM annotation_sets"),
            std::vector<std::string>{R"(4|1|3|gt|instances|[{"id":1}]|8)"});
  EXPECT_EQ(raw.Query("SELECT set_id, source_file_id, revision, bit_depth, origin, classes_json"
                      " FROM annotation_revisions ORDER BY source_file_id"),
            (std::vector<std::string>{R"(4|1|1|16|import|{"1":1})", "4|2|1|8|edit|{}"}));
  EXPECT_EQ(raw.Query("PRAGMA foreign_key_check"), std::vector<std::string>{});
  // The third kind is accepted now; the references still cascade.
  raw.Exec(
      "INSERT INTO annotation_sets (id, dataset_id, name, kind, created_at)"
      " VALUES (5, 1, 'labels', 'image_labels', 11)");
  raw.Exec(
      "INSERT INTO annotation_image_labels (set_id, source_file_id, revision, label_id,"
      " origin, created_at) VALUES (5, 1, 1, 1, 'edit', 12)");
  ASSERT_OK(store->DeleteDataset(1).status());
  EXPECT_EQ(raw.Query("SELECT COUNT(*) FROM annotation_revisions"), std::vector<std::string>{"0"});
  EXPECT_EQ(raw.Query("SELECT COUNT(*) FROM annotation_image_labels"),
            std::vector<std::string>{"0"});
}

// tests/store/v3_store: a storage folder a real server of schema version 3 wrote (see
// its README). Opening a copy migrates it in place; every job, result and output file
// keeps its id, and the four artifact columns become result file rows.
TEST(SqliteStoreTest, UpgradeToVersion4KeepsJobsResultsAndFilesOfAVersion3Store) {
  ScratchDir dir;
  const fs::path file = dir.path() / "infera.db";
  fs::copy_file(fs::path(INFERA_SOURCE_DIR) / "tests/store/v3_store/infera.db", file);
  {
    RawDb raw(file);
    EXPECT_EQ(raw.Query("SELECT MAX(version) FROM schema_migrations"),
              std::vector<std::string>{"3"});
  }
  ASSERT_OK_AND_ASSIGN(auto store, OpenSqliteStore(file));
  {
    RawDb raw(file);
    EXPECT_EQ(raw.Query("PRAGMA foreign_key_check"), std::vector<std::string>{});
    EXPECT_EQ(raw.Query("PRAGMA integrity_check"), std::vector<std::string>{"ok"});
    EXPECT_EQ(raw.Query("SELECT name FROM sqlite_master WHERE name IN"
                        " ('inferences', 'inference_results', 'files_v4')"),
              std::vector<std::string>{});
  }
  ASSERT_OK_AND_ASSIGN(std::vector<JobRecord> jobs, store->ListJobs(JobFilter{}));
  ASSERT_EQ(jobs.size(), 5u);
  ASSERT_OK_AND_ASSIGN(JobRecord cellpose, store->GetJob(1));
  EXPECT_EQ(cellpose.kind, "inference");
  EXPECT_EQ(cellpose.dataset_id, 2);
  EXPECT_EQ(cellpose.status, JobStatus::kCompleted);
  EXPECT_NE(cellpose.spec_json.find(R"("model":"cellpose_tiny")"), std::string::npos)
      << cellpose.spec_json;
  EXPECT_NE(cellpose.report_json.find("wall_ms"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(std::vector<JobResultRecord> results, store->ListJobResults(1));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].FileId("instance_mask"), 5);
  EXPECT_EQ(results[0].FileId("class_mask"), 6);
  EXPECT_EQ(results[0].FileId("preview"), 7);
  ASSERT_OK_AND_ASSIGN(JobRecord tiff, store->GetJob(5));
  EXPECT_EQ(tiff.failed_items, 1);
  ASSERT_OK_AND_ASSIGN(results, store->ListJobResults(5));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_FALSE(results[0].error.empty());
  EXPECT_TRUE(results[0].files.empty());
  EXPECT_EQ(results[1].FileId("probability"), 22);
  EXPECT_EQ(results[1].FileId("preview"), 23);
  ASSERT_OK_AND_ASSIGN(FileRecord probability, store->GetFile(22));
  EXPECT_EQ(probability.job_id, 5);
  EXPECT_EQ(probability.result_id, results[1].id);
  EXPECT_EQ(probability.content_type, "image/tiff");
  // Still a working store: deleting a dataset takes its jobs, results and outputs along.
  ASSERT_OK(store->DeleteDataset(3).status());
  EXPECT_EQ(StatusOf(store->GetJob(5)).code(), StatusCode::kNotFound);
  EXPECT_EQ(StatusOf(store->GetFile(22)).code(), StatusCode::kNotFound);
  ASSERT_OK(store->GetJob(2).status());
}

TEST(SqliteStoreTest, NewerSchemaIsFailedPrecondition) {
  ScratchDir dir;
  const fs::path file = dir.path() / "infera.db";
  ASSERT_OK(OpenSqliteStore(file).status());
  {
    RawDb raw(file);
    raw.Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (" +
             std::to_string(LatestSqliteSchemaVersion() + 1) + ", 0)");
  }
  auto reopened = OpenSqliteStore(file);
  EXPECT_EQ(StatusOf(reopened).code(), StatusCode::kFailedPrecondition) << StatusOf(reopened);
  EXPECT_NE(std::string(StatusOf(reopened).message()).find("newer"), std::string::npos);
}

TEST(SqliteStoreTest, AFileThatIsNotADatabaseIsAnError) {
  ScratchDir dir;
  const fs::path file = dir.path() / "infera.db";
  std::ofstream(file) << std::string(4096, 'x');
  auto opened = OpenSqliteStore(file);
  EXPECT_FALSE(opened.ok());
  EXPECT_NE(std::string(StatusOf(opened).message()).find(file.string()), std::string::npos)
      << StatusOf(opened);
}

TEST(SqliteStoreTest, ForeignKeysAreEnforcedOnTheStoresConnection) {
  // foreign_keys is a per-connection setting, so look at its effect: deleting a dataset
  // through the store removes its files, its job, the job's outputs and results (with
  // foreign keys off, the cascades would not run and these rows would be left behind).
  ScratchDir dir;
  const fs::path file = dir.path() / "infera.db";
  ASSERT_OK_AND_ASSIGN(auto store, OpenSqliteStore(file));
  DatasetRecord d;
  d.name = "ds";
  ASSERT_OK_AND_ASSIGN(DatasetRecord ds, store->CreateDataset(d));
  FileRecord f;
  f.dataset_id = ds.id;
  f.filename = "a.png";
  f.sha256 = Sha(1);
  ASSERT_OK_AND_ASSIGN(FileRecord src, store->AddFile(f));
  JobRecord j;
  j.kind = "segment";
  j.dataset_id = ds.id;
  ASSERT_OK(store->CreateJob(j).status());
  ASSERT_OK_AND_ASSIGN(auto claimed, store->ClaimJob("w", 60'000, {}));
  ASSERT_TRUE(claimed.has_value());
  JobResultRecord r;
  r.job_id = claimed->id;
  r.source_file_id = src.id;
  FileRecord mask;
  mask.role = "class_mask";
  mask.filename = "mask.png";
  mask.sha256 = Sha(2);
  ASSERT_OK(store->AddJobResult(r, {mask}, "w").status());
  ASSERT_OK(store->DeleteDataset(ds.id).status());

  RawDb raw(file);
  EXPECT_EQ(raw.Query("SELECT (SELECT COUNT(*) FROM files), (SELECT COUNT(*) FROM jobs),"
                      " (SELECT COUNT(*) FROM job_results)"),
            std::vector<std::string>{"0|0|0"});
}

// Workers claim until nothing is left, finishing each job they get; every job must be
// claimed exactly once however the claims interleave.
void ClaimAll(const std::vector<Store*>& stores, int threads_per_store, int jobs) {
  std::mutex mu;
  std::vector<int64_t> claimed;  // GUARDED_BY(mu)
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (size_t s = 0; s < stores.size(); ++s) {
    for (int t = 0; t < threads_per_store; ++t) {
      threads.emplace_back([&, store = stores[s],
                            worker = "w" + std::to_string(s) + "." + std::to_string(t)] {
        while (true) {
          auto job = store->ClaimJob(worker, 60'000, {});
          if (!job.ok()) {
            ADD_FAILURE() << worker << ": " << job.status();
            ++errors;
            return;
          }
          if (!job->has_value()) return;
          {
            std::lock_guard lock(mu);
            claimed.push_back((*job)->id);
          }
          Status finished = store->FinishJob((*job)->id, worker, JobStatus::kCompleted, "", "{}");
          if (!finished.ok()) {
            ADD_FAILURE() << worker << ": " << finished;
            ++errors;
          }
        }
      });
    }
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  ASSERT_EQ(claimed.size(), static_cast<size_t>(jobs));
  std::set<int64_t> unique(claimed.begin(), claimed.end());
  EXPECT_EQ(unique.size(), claimed.size()) << "a job was claimed twice";
  for (int64_t id : unique) {
    ASSERT_OK_AND_ASSIGN(JobRecord job, stores[0]->GetJob(id));
    EXPECT_EQ(job.status, JobStatus::kCompleted) << id;
    EXPECT_EQ(job.attempts, 1) << id;
  }
}

void CreateJobs(Store& store, int jobs) {
  DatasetRecord d;
  d.name = "ds";
  ASSERT_OK_AND_ASSIGN(DatasetRecord ds, store.CreateDataset(d));
  for (int i = 0; i < jobs; ++i) {
    JobRecord j;
    j.kind = "segment";
    j.dataset_id = ds.id;
    ASSERT_OK(store.CreateJob(j).status());
  }
}

TEST(SqliteStoreTest, ConcurrentClaimsFromThreadsClaimEachJobOnce) {
  ScratchDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, OpenSqliteStore(dir.path() / "infera.db"));
  CreateJobs(*store, 50);
  ClaimAll({store.get()}, 4, 50);
}

TEST(SqliteStoreTest, ConcurrentClaimsFromSeveralConnectionsClaimEachJobOnce) {
  // Stores on one file stand for server processes: the file's write lock, not a store's
  // mutex, keeps their claims apart, and waiting for it must not surface as errors.
  ScratchDir dir;
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK_AND_ASSIGN(auto store, OpenSqliteStore(dir.path() / "infera.db"));
    stores.push_back(std::move(store));
  }
  CreateJobs(*stores[0], 100);
  std::vector<Store*> raw;
  for (auto& s : stores) raw.push_back(s.get());
  ClaimAll(raw, 2, 100);
}

}  // namespace
}  // namespace infera::store_testing
