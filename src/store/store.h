// Store: the durable records of the /api workflow — datasets, their files, inference
// jobs and their per-image results — behind one interface, so that the embedded SQLite
// store (sqlite_store.h) and a later PostgreSQL one pass the same conformance tests
// (tests/store/store_conformance_test.cc).
//
// Bytes live in a BlobStore (blob_store.h); records name blobs by sha256.
//
// Conventions:
// - Ids are positive int64, assigned by the store; 0 means "none".
// - Times are milliseconds since the Unix epoch (UTC), set by the store.
// - Errors: NotFound for an unknown id (message names the kind and id),
//   InvalidArgument for a record that breaks a constraint, AlreadyExists for a
//   duplicate unique key, Internal/Unavailable for the database itself.
// - Leases: a job's lease is expired when lease_expires_at < now. `worker` holds a job
//   while it is running with lease_owner == worker — also after its lease expired, until
//   another worker claims it — so worker names must be unique per worker process.
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
  int64_t dataset_id = 0;    // the dataset of a source file; 0 for job outputs
  int64_t inference_id = 0;  // the job of an output file; 0 for source files
  // "source", "class_mask", "instance_mask", "preview", "probability".
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

enum class JobStatus { kQueued, kRunning, kCompleted, kFailed, kCanceled };
std::string_view JobStatusName(JobStatus status);  // "queued", "running", ...
StatusOr<JobStatus> ParseJobStatus(std::string_view name);
inline bool IsTerminal(JobStatus s) {
  return s == JobStatus::kCompleted || s == JobStatus::kFailed || s == JobStatus::kCanceled;
}

struct InferenceRecord {
  int64_t id = 0;
  int64_t owner_id = 0;
  int64_t dataset_id = 0;
  std::string model_name;
  int64_t model_version = 0;
  std::string runner_name;
  std::string params_json = "{}";  // validated runner params
  JobStatus status = JobStatus::kQueued;
  std::string note;           // why it failed, or a remark ("3 images failed")
  int64_t total = 0;          // images to process (set when the job is created)
  int64_t done = 0;           // images with a result (success or error)
  int64_t failed_images = 0;  // results with an error
  bool cancel_requested = false;
  int64_t created_at = 0;
  int64_t started_at = 0;   // first claim; 0 before
  int64_t finished_at = 0;  // 0 until terminal
  // Lease of the worker running it (empty / 0 when none).
  std::string lease_owner;
  int64_t lease_expires_at = 0;
  int attempts = 0;                 // claims so far
  std::string timings_json = "{}";  // aggregate timings the worker records
};

// InferenceResultRecord: the outcome for one source image of a job; at most one per
// (inference_id, source_file_id).
struct InferenceResultRecord {
  int64_t id = 0;
  int64_t inference_id = 0;
  int64_t source_file_id = 0;
  std::string source_filename;
  int64_t class_mask_id = 0;  // FileRecord ids, 0 when none
  int64_t instance_mask_id = 0;
  int64_t preview_id = 0;
  int64_t probability_id = 0;
  std::string summary_json = "{}";
  std::string error;  // non-empty when the image failed
  double elapsed_ms = 0;
  int64_t created_at = 0;
};

struct InferenceFilter {
  std::optional<int64_t> dataset_id;
  std::optional<JobStatus> status;
  std::optional<int64_t> owner_id;
  int64_t limit = 100;
  int64_t offset = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // --- datasets ---
  // InvalidArgument for an empty name.
  virtual StatusOr<DatasetRecord> CreateDataset(const DatasetRecord& dataset) = 0;
  virtual StatusOr<DatasetRecord> GetDataset(int64_t id) = 0;
  // Newest first (created_at, then id); only `owner_id`'s when given.
  virtual StatusOr<std::vector<DatasetRecord>> ListDatasets(std::optional<int64_t> owner_id) = 0;
  // Deletes the dataset and its source files. Jobs of the dataset and their outputs are
  // deleted too. Returns the sha256 of every blob no file references any more (the
  // caller sweeps them: SweepBlobs, which keeps those a writer has pinned meanwhile).
  virtual StatusOr<std::vector<std::string>> DeleteDataset(int64_t id) = 0;

