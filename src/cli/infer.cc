// `infera infer --model M --input DIR|FILE... --output DIR [--param k=v]...`: the
// runners offline, through the same job pipeline the server runs (cli/model_source.h
// says where the model is found). Writes OUTPUT/masks/, OUTPUT/previews/ and
// OUTPUT/results.json; a progress bar on stderr when it is a terminal, a line per 10%
// otherwise. Exit codes: 0 every image done; 3 some images failed or were refused (the
// rest are written); 1 nothing could run (bad options, model, params, store).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "absl/strings/str_format.h"
#include "cli/cli.h"
#include "cli/model_source.h"
#include "cli/param_pairs.h"
#include "common/logging.h"
#include "common/strings.h"
#include "jobs/local_job.h"
#include "models/model.h"
#include "models/model_registry.h"

namespace infera {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// The regular files under the inputs (folders walked recursively, hidden entries
// skipped), sorted by path.
StatusOr<std::vector<fs::path>> CollectInputs(const std::vector<std::string>& inputs) {
  std::vector<fs::path> files;
  for (const std::string& input : inputs) {
    std::error_code ec;
    const fs::path path(input);
    if (fs::is_directory(path, ec)) {
      fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec);
      if (ec) return absl::NotFoundError(StrCat("cannot read ", input, ": ", ec.message()));
      for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        const std::string name = it->path().filename().string();
        if (name.starts_with(".")) {
          if (it->is_directory(ec)) it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file(ec)) files.push_back(it->path());
      }
    } else if (fs::is_regular_file(path, ec)) {
      files.push_back(path);
    } else {
      return absl::NotFoundError(StrCat("no such file or folder: ", input));
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) return absl::InvalidArgumentError("no input files");
  return files;
}

// Progress on stderr: a redrawn bar on a terminal, a line per 10% otherwise.
class Progress {
 public:
  explicit Progress(int64_t total) : total_(total), tty_(::isatty(STDERR_FILENO) == 1) {}

  void Update(const InferenceRecord& job) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(job.done) / elapsed : 0;
    const double eta = rate > 0 ? static_cast<double>(total_ - job.done) / rate : 0;
    if (tty_) {
      constexpr int kWidth = 30;
      const int filled = total_ > 0 ? static_cast<int>(kWidth * job.done / total_) : kWidth;
      std::string bar(static_cast<size_t>(filled), '=');
      if (filled < kWidth) bar += '>';
      bar.resize(kWidth, ' ');
      std::fprintf(stderr, "\r[%s] %lld/%lld images  %.1f img/s  ETA %.0fs  %s", bar.c_str(),
                   static_cast<long long>(job.done), static_cast<long long>(total_), rate, eta,
                   job.failed_images > 0 ? StrCat(job.failed_images, " failed").c_str() : "");
      std::fflush(stderr);
      return;
    }
    const int64_t decile = total_ > 0 ? 10 * job.done / total_ : 10;
    if (decile > last_decile_) {
      last_decile_ = decile;
      std::fprintf(stderr, "infer: %lld/%lld images (%.1f img/s)\n",
                   static_cast<long long>(job.done), static_cast<long long>(total_), rate);
    }
  }
  void Finish() {
    if (tty_) std::fprintf(stderr, "\n");
  }

 private:
  const int64_t total_;
  const bool tty_;
  const Clock::time_point start_ = Clock::now();
  int64_t last_decile_ = 0;
};

// A work folder removed on scope exit.
class WorkDir {
 public:
  static StatusOr<WorkDir> Create(const fs::path& parent) {
    std::string templ = (parent / ".infera-work-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) {
      return absl::InternalError(StrCat("cannot create a work folder in ", parent.string()));
    }
    return WorkDir(fs::path(templ));
  }
  WorkDir(WorkDir&& other) noexcept : path_(std::exchange(other.path_, fs::path())) {}
  WorkDir& operator=(WorkDir&&) = delete;
  ~WorkDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit WorkDir(fs::path path) : path_(std::move(path)) {}
  fs::path path_;
};

StatusOr<int> Infer(const InferOptions& options) {
  ASSIGN_OR_RETURN(nlohmann::json params, ParseParamPairs(options.params));
  ASSIGN_OR_RETURN(std::vector<fs::path> files, CollectInputs(options.inputs));
  ASSIGN_OR_RETURN(ModelConfig config,
                   ResolveModel(options.config, options.repository, options.model));
  std::error_code ec;
  const fs::path out(options.output);
  fs::create_directories(out, ec);
  if (ec) return absl::InternalError(StrCat("cannot create ", out.string(), ": ", ec.message()));

  std::fprintf(stderr, "infer: model %s v%lld (runner %s), %zu input files\n", config.name.c_str(),
               static_cast<long long>(config.version), config.runner.c_str(), files.size());
  ASSIGN_OR_RETURN(std::shared_ptr<Model> model, Model::Load(config, OfflineLoadOptions()));
  ModelRegistry registry;
  registry.Put(model);

  ASSIGN_OR_RETURN(WorkDir work, WorkDir::Create(out));
  ASSIGN_OR_RETURN(std::unique_ptr<LocalJob> job, LocalJob::Open(work.path()));
  ASSIGN_OR_RETURN(std::vector<LocalJob::Refused> refused, job->AddFiles(files, DecodeLimits{}));
  for (const LocalJob::Refused& r : refused) {
    std::fprintf(stderr, "infer: skipped %s: %s\n", r.filename.c_str(), r.reason.c_str());
  }
  if (job->file_count() == 0) return absl::InvalidArgumentError("none of the inputs is an image");

  Progress progress(job->file_count());
  LocalJobOptions run_options;
  run_options.workers = 1;
  run_options.progress = [&progress](const InferenceRecord& r) { progress.Update(r); };
  const Clock::time_point start = Clock::now();
  StatusOr<InferenceRecord> done = job->Run(&registry, config.name, params, run_options);
  progress.Finish();
  if (!done.ok()) return done.status();
  RETURN_IF_ERROR(job->Export(done->id, out, options.copy_sources));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  if (done->status != JobStatus::kCompleted) {
    return absl::InternalError(
        StrCat("the job ended ", JobStatusName(done->status), ": ", done->note));
  }
  std::vector<JobResultRecord> results;
  ASSIGN_OR_RETURN(results, job->store().ListJobResults(done->id));
  for (const JobResultRecord& r : results) {
    if (!r.error.empty()) {
      std::fprintf(stderr, "infer: failed %s: %s\n", r.source_filename.c_str(), r.error.c_str());
    }
  }
  std::printf(
      "%lld images in %.1f s (%.2f images/s): %lld done, %lld failed, %zu skipped; "
      "results in %s\n",
      static_cast<long long>(done->done), seconds,
      seconds > 0 ? static_cast<double>(done->done) / seconds : 0.0,
      static_cast<long long>(done->done - done->failed_images),
      static_cast<long long>(done->failed_images), refused.size(), out.string().c_str());
  return (done->failed_images > 0 || !refused.empty()) ? 3 : 0;
}

}  // namespace

int RunInfer(const InferOptions& options) {
  SetLogLevel(options.verbose ? LogLevel::kInfo : LogLevel::kWarning);
  StatusOr<int> code = Infer(options);
  if (!code.ok()) {
    std::cerr << "infera infer: " << code.status().message() << "\n";
    return 1;
  }
  return *code;
}

}  // namespace infera
