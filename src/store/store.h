// Store: the durable records of the /api workflow — datasets, their files, jobs
// (JobQueue, job_queue.h) and their per-image results — behind one interface, so that the embedded
// SQLite store (sqlite_store.h) and the PostgreSQL one (postgres_store.h) pass the same
// conformance tests (tests/store/store_conformance_test.cc).
//
// Bytes live in a BlobStore (blob_store.h); records name blobs by sha256.
//
// Conventions:
// - Ids are positive int64, assigned by the store; 0 means "none".
// - Times are milliseconds since the Unix epoch (UTC), set by the store.
// - Errors: NotFound for an unknown id (message names the kind and id),
//   InvalidArgument for a record that breaks a constraint, AlreadyExists for a
//   duplicate unique key, Internal/Unavailable for the database itself.
// - Leases: see job_queue.h.
// - Thread-safety: every method is safe from any thread; each call is atomic (one
//   transaction).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/job_queue.h"

namespace infera {

struct DatasetRecord {
  int64_t id = 0;
  int64_t owner_id = 0;  // the creating user (0 until users exist)
  std::string name;
  std::string description;
  int64_t created_at = 0;
  // Computed on read: number of source files and their total size in bytes.
  int64_t file_count = 0;
  int64_t total_bytes = 0;
};

// FileRecord: a stored file — a dataset's source image, or a job's output (a mask,
// a preview) — and what is known of its pixels.
struct FileRecord {
  int64_t id = 0;
  int64_t owner_id = 0;
  int64_t dataset_id = 0;  // the dataset of a source file; 0 for job outputs
  int64_t job_id = 0;      // the job of an output file; 0 for source files
  int64_t result_id = 0;   // the job result it belongs to (set by the store); 0 when none
  // "source", or the kind of a job's output: "class_mask", "instance_mask", "preview",
  // "probability", or any other name a runner gives (letters, digits, '_', '-').
  std::string role = "source";
  std::string filename;  // sanitised; unique within a dataset for source files
  std::string content_type;
  std::string sha256;  // lower-case hex: the blob
  int64_t size = 0;    // bytes
  int width = 0;
  int height = 0;
  int channels = 0;
  int bit_depth = 0;  // 8, 16 or 32
  int pages = 0;
  std::string sample_type;  // "uint8", "uint16", "float32"
  int64_t created_at = 0;
};

// JobResultRecord: the outcome of a job for one source image — at most one per (job,
// source file) — and its result files: rows of (kind, file), so a runner adds an output
// kind with no schema change.
struct JobResultRecord {
  int64_t id = 0;
  int64_t job_id = 0;
  int64_t source_file_id = 0;
  std::string source_filename;
  std::string summary_json = "{}";
  std::string error;  // non-empty when the image failed
  double elapsed_ms = 0;
  int64_t created_at = 0;
  // The result's files by id; each one's role is its kind ("class_mask", "preview", ...),
  // unique within the result.
  std::vector<FileRecord> files;

  // The file of `kind`, or null.
  const FileRecord* File(std::string_view kind) const;
  // Its id, or 0.
  int64_t FileId(std::string_view kind) const;
};

class Store : public JobQueue {
 public:
  ~Store() override = default;

  // --- datasets ---
  // InvalidArgument for an empty name.
  virtual StatusOr<DatasetRecord> CreateDataset(const DatasetRecord& dataset) = 0;
  virtual StatusOr<DatasetRecord> GetDataset(int64_t id) = 0;
  // Newest first (created_at, then id); only `owner_id`'s when given.
  virtual StatusOr<std::vector<DatasetRecord>> ListDatasets(std::optional<int64_t> owner_id) = 0;
  // Deletes the dataset and its source files. Jobs of the dataset and their outputs are
  // deleted too, and so are its annotation sets (annotation_store.h) when the store has them.
  // Returns the sha256 of every blob no file references any more (the caller sweeps them:
  // SweepBlobs, which keeps those a writer has pinned meanwhile).
  virtual StatusOr<std::vector<std::string>> DeleteDataset(int64_t id) = 0;

