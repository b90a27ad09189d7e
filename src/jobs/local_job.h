// LocalJob: one dataset inference job run inside this process, without the HTTP
// server — what `infera infer` and `infera bench job` use, so offline runs go through
// exactly the code the server runs (ingest, JobWorkers with the InferenceJobHandler,
// runners, artifacts).
//
// It keeps a private store (SQLite + content-addressed blobs) in a work folder the
// caller owns and removes; ingests input files as one dataset; runs the job with
// JobWorkers over a ModelRegistry the caller filled; exports the results in the
// JobExport layout.
// Thread-safety: not thread-safe; one thread drives it. The registry must outlive Run.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "imaging/codec.h"
#include "jobs/inference_record.h"
#include "models/model_registry.h"
#include "store/blob_store.h"
#include "store/store.h"

namespace infera {

struct LocalJobOptions {
  int workers = 1;
  int max_in_flight = 0;  // per job; 0: 2 x the model's max_batch_size
  DecodeLimits decode;
  // Called on the driving thread about every `progress_interval` while the job runs,
  // and once more with the terminal record.
  std::function<void(const InferenceRecord&)> progress;
  std::chrono::milliseconds progress_interval{100};
};

class LocalJob {
 public:
  struct Refused {
    std::string filename;
    std::string reason;
  };

  // Opens (creating) the store in `work_dir`. Internal when it cannot be created.
  static StatusOr<std::unique_ptr<LocalJob>> Open(const std::filesystem::path& work_dir);

  // Ingests the files (images are checked and described as on upload); files that are
  // not usable images are returned with the reason, not errors. Store failures are.
  StatusOr<std::vector<Refused>> AddFiles(const std::vector<std::filesystem::path>& files,
                                          const DecodeLimits& limits);
  int64_t file_count() const { return file_count_; }

  // Runs `model_name` (loaded in `models`) with `params` over the ingested files and
  // blocks until the job ends; returns the terminal record. InvalidArgument for bad
  // params; NotFound when the model is not in the registry.
  StatusOr<InferenceRecord> Run(ModelRegistry* models, const std::string& model_name,
                                const nlohmann::json& params, const LocalJobOptions& options);

  // Writes the job's result files under `out_dir` (masks/, previews/, and images/ when
  // include_sources) and results.json. Files are hard links to the blobs where the
  // filesystem allows, copies otherwise; existing files of the same names are replaced.
  Status Export(int64_t job_id, const std::filesystem::path& out_dir, bool include_sources);

  Store& store() { return *store_; }
  BlobStore& blobs() { return *blobs_; }

 private:
  LocalJob() = default;
  std::unique_ptr<Store> store_;
  std::unique_ptr<BlobStore> blobs_;
  int64_t dataset_id_ = 0;
  int64_t file_count_ = 0;
};

}  // namespace infera
