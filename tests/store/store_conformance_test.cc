// The Store conformance suite (see store_conformance.h), instantiated here for the
// SQLite store. Written against the Store interface only.
#include "store/store_conformance.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite_store.h"
#include "store/store.h"

namespace infera::store_testing {

using absl::StatusCode;

void StoreConformanceTest::SetUp() {
  ASSERT_OK_AND_ASSIGN(store_, GetParam().open(dir_.path(), [this] { return now_ms_.load(); }));
}

DatasetRecord StoreConformanceTest::NewDataset(const std::string& name, int64_t owner_id) {
  DatasetRecord d;
  d.name = name;
  d.owner_id = owner_id;
  auto created = store_->CreateDataset(d);
  EXPECT_TRUE(created.ok()) << created.status();
  return created.ok() ? *created : DatasetRecord{};
}

FileRecord StoreConformanceTest::NewFile(const FileRecord& file) {
  auto added = store_->AddFile(file);
  EXPECT_TRUE(added.ok()) << added.status();
  return added.ok() ? *added : FileRecord{};
}

JobRecord StoreConformanceTest::NewJob(int64_t dataset_id, int64_t owner_id) {
  JobRecord j;
  j.kind = "segment";
  j.dataset_id = dataset_id;
  j.owner_id = owner_id;
  j.spec_json = R"({"model":"seg","tile":256})";
  auto created = store_->CreateJob(j);
  EXPECT_TRUE(created.ok()) << created.status();
  return created.ok() ? *created : JobRecord{};
}

JobRecord StoreConformanceTest::Job(int64_t id) {
  auto job = store_->GetJob(id);
  EXPECT_TRUE(job.ok()) << job.status();
  return job.ok() ? *job : JobRecord{};
}

void StoreConformanceTest::ClaimExpecting(int64_t id, const std::string& worker, int64_t lease_ms) {
  auto claimed = store_->ClaimJob(worker, lease_ms, {});
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_TRUE(claimed->has_value()) << "nothing to claim, expected inference " << id;
  EXPECT_EQ((*claimed)->id, id);
}

void StoreConformanceTest::ExpectNothingToClaim(const std::string& worker) {
  auto claimed = store_->ClaimJob(worker, 1000, {});
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_FALSE(claimed->has_value()) << "claimed inference " << (*claimed)->id;
}

namespace {

// A well-formed sha256 ending in the hex digits of n.
std::string Sha(int n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(64, '0');
  for (int i = 63; n > 0; --i, n /= 16) s[i] = kDigits[n % 16];
  return s;
}

FileRecord Source(int64_t dataset_id, const std::string& filename, const std::string& sha256,
                  int64_t size = 10) {
  FileRecord f;
  f.dataset_id = dataset_id;
  f.role = "source";
  f.filename = filename;
  f.content_type = "image/png";
  f.sha256 = sha256;
  f.size = size;
  return f;
}

FileRecord Output(const std::string& role, const std::string& sha256) {
  FileRecord f;
  f.role = role;
  f.filename = role + ".png";
  f.content_type = "image/png";
  f.sha256 = sha256;
  f.size = 5;
  return f;
}

JobResultRecord Result(int64_t job_id, int64_t source_file_id, const std::string& error = "") {
  JobResultRecord r;
  r.job_id = job_id;
  r.source_file_id = source_file_id;
  r.summary_json = R"({"classes":3})";
  r.error = error;
  r.elapsed_ms = 12.5;
  return r;
}

// --- datasets ---

TEST_P(StoreConformanceTest, CreateDatasetReturnsTheStoredRecord) {
  DatasetRecord d;
  d.owner_id = 7;
  d.name = "cells";
  d.description = "HeLa, 40x";
  d.file_count = 99;  // computed by the store, not taken from the caller
  ASSERT_OK_AND_ASSIGN(DatasetRecord created, store_->CreateDataset(d));
  EXPECT_GT(created.id, 0);
  EXPECT_EQ(created.owner_id, 7);
  EXPECT_EQ(created.name, "cells");
  EXPECT_EQ(created.description, "HeLa, 40x");
  EXPECT_EQ(created.created_at, Now());
  EXPECT_EQ(created.file_count, 0);
  EXPECT_EQ(created.total_bytes, 0);

  ASSERT_OK_AND_ASSIGN(DatasetRecord got, store_->GetDataset(created.id));
  EXPECT_EQ(got.id, created.id);
  EXPECT_EQ(got.name, "cells");
  EXPECT_EQ(got.description, "HeLa, 40x");
  EXPECT_EQ(got.owner_id, 7);
  EXPECT_EQ(got.created_at, created.created_at);

  EXPECT_NE(NewDataset("second").id, created.id);
}

TEST_P(StoreConformanceTest, CreateDatasetRejectsAnEmptyName) {
  EXPECT_EQ(StatusOf(store_->CreateDataset(DatasetRecord{})).code(), StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, ValuesWithQuotesAreStoredVerbatim) {
  const std::string name = "x'); DROP TABLE datasets; --\"";
  const int64_t id = NewDataset(name).id;
  ASSERT_OK_AND_ASSIGN(DatasetRecord got, store_->GetDataset(id));
  EXPECT_EQ(got.name, name);
  ASSERT_OK_AND_ASSIGN(FileRecord f, store_->AddFile(Source(id, "it's \"a\".png", Sha(1))));
  EXPECT_EQ(f.filename, "it's \"a\".png");
  ASSERT_OK_AND_ASSIGN(auto all, store_->ListDatasets(std::nullopt));
  EXPECT_EQ(all.size(), 1u);
}

TEST_P(StoreConformanceTest, ListDatasetsIsNewestFirstAndFiltersByOwner) {
  const int64_t a = NewDataset("a", 1).id;
  Advance(10);
  const int64_t b = NewDataset("b", 2).id;
  Advance(10);
  const int64_t c = NewDataset("c", 1).id;
  const int64_t d = NewDataset("d", 1).id;  // same time as c: the later id first

  ASSERT_OK_AND_ASSIGN(auto all, store_->ListDatasets(std::nullopt));
  std::vector<int64_t> ids;
  for (const auto& ds : all) ids.push_back(ds.id);
  EXPECT_EQ(ids, (std::vector<int64_t>{d, c, b, a}));

  ASSERT_OK_AND_ASSIGN(auto owner1, store_->ListDatasets(1));
  ids.clear();
  for (const auto& ds : owner1) ids.push_back(ds.id);
  EXPECT_EQ(ids, (std::vector<int64_t>{d, c, a}));

  ASSERT_OK_AND_ASSIGN(auto owner3, store_->ListDatasets(3));
  EXPECT_TRUE(owner3.empty());
}

TEST_P(StoreConformanceTest, DatasetCountsOnlyItsOwnSourceFiles) {
  const int64_t ds = NewDataset("ds").id;
  const int64_t other = NewDataset("other").id;
  NewFile(Source(ds, "a.png", Sha(1), 10));
  NewFile(Source(ds, "b.png", Sha(2), 32));
  NewFile(Source(other, "c.png", Sha(3), 1000));
  const int64_t job = NewJob(ds).id;
  FileRecord out = Output("preview", Sha(4));
  out.job_id = job;
  NewFile(out);  // an output of the dataset's job is not one of its files

  ASSERT_OK_AND_ASSIGN(DatasetRecord got, store_->GetDataset(ds));
  EXPECT_EQ(got.file_count, 2);
  EXPECT_EQ(got.total_bytes, 42);
  ASSERT_OK_AND_ASSIGN(auto listed, store_->ListDatasets(std::nullopt));
  for (const auto& d : listed) {
    if (d.id == ds) {
      EXPECT_EQ(d.file_count, 2);
    }
    if (d.id == other) {
      EXPECT_EQ(d.total_bytes, 1000);
    }
  }
}

// --- unknown ids ---

TEST_P(StoreConformanceTest, UnknownIdsAreNotFoundNamingKindAndId) {
  auto expect_not_found = [](const Status& s, const std::string& what) {
    EXPECT_EQ(s.code(), StatusCode::kNotFound) << s;
    EXPECT_NE(std::string(s.message()).find(what), std::string::npos) << s;
  };
  expect_not_found(StatusOf(store_->GetDataset(4242)), "dataset 4242");
  expect_not_found(StatusOf(store_->DeleteDataset(4242)), "dataset 4242");
  expect_not_found(StatusOf(store_->ListDatasetFiles(4242)), "dataset 4242");
  expect_not_found(StatusOf(store_->AddFile(Source(4242, "a.png", Sha(1)))), "dataset 4242");
  FileRecord out = Output("preview", Sha(1));
  out.job_id = 4343;
  expect_not_found(StatusOf(store_->AddFile(out)), "job 4343");
  expect_not_found(StatusOf(store_->GetFile(4242)), "file 4242");
  JobRecord job;
  job.dataset_id = 4242;
  job.kind = "segment";
  expect_not_found(StatusOf(store_->CreateJob(job)), "dataset 4242");
  expect_not_found(StatusOf(store_->GetJob(4343)), "job 4343");
  expect_not_found(StatusOf(store_->ListJobResults(4343)), "job 4343");
  expect_not_found(store_->RenewJobLease(4343, "w", 1000), "job 4343");
  expect_not_found(store_->FinishJob(4343, "w", JobStatus::kCompleted, "", "{}"), "job 4343");
  expect_not_found(store_->ReleaseJob(4343, "w"), "job 4343");
  expect_not_found(store_->UpdateJobProgress(4343, "w", 0, 1, "{}"), "job 4343");
  expect_not_found(StatusOf(store_->CancelJob(4343)), "job 4343");
  expect_not_found(StatusOf(store_->AddJobResult(Result(4343, 1), {}, "w")), "job 4343");
}

// --- files ---

TEST_P(StoreConformanceTest, AddFileStoresEveryField) {
  const int64_t ds = NewDataset("ds").id;
  FileRecord f = Source(ds, "scan.tif", Sha(0xabc), 123456);
  f.owner_id = 3;
  f.content_type = "image/tiff";
  f.width = 640;
  f.height = 480;
  f.channels = 3;
  f.bit_depth = 16;
  f.pages = 4;
  f.sample_type = "uint16";
  ASSERT_OK_AND_ASSIGN(FileRecord added, store_->AddFile(f));
  EXPECT_GT(added.id, 0);
  EXPECT_EQ(added.created_at, Now());
  ASSERT_OK_AND_ASSIGN(FileRecord got, store_->GetFile(added.id));
  EXPECT_EQ(got.id, added.id);
  EXPECT_EQ(got.owner_id, 3);
  EXPECT_EQ(got.dataset_id, ds);
  EXPECT_EQ(got.job_id, 0);
  EXPECT_EQ(got.result_id, 0);
  EXPECT_EQ(got.role, "source");
  EXPECT_EQ(got.filename, "scan.tif");
  EXPECT_EQ(got.content_type, "image/tiff");
  EXPECT_EQ(got.sha256, Sha(0xabc));
  EXPECT_EQ(got.size, 123456);
  EXPECT_EQ(got.width, 640);
  EXPECT_EQ(got.height, 480);
  EXPECT_EQ(got.channels, 3);
  EXPECT_EQ(got.bit_depth, 16);
  EXPECT_EQ(got.pages, 4);
  EXPECT_EQ(got.sample_type, "uint16");
  EXPECT_EQ(got.created_at, added.created_at);
}

TEST_P(StoreConformanceTest, AddFileMakesSourceNamesUniqueWithinTheDataset) {
  const int64_t ds = NewDataset("ds").id;
  const int64_t other = NewDataset("other").id;
  auto add = [&](int64_t dataset, const std::string& name) {
    return NewFile(Source(dataset, name, Sha(1))).filename;
  };
  EXPECT_EQ(add(ds, "a.png"), "a.png");
  EXPECT_EQ(add(ds, "a.png"), "a_1.png");
  EXPECT_EQ(add(ds, "a.png"), "a_2.png");
  EXPECT_EQ(add(ds, "a_1.png"), "a_1_1.png");  // "a_1.png" is taken itself
  EXPECT_EQ(add(other, "a.png"), "a.png");     // names are per dataset

  // The first free number, not one past the highest.
  EXPECT_EQ(add(ds, "b_2.png"), "b_2.png");
  EXPECT_EQ(add(ds, "b.png"), "b.png");
  EXPECT_EQ(add(ds, "b.png"), "b_1.png");
  EXPECT_EQ(add(ds, "b.png"), "b_3.png");

  EXPECT_EQ(add(ds, "README"), "README");
  EXPECT_EQ(add(ds, "README"), "README_1");
  EXPECT_EQ(add(ds, ".hidden"), ".hidden");
  EXPECT_EQ(add(ds, ".hidden"), ".hidden_1");
  EXPECT_EQ(add(ds, "scan.tar.gz"), "scan.tar.gz");
  EXPECT_EQ(add(ds, "scan.tar.gz"), "scan.tar_1.gz");
  // Names that merely look numbered do not count as taken numbers.
  EXPECT_EQ(add(ds, "c_01.png"), "c_01.png");
  EXPECT_EQ(add(ds, "c_x.png"), "c_x.png");
  EXPECT_EQ(add(ds, "c.png"), "c.png");
  EXPECT_EQ(add(ds, "c.png"), "c_1.png");

  ASSERT_OK_AND_ASSIGN(auto files, store_->ListDatasetFiles(ds));
  std::vector<std::string> names;
  for (const auto& f : files) names.push_back(f.filename);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end()) << "duplicate name";
}

TEST_P(StoreConformanceTest, AddSourceFileOnceKeepsOneRecordPerNameAndContent) {
  const int64_t ds = NewDataset("ds").id;
  const int64_t other = NewDataset("other").id;
  ASSERT_OK_AND_ASSIGN(Store::AddedFile first,
                       store_->AddSourceFileOnce(Source(ds, "a.png", Sha(1))));
  EXPECT_TRUE(first.added);
  EXPECT_EQ(first.file.filename, "a.png");
  // The same bytes under the same name (an upload sent again): the file already there.
  ASSERT_OK_AND_ASSIGN(Store::AddedFile again,
                       store_->AddSourceFileOnce(Source(ds, "a.png", Sha(1))));
  EXPECT_FALSE(again.added);
  EXPECT_EQ(again.file.id, first.file.id);
  EXPECT_EQ(again.file.filename, "a.png");
  // Other bytes under that name: another file, its name made unique.
  ASSERT_OK_AND_ASSIGN(Store::AddedFile other_bytes,
                       store_->AddSourceFileOnce(Source(ds, "b.png", Sha(2))));
  ASSERT_OK_AND_ASSIGN(Store::AddedFile clash,
                       store_->AddSourceFileOnce(Source(ds, "b.png", Sha(3))));
  EXPECT_TRUE(clash.added);
  EXPECT_EQ(clash.file.filename, "b_1.png");
  // ... and that one sent again is found under the name it was given.
  ASSERT_OK_AND_ASSIGN(Store::AddedFile clash_again,
                       store_->AddSourceFileOnce(Source(ds, "b.png", Sha(3))));
  EXPECT_FALSE(clash_again.added);
  EXPECT_EQ(clash_again.file.id, clash.file.id);
  EXPECT_EQ(other_bytes.file.filename, "b.png");
  // The same bytes under another name, or in another dataset, are other files.
  ASSERT_OK_AND_ASSIGN(Store::AddedFile renamed,
                       store_->AddSourceFileOnce(Source(ds, "c.png", Sha(1))));
  EXPECT_TRUE(renamed.added);
  ASSERT_OK_AND_ASSIGN(Store::AddedFile elsewhere,
                       store_->AddSourceFileOnce(Source(other, "a.png", Sha(1))));
  EXPECT_TRUE(elsewhere.added);
  ASSERT_OK_AND_ASSIGN(auto files, store_->ListDatasetFiles(ds));
  EXPECT_EQ(files.size(), 4u);
  // Only source files; unknown datasets as AddFile.
  FileRecord output = Output("preview", Sha(4));
  EXPECT_EQ(StatusOf(store_->AddSourceFileOnce(output)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusOf(store_->AddSourceFileOnce(Source(4343, "a.png", Sha(1)))).code(),
            StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, RetryJobRequeuesAFailedJobAndKeepsItsResults) {
  const int64_t ds = NewDataset("ds").id;
  const FileRecord a = NewFile(Source(ds, "a.png", Sha(1)));
  NewFile(Source(ds, "b.png", Sha(2)));
  const int64_t id = NewJob(ds, 1).id;
  ClaimExpecting(id, "w");
  ASSERT_OK(store_->AddJobResult(Result(id, a.id), {}, "w").status());
  ASSERT_OK(store_->FinishJob(id, "w", JobStatus::kFailed, "out of disk space", R"({"x":1})"));
  ASSERT_OK_AND_ASSIGN(JobRecord retried, store_->RetryJob(id));
  EXPECT_EQ(retried.status, JobStatus::kQueued);
  EXPECT_EQ(retried.note, "");
  EXPECT_EQ(retried.done, 1);
  EXPECT_EQ(retried.finished_at, 0);
  ASSERT_OK_AND_ASSIGN(auto results, store_->ListJobResults(id));
  EXPECT_EQ(results.size(), 1u);
  ClaimExpecting(id, "w2");
  // Only a failed job: a running, completed or canceled one is not retried.
  EXPECT_EQ(StatusOf(store_->RetryJob(id)).code(), StatusCode::kFailedPrecondition);
  ASSERT_OK(store_->FinishJob(id, "w2", JobStatus::kCompleted, "", "{}"));
  EXPECT_EQ(StatusOf(store_->RetryJob(id)).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(StatusOf(store_->RetryJob(4343)).code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, AddFileRejectsMalformedRecords) {
  const int64_t ds = NewDataset("ds").id;
  const int64_t job = NewJob(ds).id;
  auto expect_invalid = [&](FileRecord f, const std::string& why) {
    EXPECT_EQ(StatusOf(store_->AddFile(f)).code(), StatusCode::kInvalidArgument) << why;
  };
  for (std::string bad : {std::string("../../etc/passwd"), Sha(1).substr(1), std::string(64, 'A'),
                          std::string(64, 'g'), std::string()}) {
    expect_invalid(Source(ds, "a.png", bad), "sha256 '" + bad + "'");
  }
  expect_invalid(Source(ds, "", Sha(1)), "empty filename");
  expect_invalid(Source(ds, "a.png", Sha(1), -1), "negative size");
  FileRecord f = Source(ds, "a.png", Sha(1));
  f.role = "";
  expect_invalid(f, "empty role");
  f.role = "../mask";
  expect_invalid(f, "a role that is not a name");
  f = Source(0, "a.png", Sha(1));
  expect_invalid(f, "source without dataset");
  f = Source(ds, "a.png", Sha(1));
  f.job_id = job;
  expect_invalid(f, "source with a job");
  f = Output("class_mask", Sha(1));
  expect_invalid(f, "output without job");
  f.job_id = job;
  f.dataset_id = ds;
  expect_invalid(f, "output with a dataset");

  ASSERT_OK_AND_ASSIGN(auto files, store_->ListDatasetFiles(ds));
  EXPECT_TRUE(files.empty());
}

TEST_P(StoreConformanceTest, ListDatasetFilesIsTheDatasetsSourcesById) {
  const int64_t ds = NewDataset("ds").id;
  const int64_t other = NewDataset("other").id;
  const int64_t f1 = NewFile(Source(ds, "z.png", Sha(1))).id;
  NewFile(Source(other, "x.png", Sha(2)));
  const int64_t f2 = NewFile(Source(ds, "a.png", Sha(3))).id;
  FileRecord out = Output("class_mask", Sha(4));
  out.job_id = NewJob(ds).id;
  NewFile(out);

  ASSERT_OK_AND_ASSIGN(auto files, store_->ListDatasetFiles(ds));
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].id, f1);
  EXPECT_EQ(files[0].filename, "z.png");
  EXPECT_EQ(files[1].id, f2);
  ASSERT_OK_AND_ASSIGN(auto none, store_->ListDatasetFiles(NewDataset("empty").id));
  EXPECT_TRUE(none.empty());
}

TEST_P(StoreConformanceTest, BlobReferencedFollowsFileRecords) {
  ASSERT_OK_AND_ASSIGN(bool before, store_->BlobReferenced(Sha(9)));
  EXPECT_FALSE(before);
  NewFile(Source(NewDataset("ds").id, "a.png", Sha(9)));
  ASSERT_OK_AND_ASSIGN(bool after, store_->BlobReferenced(Sha(9)));
  EXPECT_TRUE(after);
  ASSERT_OK_AND_ASSIGN(bool other, store_->BlobReferenced(Sha(10)));
  EXPECT_FALSE(other);
}

// --- deleting datasets ---

TEST_P(StoreConformanceTest, DeleteDatasetCascadesToFilesJobsAndResults) {
  const int64_t ds = NewDataset("ds").id;
  const int64_t keep = NewDataset("keep").id;
  const int64_t src = NewFile(Source(ds, "a.png", Sha(1))).id;
  const int64_t kept_src = NewFile(Source(keep, "a.png", Sha(2))).id;
  const int64_t job = NewJob(ds).id;
  const int64_t kept_job = NewJob(keep).id;
  ClaimExpecting(job, "w");
  ASSERT_OK_AND_ASSIGN(auto result,
                       store_->AddJobResult(Result(job, src), {Output("preview", Sha(3))}, "w"));

  ASSERT_OK(store_->DeleteDataset(ds).status());

  EXPECT_EQ(StatusOf(store_->GetDataset(ds)).code(), StatusCode::kNotFound);
  EXPECT_EQ(StatusOf(store_->GetFile(src)).code(), StatusCode::kNotFound);
  EXPECT_EQ(StatusOf(store_->GetFile(result.FileId("preview"))).code(), StatusCode::kNotFound);
  EXPECT_EQ(StatusOf(store_->GetJob(job)).code(), StatusCode::kNotFound);
  EXPECT_EQ(StatusOf(store_->ListJobResults(job)).code(), StatusCode::kNotFound);
  EXPECT_EQ(StatusOf(store_->DeleteDataset(ds)).code(), StatusCode::kNotFound);

  ASSERT_OK(store_->GetDataset(keep).status());
  ASSERT_OK(store_->GetFile(kept_src).status());
  ASSERT_OK(store_->GetJob(kept_job).status());
  ASSERT_OK_AND_ASSIGN(auto listed, store_->ListJobs(JobFilter{}));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id, kept_job);
}

TEST_P(StoreConformanceTest, DeleteDatasetReturnsOnlyBlobsNoLongerReferenced) {
  const int64_t ds = NewDataset("ds").id;
  const int64_t other = NewDataset("other").id;
  const int64_t src = NewFile(Source(ds, "a.png", Sha(1))).id;
  NewFile(Source(ds, "copy.png", Sha(1)));    // same content twice: reported once
  NewFile(Source(ds, "shared.png", Sha(2)));  // also in `other`: still referenced
  NewFile(Source(other, "shared.png", Sha(2)));
  const int64_t job = NewJob(ds).id;
  ClaimExpecting(job, "w");
  // Outputs: one only this job has, one whose content is also a file of `other`.
  ASSERT_OK(store_
                ->AddJobResult(Result(job, src),
                               {Output("class_mask", Sha(5)), Output("preview", Sha(2))}, "w")
                .status());

  ASSERT_OK_AND_ASSIGN(std::vector<std::string> unreferenced, store_->DeleteDataset(ds));
  std::sort(unreferenced.begin(), unreferenced.end());
  EXPECT_EQ(unreferenced, (std::vector<std::string>{Sha(1), Sha(5)}));

  ASSERT_OK_AND_ASSIGN(bool shared, store_->BlobReferenced(Sha(2)));
  EXPECT_TRUE(shared);
  ASSERT_OK_AND_ASSIGN(bool gone, store_->BlobReferenced(Sha(1)));
  EXPECT_FALSE(gone);

  ASSERT_OK_AND_ASSIGN(std::vector<std::string> last, store_->DeleteDataset(other));
  EXPECT_EQ(last, (std::vector<std::string>{Sha(2)}));
}

// --- blob lifetime ---

TEST_P(StoreConformanceTest, SweepRemovesOnlyBlobsNoFileReferencesAndNoPinHolds) {
  const int64_t ds = NewDataset("ds").id;
  const int64_t other = NewDataset("other").id;
  NewFile(Source(ds, "a.png", Sha(1)));
  NewFile(Source(other, "b.png", Sha(2)));
  ASSERT_OK_AND_ASSIGN(int64_t held, store_->PinBlob(Sha(3), 10, 60'000));  // being written
  ASSERT_OK_AND_ASSIGN(int64_t released, store_->PinBlob(Sha(4), 10, 60'000));
  ASSERT_OK(store_->UnpinBlob(released));
  ASSERT_OK(store_->UnpinBlob(released));  // twice: still OK
  ASSERT_OK(store_->DeleteDataset(ds).status());

  std::vector<std::string> removed_bytes;
  auto remove = [&](const std::string& sha) {
    removed_bytes.push_back(sha);
    return absl::OkStatus();
  };
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> removed, store_->SweepBlobs(std::nullopt, remove));
  EXPECT_EQ(removed, (std::vector<std::string>{Sha(1), Sha(4)}));
  EXPECT_EQ(removed_bytes, removed);
  // Nothing left to do, until the held pin expires (its writer died).
  ASSERT_OK_AND_ASSIGN(removed, store_->SweepBlobs(std::nullopt, remove));
  EXPECT_TRUE(removed.empty());
  Advance(60'001);
  ASSERT_OK_AND_ASSIGN(removed, store_->SweepBlobs(std::nullopt, remove));
  EXPECT_EQ(removed, (std::vector<std::string>{Sha(3)}));
  (void)held;
}

TEST_P(StoreConformanceTest, SweepOfGivenBlobsAndAFailedRemovalKeepsTheBlobRegistered) {
  const int64_t ds = NewDataset("ds").id;
  NewFile(Source(ds, "a.png", Sha(1)));
  NewFile(Source(ds, "b.png", Sha(2)));
  ASSERT_OK(store_->DeleteDataset(ds).status());
  auto ok = [](const std::string&) { return absl::OkStatus(); };
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> removed,
                       store_->SweepBlobs(std::vector<std::string>{Sha(2), Sha(2), Sha(7)}, ok));
  EXPECT_EQ(removed, (std::vector<std::string>{Sha(2)}));  // Sha(7): never registered
  auto fail = [](const std::string&) { return absl::InternalError("disk gone"); };
  EXPECT_EQ(StatusOf(store_->SweepBlobs(std::nullopt, fail)).code(), StatusCode::kInternal);
  ASSERT_OK_AND_ASSIGN(removed, store_->SweepBlobs(std::nullopt, ok));
  EXPECT_EQ(removed, (std::vector<std::string>{Sha(1)}));
}

TEST_P(StoreConformanceTest, PinBlobRefusesBadNamesAndLeases) {
  EXPECT_EQ(StatusOf(store_->PinBlob("../../etc/passwd", 1, 1000)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusOf(store_->PinBlob(Sha(1), 1, 0)).code(), StatusCode::kInvalidArgument);
}

// --- jobs ---

TEST_P(StoreConformanceTest, CreateJobQueuesWithTheDatasetsFileCount) {
  const int64_t ds = NewDataset("ds").id;
  NewFile(Source(ds, "a.png", Sha(1)));
  NewFile(Source(ds, "b.png", Sha(2)));
  JobRecord j;
  j.kind = "segment";
  j.owner_id = 5;
  j.dataset_id = ds;
  j.spec_json = R"({"model":"seg","tile":512})";
  j.status = JobStatus::kRunning;  // ignored: new jobs are queued
  j.done = 3;                      // ignored
  j.lease_owner = "w";
  j.attempts = 4;
  ASSERT_OK_AND_ASSIGN(JobRecord created, store_->CreateJob(j));
  EXPECT_GT(created.id, 0);
  EXPECT_EQ(created.owner_id, 5);
  EXPECT_EQ(created.dataset_id, ds);
  EXPECT_EQ(created.kind, "segment");
  EXPECT_EQ(created.spec_json, R"({"model":"seg","tile":512})");
  EXPECT_EQ(created.status, JobStatus::kQueued);
  EXPECT_EQ(created.total, 2);
  EXPECT_EQ(created.done, 0);
  EXPECT_EQ(created.failed_items, 0);
  EXPECT_FALSE(created.cancel_requested);
  EXPECT_EQ(created.created_at, Now());
  EXPECT_EQ(created.started_at, 0);
  EXPECT_EQ(created.finished_at, 0);
  EXPECT_EQ(created.lease_owner, "");
  EXPECT_EQ(created.lease_expires_at, 0);
  EXPECT_EQ(created.attempts, 0);

  ASSERT_OK_AND_ASSIGN(JobRecord got, store_->GetJob(created.id));
  EXPECT_EQ(got.total, 2);
  EXPECT_EQ(got.spec_json, R"({"model":"seg","tile":512})");
  EXPECT_EQ(got.status, JobStatus::kQueued);

  // A total given is kept; a job without a dataset keeps its own.
  j.total = 77;
  ASSERT_OK_AND_ASSIGN(JobRecord given, store_->CreateJob(j));
  EXPECT_EQ(given.total, 77);
  JobRecord free_standing;
  free_standing.kind = "retrain";
  free_standing.total = 5;
  ASSERT_OK_AND_ASSIGN(JobRecord alone, store_->CreateJob(free_standing));
  EXPECT_EQ(alone.dataset_id, 0);
  EXPECT_EQ(alone.total, 5);
  EXPECT_EQ(alone.spec_json, "{}");

  j.kind = "";
  EXPECT_EQ(StatusOf(store_->CreateJob(j)).code(), StatusCode::kInvalidArgument);
  j.kind = "segment";
  for (const char* bad : {"[1,2]", "not json", "3"}) {
    j.spec_json = bad;
    EXPECT_EQ(StatusOf(store_->CreateJob(j)).code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST_P(StoreConformanceTest, ClaimTakesOnlyTheKindsAsked) {
  const int64_t ds = NewDataset("ds").id;
  JobRecord a;
  a.kind = "alpha";
  a.dataset_id = ds;
  ASSERT_OK_AND_ASSIGN(JobRecord first, store_->CreateJob(a));
  Advance(1);
  JobRecord b;
  b.kind = "beta";
  ASSERT_OK_AND_ASSIGN(JobRecord second, store_->CreateJob(b));
  ASSERT_OK_AND_ASSIGN(auto none, store_->ClaimJob("w", 1000, {"gamma"}));
  EXPECT_FALSE(none.has_value());
  ASSERT_OK_AND_ASSIGN(auto beta, store_->ClaimJob("w", 1000, {"beta", "gamma"}));
  ASSERT_TRUE(beta.has_value());
  EXPECT_EQ(beta->id, second.id);  // the older alpha job is not of the kinds asked
  ASSERT_OK_AND_ASSIGN(auto any, store_->ClaimJob("w2", 1000, {}));
  ASSERT_TRUE(any.has_value());
  EXPECT_EQ(any->id, first.id);

  JobFilter filter;
  filter.kind = "beta";
  ASSERT_OK_AND_ASSIGN(auto listed, store_->ListJobs(filter));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id, second.id);
}

TEST_P(StoreConformanceTest, ListInferencesFiltersNewestFirstAndPages) {
  const int64_t ds1 = NewDataset("one").id;
  const int64_t ds2 = NewDataset("two").id;
  const int64_t j1 = NewJob(ds1, 1).id;
  Advance(1);
  const int64_t j2 = NewJob(ds2, 1).id;
  Advance(1);
  const int64_t j3 = NewJob(ds1, 2).id;
  Advance(1);
  const int64_t j4 = NewJob(ds1, 1).id;
  ClaimExpecting(j1, "w");
  ASSERT_OK(store_->CancelJob(j2).status());

  auto ids = [&](const JobFilter& f) {
    std::vector<int64_t> out;
    auto listed = store_->ListJobs(f);
    EXPECT_TRUE(listed.ok()) << listed.status();
    if (listed.ok()) {
      for (const auto& j : *listed) out.push_back(j.id);
    }
    return out;
  };
  using V = std::vector<int64_t>;
  // A filter with the fields `set` sets.
  auto filter = [](const std::function<void(JobFilter&)>& set) {
    JobFilter f;
    set(f);
    return f;
  };
  EXPECT_EQ(ids({}), (V{j4, j3, j2, j1}));
  EXPECT_EQ(ids(filter([&](auto& f) { f.dataset_id = ds1; })), (V{j4, j3, j1}));
  EXPECT_EQ(ids(filter([](auto& f) { f.status = JobStatus::kQueued; })), (V{j4, j3}));
  EXPECT_EQ(ids(filter([](auto& f) { f.status = JobStatus::kRunning; })), (V{j1}));
  EXPECT_EQ(ids(filter([](auto& f) { f.status = JobStatus::kCanceled; })), (V{j2}));
  EXPECT_EQ(ids(filter([](auto& f) { f.status = JobStatus::kCompleted; })), V{});
  EXPECT_EQ(ids(filter([](auto& f) { f.owner_id = 1; })), (V{j4, j2, j1}));
  EXPECT_EQ(ids(filter([&](auto& f) {
              f.dataset_id = ds1;
              f.status = JobStatus::kQueued;
              f.owner_id = 1;
            })),
            (V{j4}));
  EXPECT_EQ(ids(filter([](auto& f) { f.limit = 2; })), (V{j4, j3}));
  EXPECT_EQ(ids(filter([](auto& f) {
              f.limit = 2;
              f.offset = 2;
            })),
            (V{j2, j1}));
  EXPECT_EQ(ids(filter([](auto& f) {
              f.limit = 2;
              f.offset = 4;
            })),
            V{});

  EXPECT_EQ(StatusOf(store_->ListJobs(filter([](auto& f) { f.limit = 0; }))).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusOf(store_->ListJobs(filter([](auto& f) { f.offset = -1; }))).code(),
            StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, ClaimTakesTheOldestQueuedJobAndSetsItsLease) {
  const int64_t ds = NewDataset("ds").id;
  const int64_t first = NewJob(ds).id;
  Advance(5);
  const int64_t second = NewJob(ds).id;
  Advance(5);

  ASSERT_OK_AND_ASSIGN(auto claimed, store_->ClaimJob("w1", 30'000, {}));
  ASSERT_TRUE(claimed.has_value());
  EXPECT_EQ(claimed->id, first);
  EXPECT_EQ(claimed->status, JobStatus::kRunning);
  EXPECT_EQ(claimed->lease_owner, "w1");
  EXPECT_EQ(claimed->lease_expires_at, Now() + 30'000);
  EXPECT_EQ(claimed->attempts, 1);
  EXPECT_EQ(claimed->started_at, Now());
  EXPECT_EQ(claimed->kind, "segment");
  EXPECT_EQ(claimed->spec_json, R"({"model":"seg","tile":256})");

  JobRecord stored = Job(first);
  EXPECT_EQ(stored.status, JobStatus::kRunning);
  EXPECT_EQ(stored.lease_owner, "w1");
  EXPECT_EQ(stored.lease_expires_at, Now() + 30'000);

  ClaimExpecting(second, "w2");
  ExpectNothingToClaim("w3");
}

TEST_P(StoreConformanceTest, ClaimRejectsBadArguments) {
  NewJob(NewDataset("ds").id);
  EXPECT_EQ(StatusOf(store_->ClaimJob("", 1000, {})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusOf(store_->ClaimJob("w", 0, {})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusOf(store_->ClaimJob("w", -5, {})).code(), StatusCode::kInvalidArgument);
  ClaimExpecting(1, "w");  // nothing was claimed by the failed calls
}

TEST_P(StoreConformanceTest, ExpiredLeaseIsTakenOverAndTheOldWorkerLosesTheJob) {
  const int64_t ds = NewDataset("ds").id;
  const int64_t src = NewFile(Source(ds, "a.png", Sha(1))).id;
  const int64_t job = NewJob(ds).id;
  ClaimExpecting(job, "w1", 1000);
  const int64_t started = Now();

  Advance(1000);  // at the expiry instant the lease still holds
  ExpectNothingToClaim("w2");
  Advance(1);
  ClaimExpecting(job, "w2", 1000);
  JobRecord taken = Job(job);
  EXPECT_EQ(taken.lease_owner, "w2");
  EXPECT_EQ(taken.attempts, 2);
  EXPECT_EQ(taken.started_at, started);  // the first claim's
  EXPECT_EQ(taken.lease_expires_at, Now() + 1000);

  EXPECT_EQ(store_->RenewJobLease(job, "w1", 1000).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->FinishJob(job, "w1", JobStatus::kCompleted, "", "{}").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->ReleaseJob(job, "w1").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(StatusOf(store_->AddJobResult(Result(job, src), {}, "w1")).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(Job(job).lease_owner, "w2");
  EXPECT_EQ(Job(job).done, 0);

  ASSERT_OK(store_->AddJobResult(Result(job, src), {}, "w2").status());
  ASSERT_OK(store_->FinishJob(job, "w2", JobStatus::kCompleted, "", "{}"));
}

TEST_P(StoreConformanceTest, ExpiredLeaseStillBelongsToItsWorkerUntilTakenOver) {
  const int64_t job = NewJob(NewDataset("ds").id).id;
  ClaimExpecting(job, "w1", 1000);
  Advance(5000);
  ASSERT_OK(store_->RenewJobLease(job, "w1", 1000));
  EXPECT_EQ(Job(job).lease_expires_at, Now() + 1000);
  ExpectNothingToClaim("w2");
}

TEST_P(StoreConformanceTest, RenewLeaseExtendsTheLeaseOnlyForItsHolder) {
  const int64_t job = NewJob(NewDataset("ds").id).id;
  ClaimExpecting(job, "w1", 1000);
  Advance(900);
  ASSERT_OK(store_->RenewJobLease(job, "w1", 1000));
  EXPECT_EQ(Job(job).lease_expires_at, Now() + 1000);
  Advance(900);  // past the first lease, within the renewed one
  ExpectNothingToClaim("w2");

  EXPECT_EQ(store_->RenewJobLease(job, "w2", 1000).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->RenewJobLease(job, "w1", 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Job(job).lease_owner, "w1");

  const int64_t queued = NewJob(NewDataset("ds2").id).id;
  EXPECT_EQ(store_->RenewJobLease(queued, "w1", 1000).code(), StatusCode::kFailedPrecondition);
}

TEST_P(StoreConformanceTest, FinishInferenceEndsTheJobAndClearsTheLease) {
  const int64_t ds = NewDataset("ds").id;
  const int64_t job = NewJob(ds).id;
  ClaimExpecting(job, "w");
  Advance(50);
  EXPECT_EQ(store_->FinishJob(job, "w", JobStatus::kRunning, "", "{}").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->FinishJob(job, "w", JobStatus::kQueued, "", "{}").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->FinishJob(job, "other", JobStatus::kCompleted, "", "{}").code(),
            StatusCode::kFailedPrecondition);

  ASSERT_OK(store_->FinishJob(job, "w", JobStatus::kFailed, "model crashed", R"({"total_ms":12})"));
  JobRecord done = Job(job);
  EXPECT_EQ(done.status, JobStatus::kFailed);
  EXPECT_EQ(done.note, "model crashed");
  EXPECT_EQ(done.report_json, R"({"total_ms":12})");
  EXPECT_EQ(done.finished_at, Now());
  EXPECT_EQ(done.lease_owner, "");
  EXPECT_EQ(done.lease_expires_at, 0);

  EXPECT_EQ(store_->FinishJob(job, "w", JobStatus::kCompleted, "", "{}").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->RenewJobLease(job, "w", 1000).code(), StatusCode::kFailedPrecondition);
  Advance(100'000);
  ExpectNothingToClaim("w2");  // terminal jobs are never claimed
  EXPECT_EQ(Job(job).status, JobStatus::kFailed);
}

TEST_P(StoreConformanceTest, ReleaseInferenceRequeuesTheJob) {
  const int64_t job = NewJob(NewDataset("ds").id).id;
  ClaimExpecting(job, "w1");
  const int64_t started = Now();
  EXPECT_EQ(store_->ReleaseJob(job, "w2").code(), StatusCode::kFailedPrecondition);
  ASSERT_OK(store_->ReleaseJob(job, "w1"));
  JobRecord released = Job(job);
  EXPECT_EQ(released.status, JobStatus::kQueued);
  EXPECT_EQ(released.lease_owner, "");
  EXPECT_EQ(released.lease_expires_at, 0);
  EXPECT_EQ(released.attempts, 1);
  EXPECT_EQ(store_->ReleaseJob(job, "w1").code(), StatusCode::kFailedPrecondition);

  Advance(10);
  ClaimExpecting(job, "w2");  // at once: no lease to wait out
  EXPECT_EQ(Job(job).attempts, 2);
  EXPECT_EQ(Job(job).started_at, started);
}

TEST_P(StoreConformanceTest, UpdateJobProgressRecordsCountersAndReportForItsHolder) {
  JobRecord spec;
  spec.kind = "retraining";
  spec.total = 20;
  ASSERT_OK_AND_ASSIGN(JobRecord created, store_->CreateJob(spec));
  const int64_t job = created.id;
  // Only the worker holding the job writes its progress.
  EXPECT_EQ(store_->UpdateJobProgress(job, "w1", 1, 20, "{}").code(),
            StatusCode::kFailedPrecondition);
  ClaimExpecting(job, "w1");
  EXPECT_EQ(store_->UpdateJobProgress(job, "w2", 1, 20, "{}").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->UpdateJobProgress(job, "w1", 3, 2, "{}").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->UpdateJobProgress(job, "w1", -1, 2, "{}").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->UpdateJobProgress(job, "w1", 1, 2, "[1]").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->UpdateJobProgress(job, "w1", 1, 2, "{").code(), StatusCode::kInvalidArgument);

  ASSERT_OK(store_->UpdateJobProgress(job, "w1", 4, 10, R"({"epochs":[1,2,3,4]})"));
  JobRecord running = Job(job);
  EXPECT_EQ(running.status, JobStatus::kRunning);
  EXPECT_EQ(running.done, 4);
  EXPECT_EQ(running.total, 10);
  EXPECT_EQ(running.report_json, R"({"epochs":[1,2,3,4]})");
  EXPECT_EQ(running.lease_owner, "w1");

  // Released (or taken over after a crash), the job keeps what it recorded.
  ASSERT_OK(store_->ReleaseJob(job, "w1"));
  JobRecord released = Job(job);
  EXPECT_EQ(released.done, 4);
  EXPECT_EQ(released.report_json, R"({"epochs":[1,2,3,4]})");
  ClaimExpecting(job, "w2");
  EXPECT_EQ(Job(job).report_json, R"({"epochs":[1,2,3,4]})");
  ASSERT_OK(store_->FinishJob(job, "w2", JobStatus::kCompleted, "", R"({"final":true})"));
  EXPECT_EQ(Job(job).report_json, R"({"final":true})");
  EXPECT_EQ(store_->UpdateJobProgress(job, "w2", 10, 10, "{}").code(),
            StatusCode::kFailedPrecondition);
}

TEST_P(StoreConformanceTest, CancelingAQueuedJobIsImmediate) {
  const int64_t job = NewJob(NewDataset("ds").id).id;
  Advance(7);
  ASSERT_OK_AND_ASSIGN(JobRecord canceled, store_->CancelJob(job));
  EXPECT_EQ(canceled.status, JobStatus::kCanceled);
  EXPECT_EQ(canceled.finished_at, Now());
  EXPECT_EQ(Job(job).status, JobStatus::kCanceled);
  ExpectNothingToClaim("w");
  EXPECT_EQ(StatusOf(store_->CancelJob(job)).code(), StatusCode::kFailedPrecondition);
}

TEST_P(StoreConformanceTest, CancelingARunningJobAsksItsWorkerToStop) {
  const int64_t ds = NewDataset("ds").id;
  const int64_t src = NewFile(Source(ds, "a.png", Sha(1))).id;
  const int64_t job = NewJob(ds).id;
  ClaimExpecting(job, "w", 1000);
  ASSERT_OK_AND_ASSIGN(JobRecord requested, store_->CancelJob(job));
  EXPECT_EQ(requested.status, JobStatus::kRunning);
  EXPECT_TRUE(requested.cancel_requested);
  EXPECT_EQ(requested.lease_owner, "w");
  EXPECT_TRUE(Job(job).cancel_requested);
  // Asking again changes nothing.
  ASSERT_OK_AND_ASSIGN(JobRecord again, store_->CancelJob(job));
  EXPECT_EQ(again.status, JobStatus::kRunning);

  // The worker still holds the job until it stops.
  ASSERT_OK(store_->RenewJobLease(job, "w", 1000));
  ASSERT_OK(store_->AddJobResult(Result(job, src), {}, "w").status());
  ASSERT_OK(store_->FinishJob(job, "w", JobStatus::kCanceled, "canceled", "{}"));
  EXPECT_EQ(Job(job).status, JobStatus::kCanceled);
  EXPECT_EQ(Job(job).done, 1);
}

TEST_P(StoreConformanceTest, CancelRequestedJobWhoseWorkerDiedIsCanceledNotClaimed) {
  const int64_t ds = NewDataset("ds").id;
  const int64_t doomed = NewJob(ds).id;
  Advance(1);
  const int64_t next = NewJob(ds).id;
  ClaimExpecting(doomed, "w1", 1000);
  ASSERT_OK(store_->CancelJob(doomed).status());
  Advance(1001);  // w1 died

  ClaimExpecting(next, "w2");  // the older, cancel-requested job is skipped
  JobRecord canceled = Job(doomed);
  EXPECT_EQ(canceled.status, JobStatus::kCanceled);
  EXPECT_EQ(canceled.lease_owner, "");
  EXPECT_EQ(canceled.finished_at, Now());
  EXPECT_EQ(canceled.attempts, 1);
  ExpectNothingToClaim("w3");
}

TEST_P(StoreConformanceTest, CancelingAJobWhoseLeaseExpiredIsImmediate) {
  const int64_t job = NewJob(NewDataset("ds").id).id;
  ClaimExpecting(job, "w1", 1000);
  Advance(1001);
  ASSERT_OK_AND_ASSIGN(JobRecord canceled, store_->CancelJob(job));
  EXPECT_EQ(canceled.status, JobStatus::kCanceled);
  EXPECT_EQ(canceled.lease_owner, "");
  EXPECT_EQ(canceled.finished_at, Now());
  ExpectNothingToClaim("w2");
  EXPECT_EQ(store_->FinishJob(job, "w1", JobStatus::kCompleted, "", "{}").code(),
            StatusCode::kFailedPrecondition);
}

TEST_P(StoreConformanceTest, ReleasingACancelRequestedJobCancelsIt) {
  const int64_t job = NewJob(NewDataset("ds").id).id;
  ClaimExpecting(job, "w");
  ASSERT_OK(store_->CancelJob(job).status());
  ASSERT_OK(store_->ReleaseJob(job, "w"));
  EXPECT_EQ(Job(job).status, JobStatus::kCanceled);
  ExpectNothingToClaim("w2");
}

// --- results ---

TEST_P(StoreConformanceTest, AddInferenceResultWritesOutputsResultAndCounters) {
  const int64_t ds = NewDataset("ds", 9).id;
  const int64_t a = NewFile(Source(ds, "a.png", Sha(1))).id;
  const int64_t b = NewFile(Source(ds, "b.png", Sha(2))).id;
  const int64_t job = NewJob(ds, 9).id;
  ClaimExpecting(job, "w");

  FileRecord mask = Output("class_mask", Sha(10));
  mask.width = 64;
  mask.height = 32;
  mask.channels = 1;
  mask.bit_depth = 8;
  mask.sample_type = "uint8";
  JobResultRecord in = Result(job, a);
  in.id = 777;  // set by the store, not taken from the caller
  in.files.push_back(Output("probability", Sha(12)));  // only `outputs` become files
  ASSERT_OK_AND_ASSIGN(JobResultRecord ra,
                       store_->AddJobResult(in, {mask, Output("preview", Sha(11))}, "w"));
  EXPECT_GT(ra.id, 0);
  EXPECT_EQ(ra.job_id, job);
  EXPECT_EQ(ra.source_file_id, a);
  EXPECT_EQ(ra.source_filename, "a.png");
  EXPECT_GT(ra.FileId("class_mask"), 0);
  EXPECT_GT(ra.FileId("preview"), 0);
  EXPECT_NE(ra.id, 777);
  EXPECT_EQ(ra.FileId("instance_mask"), 0);
  EXPECT_EQ(ra.FileId("probability"), 0);
  ASSERT_EQ(ra.files.size(), 2u);
  EXPECT_EQ(ra.created_at, Now());

  ASSERT_OK_AND_ASSIGN(FileRecord stored_mask, store_->GetFile(ra.FileId("class_mask")));
  EXPECT_EQ(stored_mask.role, "class_mask");
  EXPECT_EQ(stored_mask.job_id, job);
  EXPECT_EQ(stored_mask.result_id, ra.id);
  EXPECT_EQ(stored_mask.dataset_id, 0);
  EXPECT_EQ(stored_mask.owner_id, 9);  // the job's owner
  EXPECT_EQ(stored_mask.sha256, Sha(10));
  EXPECT_EQ(stored_mask.width, 64);
  EXPECT_EQ(stored_mask.sample_type, "uint8");
  ASSERT_OK_AND_ASSIGN(FileRecord stored_preview, store_->GetFile(ra.FileId("preview")));
  EXPECT_EQ(stored_preview.role, "preview");
  ASSERT_OK_AND_ASSIGN(bool referenced, store_->BlobReferenced(Sha(11)));
  EXPECT_TRUE(referenced);

  JobRecord after_one = Job(job);
  EXPECT_EQ(after_one.done, 1);
  EXPECT_EQ(after_one.failed_items, 0);

  Advance(3);
  ASSERT_OK_AND_ASSIGN(JobResultRecord rb,
                       store_->AddJobResult(Result(job, b, "cannot decode"), {}, "w"));
  EXPECT_EQ(rb.error, "cannot decode");
  EXPECT_EQ(rb.FileId("class_mask"), 0);
  JobRecord after_two = Job(job);
  EXPECT_EQ(after_two.done, 2);
  EXPECT_EQ(after_two.failed_items, 1);

  // Output files are not source files of the dataset.
  ASSERT_OK_AND_ASSIGN(DatasetRecord d, store_->GetDataset(ds));
  EXPECT_EQ(d.file_count, 2);

  ASSERT_OK_AND_ASSIGN(auto results, store_->ListJobResults(job));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].id, ra.id);
  EXPECT_EQ(results[0].source_file_id, a);
  EXPECT_EQ(results[0].FileId("class_mask"), ra.FileId("class_mask"));
  EXPECT_EQ(results[0].FileId("preview"), ra.FileId("preview"));
  EXPECT_EQ(results[0].summary_json, R"({"classes":3})");
  EXPECT_EQ(results[0].elapsed_ms, 12.5);
  EXPECT_EQ(results[0].created_at, ra.created_at);
  EXPECT_EQ(results[1].id, rb.id);
  EXPECT_EQ(results[1].error, "cannot decode");
  EXPECT_EQ(results[1].source_filename, "b.png");
}

// --- job-level files (AddJobFile / ListJobFiles) ---

FileRecord JobFile(int64_t job_id, const std::string& role, const std::string& filename,
                   const std::string& sha256) {
  FileRecord f;
  f.job_id = job_id;
  f.role = role;
  f.filename = filename;
  f.content_type = "application/dicom";
  f.sha256 = sha256;
  f.size = 7;
  return f;
}

TEST_P(StoreConformanceTest, JobFilesAreOnePerRoleAndNameAndNeedTheLease) {
  const int64_t ds = NewDataset("ds", 4).id;
  const int64_t src = NewFile(Source(ds, "a.dcm", Sha(1))).id;
  const int64_t job = NewJob(ds, 4).id;
  const FileRecord seg = JobFile(job, "dicom_seg", "1.2.3.seg.dcm", Sha(30));
  auto add = [&](const FileRecord& f, const std::string& worker) {
    return StatusOf(store_->AddJobFile(f, worker));
  };
  EXPECT_EQ(add(seg, "w").code(), StatusCode::kFailedPrecondition);  // queued: nobody holds it
  ClaimExpecting(job, "w");
  EXPECT_EQ(add(seg, "intruder").code(), StatusCode::kFailedPrecondition);

  Advance(2);
  ASSERT_OK_AND_ASSIGN(FileRecord added, store_->AddJobFile(seg, "w"));
  EXPECT_GT(added.id, 0);
  EXPECT_EQ(added.job_id, job);
  EXPECT_EQ(added.result_id, 0);
  EXPECT_EQ(added.owner_id, 4);  // the job's owner
  EXPECT_EQ(added.created_at, Now());
  ASSERT_OK_AND_ASSIGN(FileRecord stored, store_->GetFile(added.id));
  EXPECT_EQ(stored.role, "dicom_seg");
  EXPECT_EQ(stored.filename, "1.2.3.seg.dcm");
  EXPECT_EQ(stored.content_type, "application/dicom");
  EXPECT_EQ(stored.result_id, 0);
  EXPECT_EQ(stored.dataset_id, 0);
  ASSERT_OK_AND_ASSIGN(bool referenced, store_->BlobReferenced(Sha(30)));
  EXPECT_TRUE(referenced);

  // The same role and name again (a resumed job): AlreadyExists, nothing written.
  FileRecord again = seg;
  again.sha256 = Sha(31);
  EXPECT_EQ(add(again, "w").code(), StatusCode::kAlreadyExists);
  ASSERT_OK_AND_ASSIGN(bool again_written, store_->BlobReferenced(Sha(31)));
  EXPECT_FALSE(again_written);
  // Another name, or another role, is another file.
  ASSERT_OK(add(JobFile(job, "dicom_seg", "4.5.6.seg.dcm", Sha(32)), "w"));
  ASSERT_OK(add(JobFile(job, "report", "1.2.3.seg.dcm", Sha(33)), "w"));

  // ListJobFiles: the job-level files and the results' files of the role, by id.
  ASSERT_OK(store_->AddJobResult(Result(job, src), {Output("class_mask", Sha(34))}, "w").status());
  ASSERT_OK_AND_ASSIGN(std::vector<FileRecord> segs, store_->ListJobFiles(job, "dicom_seg"));
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[0].id, added.id);
  EXPECT_EQ(segs[1].filename, "4.5.6.seg.dcm");
  ASSERT_OK_AND_ASSIGN(std::vector<FileRecord> masks, store_->ListJobFiles(job, "class_mask"));
  ASSERT_EQ(masks.size(), 1u);
  EXPECT_GT(masks[0].result_id, 0);
  ASSERT_OK_AND_ASSIGN(std::vector<FileRecord> none, store_->ListJobFiles(job, "preview"));
  EXPECT_TRUE(none.empty());
  // The results list only the results' files.
  ASSERT_OK_AND_ASSIGN(auto results, store_->ListJobResults(job));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].files.size(), 1u);
  EXPECT_EQ(StatusOf(store_->ListJobFiles(9999, "dicom_seg")).code(), StatusCode::kNotFound);

  // After the job ends, no more files.
  ASSERT_OK(store_->FinishJob(job, "w", JobStatus::kCompleted, "", "{}"));
  EXPECT_EQ(add(JobFile(job, "dicom_seg", "7.seg.dcm", Sha(35)), "w").code(),
            StatusCode::kFailedPrecondition);
  // Deleting the dataset deletes the job and its files; their blobs are returned.
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> dropped, store_->DeleteDataset(ds));
  EXPECT_NE(std::find(dropped.begin(), dropped.end(), Sha(30)), dropped.end());
  EXPECT_EQ(StatusOf(store_->GetFile(added.id)).code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, MalformedJobFilesAreRefused) {
  const int64_t ds = NewDataset("ds").id;
  const int64_t job = NewJob(ds).id;
  ClaimExpecting(job, "w");
  auto code = [&](const FileRecord& f) { return StatusOf(store_->AddJobFile(f, "w")).code(); };
  FileRecord source = JobFile(job, "source", "a.dcm", Sha(1));
  EXPECT_EQ(code(source), StatusCode::kInvalidArgument);
  FileRecord with_dataset = JobFile(job, "dicom_seg", "a.dcm", Sha(1));
  with_dataset.dataset_id = ds;
  EXPECT_EQ(code(with_dataset), StatusCode::kInvalidArgument);
  FileRecord with_result = JobFile(job, "dicom_seg", "a.dcm", Sha(1));
  with_result.result_id = 5;
  EXPECT_EQ(code(with_result), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(JobFile(job, "dicom seg", "a.dcm", Sha(1))), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(JobFile(job, "dicom_seg", "", Sha(1))), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(JobFile(job, "dicom_seg", "a.dcm", "nothex")), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(JobFile(0, "dicom_seg", "a.dcm", Sha(1))), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(JobFile(job + 100, "dicom_seg", "a.dcm", Sha(1))), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, ListInferenceResultsIsBySourceFile) {
  const int64_t ds = NewDataset("ds").id;
  const int64_t a = NewFile(Source(ds, "a.png", Sha(1))).id;
  const int64_t b = NewFile(Source(ds, "b.png", Sha(2))).id;
  const int64_t c = NewFile(Source(ds, "c.png", Sha(3))).id;
  const int64_t job = NewJob(ds).id;
  ClaimExpecting(job, "w");
  for (int64_t src : {c, a, b}) {
    ASSERT_OK(store_->AddJobResult(Result(job, src), {}, "w").status());
  }
  ASSERT_OK_AND_ASSIGN(auto results, store_->ListJobResults(job));
  std::vector<int64_t> sources;
  for (const auto& r : results) sources.push_back(r.source_file_id);
  EXPECT_EQ(sources, (std::vector<int64_t>{a, b, c}));
  ASSERT_OK_AND_ASSIGN(auto none, store_->ListJobResults(NewJob(ds).id));
  EXPECT_TRUE(none.empty());
}

TEST_P(StoreConformanceTest, DuplicateResultIsAlreadyExistsAndWritesNothing) {
  const int64_t ds = NewDataset("ds").id;
  const int64_t src = NewFile(Source(ds, "a.png", Sha(1))).id;
  const int64_t job = NewJob(ds).id;
  ClaimExpecting(job, "w");
  ASSERT_OK(store_->AddJobResult(Result(job, src), {Output("class_mask", Sha(10))}, "w").status());

  auto dup = store_->AddJobResult(Result(job, src, "again"), {Output("class_mask", Sha(20))}, "w");
  EXPECT_EQ(StatusOf(dup).code(), StatusCode::kAlreadyExists) << StatusOf(dup);
  JobRecord after = Job(job);
  EXPECT_EQ(after.done, 1);
  EXPECT_EQ(after.failed_items, 0);
  ASSERT_OK_AND_ASSIGN(bool dup_output_written, store_->BlobReferenced(Sha(20)));
  EXPECT_FALSE(dup_output_written);
  ASSERT_OK_AND_ASSIGN(auto results, store_->ListJobResults(job));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].error, "");
}

TEST_P(StoreConformanceTest, AddInferenceResultNeedsTheWorkersLease) {
  const int64_t ds = NewDataset("ds").id;
  const int64_t src = NewFile(Source(ds, "a.png", Sha(1))).id;
  const int64_t job = NewJob(ds).id;
  auto add = [&](const std::string& worker) {
    return StatusOf(store_->AddJobResult(Result(job, src), {Output("preview", Sha(10))}, worker));
  };
  EXPECT_EQ(add("w").code(), StatusCode::kFailedPrecondition);  // queued: nobody holds it
  ClaimExpecting(job, "w");
  EXPECT_EQ(add("intruder").code(), StatusCode::kFailedPrecondition);
  ASSERT_OK(store_->FinishJob(job, "w", JobStatus::kCompleted, "", "{}"));
  EXPECT_EQ(add("w").code(), StatusCode::kFailedPrecondition);  // terminal

  EXPECT_EQ(Job(job).done, 0);
  ASSERT_OK_AND_ASSIGN(bool written, store_->BlobReferenced(Sha(10)));
  EXPECT_FALSE(written);
  ASSERT_OK_AND_ASSIGN(auto results, store_->ListJobResults(job));
  EXPECT_TRUE(results.empty());
}

TEST_P(StoreConformanceTest, AddInferenceResultChecksSourceFileAndOutputs) {
  const int64_t ds = NewDataset("ds").id;
  const int64_t other = NewDataset("other").id;
  const int64_t src = NewFile(Source(ds, "a.png", Sha(1))).id;
  const int64_t foreign = NewFile(Source(other, "b.png", Sha(2))).id;
  const int64_t job = NewJob(ds).id;
  ClaimExpecting(job, "w");
  auto code = [&](int64_t source, const std::vector<FileRecord>& outputs) {
    return StatusOf(store_->AddJobResult(Result(job, source), outputs, "w")).code();
  };
  EXPECT_EQ(code(foreign, {}), StatusCode::kInvalidArgument);  // another dataset's file
  EXPECT_EQ(code(99999, {}), StatusCode::kNotFound);
  EXPECT_EQ(code(src, {Output("preview", Sha(3)), Output("preview", Sha(4))}),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(src, {Output("source", Sha(3))}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(src, {Output("", Sha(3))}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(src, {Output("a/b", Sha(3))}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(src, {Output("preview", "not-a-sha")}), StatusCode::kInvalidArgument);
  FileRecord elsewhere = Output("preview", Sha(3));
  elsewhere.job_id = job + 1000;
  EXPECT_EQ(code(src, {elsewhere}), StatusCode::kInvalidArgument);

  EXPECT_EQ(Job(job).done, 0);
  ASSERT_OK_AND_ASSIGN(bool written, store_->BlobReferenced(Sha(3)));
  EXPECT_FALSE(written);
  // The failures left the job usable.
  ASSERT_OK(store_->AddJobResult(Result(job, src), {Output("preview", Sha(3))}, "w").status());
}

TEST_P(StoreConformanceTest, AnyOutputKindIsARowOfItsResult) {
  const int64_t ds = NewDataset("ds").id;
  const int64_t src = NewFile(Source(ds, "a.png", Sha(1))).id;
  const int64_t job = NewJob(ds).id;
  ClaimExpecting(job, "w");
  // Kinds no schema lists: a new runner's outputs need no migration.
  ASSERT_OK_AND_ASSIGN(JobResultRecord saved, store_->AddJobResult(Result(job, src),
                                                                   {Output("dicom_seg", Sha(7)),
                                                                    Output("class_mask", Sha(8)),
                                                                    Output("flow-field", Sha(9))},
                                                                   "w"));
  ASSERT_OK_AND_ASSIGN(auto results, store_->ListJobResults(job));
  ASSERT_EQ(results.size(), 1u);
  ASSERT_EQ(results[0].files.size(), 3u);
  // By file id, i.e. in the order given.
  EXPECT_EQ(results[0].files[0].role, "dicom_seg");
  EXPECT_EQ(results[0].files[1].role, "class_mask");
  EXPECT_EQ(results[0].files[2].role, "flow-field");
  EXPECT_EQ(results[0].FileId("dicom_seg"), saved.FileId("dicom_seg"));
  ASSERT_NE(results[0].File("flow-field"), nullptr);
  EXPECT_EQ(results[0].File("flow-field")->sha256, Sha(9));
  EXPECT_EQ(results[0].File("flow-field")->result_id, saved.id);
  EXPECT_EQ(results[0].File("preview"), nullptr);
}

// --- concurrency ---

// Claimers on several threads take jobs until none is left: each job exactly once.
TEST_P(StoreConformanceTest, ConcurrentClaimersNeverGetTheSameJob) {
  const int64_t ds = NewDataset("ds").id;
  constexpr int kJobs = 40;
  for (int i = 0; i < kJobs; ++i) NewJob(ds);
  std::mutex mu;
  std::vector<int64_t> claimed;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, worker = "w" + std::to_string(t)] {
      for (int round = 0; round <= kJobs; ++round) {  // bounded
        auto job = store_->ClaimJob(worker, 60'000, {});
        if (!job.ok()) {
          ADD_FAILURE() << worker << ": " << job.status();
          return;
        }
        if (!job->has_value()) return;
        std::lock_guard lock(mu);
        claimed.push_back((*job)->id);
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(claimed.size(), static_cast<size_t>(kJobs));
  EXPECT_EQ(std::set<int64_t>(claimed.begin(), claimed.end()).size(), claimed.size())
      << "a job was claimed twice";
  ExpectNothingToClaim("late");
}

// The same result written twice at once (a worker retrying): one write, one
// AlreadyExists, and the job counts the image once.
TEST_P(StoreConformanceTest, ConcurrentDuplicateResultsAreWrittenOnce) {
  const int64_t ds = NewDataset("ds").id;
  const int64_t src = NewFile(Source(ds, "a.png", Sha(1))).id;
  const int64_t job = NewJob(ds).id;
  ClaimExpecting(job, "w", 60'000);
  std::atomic<int> ok{0};
  std::atomic<int> exists{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto r = store_->AddJobResult(Result(job, src), {Output("class_mask", Sha(10 + t))}, "w");
      if (r.ok()) {
        ++ok;
      } else if (r.status().code() == StatusCode::kAlreadyExists) {
        ++exists;
      } else {
        ADD_FAILURE() << r.status();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(exists.load(), 3);
  EXPECT_EQ(Job(job).done, 1);
  ASSERT_OK_AND_ASSIGN(auto results, store_->ListJobResults(job));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].files.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformanceTest,
                         ::testing::Values(StoreFactory{
                             "Sqlite",
                             [](const std::filesystem::path& dir, std::function<int64_t()> now_ms) {
                               SqliteStoreOptions options;
                               options.now_ms = std::move(now_ms);
                               return OpenSqliteStore(dir / "store.db", options);
                             }}),
                         StoreFactoryName);

// --- JobStatus names (store.h's free functions) ---

TEST(JobStatusTest, NamesRoundTrip) {
  for (JobStatus s : {JobStatus::kQueued, JobStatus::kRunning, JobStatus::kCompleted,
                      JobStatus::kFailed, JobStatus::kCanceled}) {
    ASSERT_OK_AND_ASSIGN(JobStatus parsed, ParseJobStatus(JobStatusName(s)));
    EXPECT_EQ(parsed, s);
  }
  EXPECT_EQ(JobStatusName(JobStatus::kCanceled), "canceled");
  EXPECT_EQ(StatusOf(ParseJobStatus("Queued")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusOf(ParseJobStatus("")).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(IsTerminal(JobStatus::kRunning));
  EXPECT_TRUE(IsTerminal(JobStatus::kCanceled));
}

}  // namespace
}  // namespace infera::store_testing