  // --- files ---
  // Adds a file record. For a source file whose filename is already used in the
  // dataset, the name is made unique ("a.png" -> "a_1.png", "a_2.png", ...); the record
  // returned has the name used. NotFound when dataset_id / job_id is unknown.
  virtual StatusOr<FileRecord> AddFile(const FileRecord& file) = 0;
  // Adds a dataset's source file (role "source") as AddFile, unless the dataset already
  // has a source file with the same sha256 under the same name, or under a name AddFile
  // made unique from it ("a.png" stored as "a_1.png"): then nothing is written and that
  // file is returned with added = false. One transaction, so an upload and its retry (or
  // two concurrent uploads of the same file) leave one record; the same bytes under
  // another name are another file. InvalidArgument for a file that is not a source file.
  struct AddedFile {
    FileRecord file;
    bool added = true;
  };
  virtual StatusOr<AddedFile> AddSourceFileOnce(const FileRecord& file) = 0;
  virtual StatusOr<FileRecord> GetFile(int64_t id) = 0;
  // A dataset's source files, by id. NotFound for an unknown dataset.
  virtual StatusOr<std::vector<FileRecord>> ListDatasetFiles(int64_t dataset_id) = 0;
  // Whether any file record (or mask revision, annotation_store.h) references the blob.
  virtual StatusOr<bool> BlobReferenced(const std::string& sha256) = 0;

  // --- blob lifetime (see store/blob_lifetime.h for the writer's side) ---
  // The store owns when a blob's bytes may go: a blob is registered when a file first
  // references it or a writer pins it, and removed only by SweepBlobs, in one write
  // transaction that no pin can interleave with.
  // Pins `sha256` (`size` bytes) until UnpinBlob or now + ttl_ms, registering it;
  // returns the pin's id. InvalidArgument for a malformed sha256 or ttl_ms <= 0.
  virtual StatusOr<int64_t> PinBlob(const std::string& sha256, int64_t size, int64_t ttl_ms) = 0;
  // Releases a pin (OK when it is gone already).
  virtual Status UnpinBlob(int64_t pin_id) = 0;
  // In one write transaction: every registered blob (of `only`, when given) that no file
  // (nor mask revision) references and no unexpired pin holds is passed to `remove` (which deletes
  // its bytes) and unregistered; expired pins are dropped. Stops at the first error `remove`
  // returns (that blob stays registered) and returns it. Returns the blobs removed.
  virtual StatusOr<std::vector<std::string>> SweepBlobs(
      const std::optional<std::vector<std::string>>& only,
      const std::function<Status(const std::string& sha256)>& remove) = 0;

  // --- job results (jobs themselves: JobQueue) ---
  // Records one source image's result, its output files and bumps the job's done /
  // failed_items, all in one transaction. `outputs` are FileRecords (role = kind,
  // filename, sha256, ...; their job_id is set to the job's) whose blobs are already in
  // the BlobStore. AlreadyExists when the job already has a result for that source file
  // (nothing is written; the caller may drop blobs no longer referenced);
  // FailedPrecondition when `worker` does not hold the job's lease; NotFound for an
  // unknown job or source file; InvalidArgument when the source file is not one of the
  // job's dataset, or for an output that is malformed or repeats a kind. The ids in
  // `result` (id, and the files') are set by the store, whatever they hold;
  // source_filename defaults to the source file's name.
  virtual StatusOr<JobResultRecord> AddJobResult(const JobResultRecord& result,
                                                 const std::vector<FileRecord>& outputs,
                                                 const std::string& worker) = 0;
  // A job's results by source file id, each with its files by id. NotFound for an
  // unknown job.
  virtual StatusOr<std::vector<JobResultRecord>> ListJobResults(int64_t job_id) = 0;

  // --- job-level files (a file of the whole job, not of one image: a DICOM SEG of a
  // series) ---
  // Records `file` (an output kind as role, filename, sha256, ...; its blob already in
  // the BlobStore) as a file of job `file.job_id` with no result (result_id 0), when
  // `worker` holds the job's lease. A job has at most one job-level file of a role and
  // filename: AlreadyExists when it has one (nothing is written; a job that resumes
  // after a crash finds the file its earlier run wrote). FailedPrecondition when
  // `worker` does not hold the lease; NotFound for an unknown job; InvalidArgument for a
  // malformed record (role "source", a dataset_id, ...). Ids and created_at are set by
  // the store; owner_id defaults to the job's owner.
  virtual StatusOr<FileRecord> AddJobFile(const FileRecord& file, const std::string& worker) = 0;
  // The job's files of `role`, by id: its job-level files and its results' files of that
  // kind. NotFound for an unknown job.
  virtual StatusOr<std::vector<FileRecord>> ListJobFiles(int64_t job_id,
                                                         const std::string& role) = 0;
};

}  // namespace infera
