#include "jobs/local_job.h"

#include <thread>

#include "common/file_util.h"
#include "common/strings.h"
#include "datasets/ingest.h"
#include "jobs/inference_job_handler.h"
#include "jobs/job_export.h"
#include "jobs/job_workers.h"
#include "models/model.h"
#include "store/store_registry.h"

namespace infera {

namespace fs = std::filesystem;

StatusOr<std::unique_ptr<LocalJob>> LocalJob::Open(const fs::path& work_dir) {
  std::unique_ptr<LocalJob> job(new LocalJob());
  const StorageOptions storage{.driver = "sqlite", .path = work_dir, .url = {}, .now_ms = {}};
  ASSIGN_OR_RETURN(job->store_, OpenRecordStore(storage));
  ASSIGN_OR_RETURN(job->blobs_, OpenBlobStore(storage));
  DatasetRecord dataset;
  dataset.name = "local";
  dataset.description = "files of one local job";
  ASSIGN_OR_RETURN(DatasetRecord created, job->store_->CreateDataset(dataset));
  job->dataset_id_ = created.id;
  return job;
}

StatusOr<std::vector<LocalJob::Refused>> LocalJob::AddFiles(const std::vector<fs::path>& files,
                                                            const DecodeLimits& limits) {
  std::vector<Refused> refused;
  for (const fs::path& path : files) {
    const std::string name = path.filename().string();
    StatusOr<FileRecord> file = IngestFile(*store_, *blobs_, dataset_id_, 0, name, path, limits);
    if (file.ok()) {
      ++file_count_;
    } else if (file.status().code() == absl::StatusCode::kInvalidArgument ||
               file.status().code() == absl::StatusCode::kNotFound) {
      refused.push_back({name, std::string(ToStd(file.status().message()))});
    } else {
      return file.status();
    }
  }
  return refused;
}

StatusOr<InferenceRecord> LocalJob::Run(ModelRegistry* models, const std::string& model_name,
                                        const nlohmann::json& params,
                                        const LocalJobOptions& options) {
  std::shared_ptr<Model> model = models->Get(model_name);
  if (model == nullptr)
    return absl::NotFoundError(StrCat("model '", model_name, "' is not loaded"));
  ASSIGN_OR_RETURN(nlohmann::json validated,
                   model->runner().ResolveParams(params, model->description()));
  InferenceRecord job;
  job.dataset_id = dataset_id_;
  job.model_name = model_name;
  job.model_version = model->config().version;
  job.runner_name = model->config().runner;
  job.params_json = validated.dump();
  ASSIGN_OR_RETURN(InferenceRecord created, CreateInference(*store_, job));

  InferenceJobOptions inference;
  inference.max_in_flight = options.max_in_flight;
  inference.decode = options.decode;
  ImagePipeline pipeline;
  JobHandlerRegistry handlers;
  RETURN_IF_ERROR(handlers.Register(std::make_unique<InferenceJobHandler>(
      store_.get(), blobs_.get(), models, &pipeline, inference)));
  JobWorkerOptions worker_options;
  worker_options.workers = std::max(1, options.workers);
  worker_options.idle_poll = std::chrono::milliseconds(20);
  worker_options.name = "local";
  JobWorkers workers(store_.get(), &handlers, worker_options);
  workers.Start();
  workers.Notify();
  while (true) {
    std::this_thread::sleep_for(options.progress_interval);
    ASSIGN_OR_RETURN(InferenceRecord current, GetInference(*store_, created.id));
    if (options.progress) options.progress(current);
    if (IsTerminal(current.status)) {
      workers.Stop();
      return current;
    }
  }
}

Status LocalJob::Export(int64_t job_id, const fs::path& out_dir, bool include_sources) {
  std::vector<JobResultRecord> results;
  ASSIGN_OR_RETURN(nlohmann::json report, JobReport(*store_, job_id, &results));
  ASSIGN_OR_RETURN(std::vector<ExportEntry> entries,
                   JobExportEntries(*store_, results, include_sources));
  ASSIGN_OR_RETURN(std::vector<ExportEntry> job_files, JobFileExportEntries(*store_, job_id));
  entries.insert(entries.end(), job_files.begin(), job_files.end());
  for (const ExportEntry& e : entries) {
    const fs::path target = out_dir / e.path;
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec)
      return absl::InternalError(
          StrCat("cannot create ", target.parent_path().string(), ": ", ec.message()));
    ASSIGN_OR_RETURN(fs::path blob, blobs_->LocalPath(e.file.sha256));
    fs::remove(target, ec);
    fs::create_hard_link(blob, target, ec);
    if (ec) RETURN_IF_ERROR(CopyFileDurably(blob, target));
  }
  return WriteFileDurably(out_dir / "results.json", report.dump(2) + "\n");
}

}  // namespace infera