  // --- files ---
  // Adds a file record. For a source file whose filename is already used in the
  // dataset, the name is made unique ("a.png" -> "a_1.png", "a_2.png", ...); the record
  // returned has the name used. NotFound when dataset_id / inference_id is unknown.
  virtual StatusOr<FileRecord> AddFile(const FileRecord& file) = 0;
  virtual StatusOr<FileRecord> GetFile(int64_t id) = 0;
  // A dataset's source files, by id. NotFound for an unknown dataset.
  virtual StatusOr<std::vector<FileRecord>> ListDatasetFiles(int64_t dataset_id) = 0;
  // Whether any file record references the blob.
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
  // references and no unexpired pin holds is passed to `remove` (which deletes its bytes)
  // and unregistered; expired pins are dropped. Stops at the first error `remove`
  // returns (that blob stays registered) and returns it. Returns the blobs removed.
  virtual StatusOr<std::vector<std::string>> SweepBlobs(
      const std::optional<std::vector<std::string>>& only,
      const std::function<Status(const std::string& sha256)>& remove) = 0;

  // --- inference jobs ---
  // Creates a queued job; `total` is set to the dataset's file count at this moment
  // (status, counters, lease and times in `job` are ignored). NotFound for an unknown
  // dataset, InvalidArgument for an empty model_name.
  virtual StatusOr<InferenceRecord> CreateInference(const InferenceRecord& job) = 0;
  virtual StatusOr<InferenceRecord> GetInference(int64_t id) = 0;
  // Newest first (created_at, then id), filtered, then `offset` skipped and at most
  // `limit` returned. InvalidArgument unless limit > 0 and offset >= 0.
  virtual StatusOr<std::vector<InferenceRecord>> ListInferences(const InferenceFilter& filter) = 0;
  // Claims the oldest job that is queued, or running with an expired lease (a worker
  // that died), for `worker` until now + lease_ms: status running, attempts + 1,
  // started_at set on the first claim. nullopt when there is none. Jobs with
  // cancel_requested are not claimed: one whose lease expired (its worker died) becomes
  // canceled instead. InvalidArgument for an empty worker or lease_ms <= 0.
  virtual StatusOr<std::optional<InferenceRecord>> ClaimInference(const std::string& worker,
                                                                  int64_t lease_ms) = 0;
  // Extends the lease; FailedPrecondition when `worker` no longer holds it (another
  // worker took over, or the job is terminal).
  virtual Status RenewLease(int64_t id, const std::string& worker, int64_t lease_ms) = 0;
  // Moves a job held by `worker` to a terminal status with a note, clearing the lease.
  // FailedPrecondition when `worker` does not hold it; InvalidArgument for a status that
  // is not terminal.
  virtual Status FinishInference(int64_t id, const std::string& worker, JobStatus status,
                                 const std::string& note, const std::string& timings_json) = 0;
  // Puts a job held by `worker` back to queued (graceful shutdown mid-job); a job with
  // cancel_requested becomes canceled instead. FailedPrecondition when `worker` does not
  // hold it.
  virtual Status ReleaseInference(int64_t id, const std::string& worker) = 0;
  // Cancels: a queued job (or one whose lease expired) becomes canceled at once; a
  // running one gets cancel_requested and its worker stops between images. Returns the
  // record after the change. FailedPrecondition for a terminal job.
  virtual StatusOr<InferenceRecord> CancelInference(int64_t id) = 0;

  // Records one image's result, its output files and bumps done / failed_images, all in
  // one transaction. `outputs` are FileRecords (role, filename, sha256, ...; their
  // inference_id is set to the job's) whose blobs are already in the BlobStore; the
  // result's class_mask_id / instance_mask_id / preview_id / probability_id are set from
  // the outputs' roles. AlreadyExists when the job already has a result for that source
  // file (nothing is written; the caller may drop blobs no longer referenced);
  // FailedPrecondition when `worker` does not hold the job's lease; NotFound for an
  // unknown job or source file; InvalidArgument when the source file is not one of the
  // job's dataset, or for an output that is malformed or repeats a role. The ids in
  // `result` (id and the four file ids) are set by the store, whatever they hold;
  // source_filename defaults to the source file's name.
  virtual StatusOr<InferenceResultRecord> AddInferenceResult(const InferenceResultRecord& result,
                                                             const std::vector<FileRecord>& outputs,
                                                             const std::string& worker) = 0;
  // A job's results by source file id. NotFound for an unknown job.
  virtual StatusOr<std::vector<InferenceResultRecord>> ListInferenceResults(
      int64_t inference_id) = 0;
};

}  // namespace infera
