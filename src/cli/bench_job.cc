// `infera bench job --model M [--images 64] [--size 512]`: a dataset inference job
// against a plain loop, in one run, on the same images.
//
//  1. N synthetic size x size images (bright blobs on a noisy background, the model's
//     colour), written as PNG files.
//  2. Plain loop, the way a script would do it: for each file read -> decode -> the
//     runner's preprocess -> forward with batch 1 on the raw engine (RawEngineOptions:
//     one instance using every core, as LibTorch defaults to; no batcher) ->
//     postprocess -> encode every artifact -> write it.
//  3. The job: the files ingested into a private store (timed apart, as an upload), then
//     one job through JobWorkers exactly as the server runs it (batcher, images in
//     flight, artifacts into the blob store, a result record per image).
//  4. Prints images/s of both, the share of engine time outside the model (1 - engine
//     busy / (wall x instances): the job's model may run several instances at once), and
//     the ratio job / plain loop.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "absl/strings/str_format.h"
#include "backends/backend_registry.h"
#include "cli/cli.h"
#include "cli/model_source.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/strings.h"
#include "imaging/codec.h"
#include "jobs/inference_job_handler.h"
#include "jobs/local_job.h"
#include "models/model.h"
#include "runners/runner_registry.h"
#include "serving/image_pipeline.h"

namespace infera {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// A deterministic test image: a few bright ellipses on a dim noisy background.
Image BlobImage(int size, int channels, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(0.f, 1.f);
  Image image = MakeImage(size, size, channels, PixelType::kUInt8);
  auto* p = image.pixels<uint8_t>();
  std::vector<float> plane(static_cast<size_t>(size) * size);
  for (float& v : plane) v = 20.f + 30.f * unit(rng);
  const int blobs = 5 + static_cast<int>(rng() % 10);
  for (int b = 0; b < blobs; ++b) {
    const float cx = unit(rng) * size, cy = unit(rng) * size;
    const float rx = (0.03f + 0.08f * unit(rng)) * size, ry = (0.03f + 0.08f * unit(rng)) * size;
    const int x0 = std::max(0, static_cast<int>(cx - rx)),
              x1 = std::min(size - 1, static_cast<int>(cx + rx));
    const int y0 = std::max(0, static_cast<int>(cy - ry)),
              y1 = std::min(size - 1, static_cast<int>(cy + ry));
    for (int y = y0; y <= y1; ++y) {
      for (int x = x0; x <= x1; ++x) {
        const float dx = (static_cast<float>(x) - cx) / rx, dy = (static_cast<float>(y) - cy) / ry;
        if (dx * dx + dy * dy <= 1.f)
          plane[static_cast<size_t>(y) * size + x] = 180.f + 60.f * unit(rng);
      }
    }
  }
  for (size_t i = 0; i < plane.size(); ++i) {
    for (int c = 0; c < channels; ++c) {
      p[i * static_cast<size_t>(channels) + static_cast<size_t>(c)] =
          static_cast<uint8_t>(std::clamp(plane[i] - 10.f * static_cast<float>(c), 0.f, 255.f));
    }
  }
  return image;
}

struct LoopResult {
  double wall_s = 0;
  double engine_s = 0;
  int64_t images = 0;
  int64_t errors = 0;
};

// The plain loop (see the file comment), writing artifacts under `out`.
StatusOr<LoopResult> PlainLoop(const ModelConfig& config, const nlohmann::json& params,
                               const std::vector<fs::path>& files, const fs::path& out) {
  const Runner* runner = FindRunner(config.runner);
  if (runner == nullptr) return absl::NotFoundError(StrCat("unknown runner ", config.runner));
  ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend,
                   CreateBackend(config.backend, RawEngineOptions(config, *runner)));
  backend->PrepareThread();
  fs::create_directories(out);

  auto one = [&](const fs::path& file, LoopResult* r) -> Status {
    ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(file));
    // The pipeline's own stages, run in line: decode + preprocess, forward, postprocess
    // + encode.
    ASSIGN_OR_RETURN(
        PreparedImage image,
        ImagePipeline::Prepare(*runner, config,
                               std::span<const std::byte>(
                                   reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()),
                               params, DecodeLimits{}));
    std::vector<std::vector<Tensor>> outputs;
    for (std::vector<Tensor>& item : image.input.items) {
      const Clock::time_point t = Clock::now();
      StatusOr<std::vector<Tensor>> o = backend->Execute(item);
      if (r != nullptr) r->engine_s += Seconds(Clock::now() - t);
      if (!o.ok()) return o.status();
      outputs.push_back(std::move(*o));
    }
    ASSIGN_OR_RETURN(ImageResult result, ImagePipeline::Finish(*runner, config, image, outputs));
    for (const EncodedArtifact& a : result.artifacts) {
      const std::vector<std::byte>& encoded = a.bytes;
      const fs::path target = out / ArtifactFilename(file.filename().string(), a.artifact.kind,
                                                     ArtifactExtension(a.artifact.format));
      RETURN_IF_ERROR(WriteFileDurably(
          target, std::string_view(reinterpret_cast<const char*>(encoded.data()), encoded.size())));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(one(files.front(), nullptr));  // warm-up, not timed
  LoopResult r;
  const Clock::time_point start = Clock::now();
  for (const fs::path& f : files) {
    Status s = one(f, &r);
    ++r.images;
    if (!s.ok()) ++r.errors;
  }
  r.wall_s = Seconds(Clock::now() - start);
  return r;
}

Status BenchJob(const BenchJobOptions& options) {
  ASSIGN_OR_RETURN(ModelConfig config,
                   ResolveModel(options.config, options.repository, options.model));
  const Runner* runner = FindRunner(config.runner);
  if (runner == nullptr) return absl::NotFoundError(StrCat("unknown runner ", config.runner));
  ASSIGN_OR_RETURN(nlohmann::json params, runner->ResolveParams(nlohmann::json(), config));

  std::string templ = (fs::temp_directory_path() / "infera-bench-job-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) return absl::InternalError("cannot create a temp folder");
  const fs::path work(templ);
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } cleanup{work};

  const int channels = config.input.channels();
  std::vector<fs::path> files;
  fs::create_directories(work / "input");
  for (int i = 0; i < options.images; ++i) {
    ASSIGN_OR_RETURN(std::vector<std::byte> png,
                     EncodePng(BlobImage(options.size, channels, static_cast<uint32_t>(i + 1))));
    const fs::path f = work / "input" / absl::StrFormat("img_%03d.png", i);
    RETURN_IF_ERROR(WriteFileDurably(
        f, std::string_view(reinterpret_cast<const char*>(png.data()), png.size())));
    files.push_back(f);
  }
  std::cout << absl::StrFormat(
      "bench job: model %s v%d (runner %s, max_batch_size %d), %d images %dx%d\n", config.name,
      config.version, config.runner, config.batching.max_batch_size, options.images, options.size,
      options.size);

  ASSIGN_OR_RETURN(LoopResult plain, PlainLoop(config, params, files, work / "plain"));

  ASSIGN_OR_RETURN(std::shared_ptr<Model> model, Model::Load(config, OfflineLoadOptions()));
  ModelRegistry registry;
  registry.Put(model);
  ASSIGN_OR_RETURN(std::unique_ptr<LocalJob> job, LocalJob::Open(work / "store"));
  const Clock::time_point ingest_start = Clock::now();
  ASSIGN_OR_RETURN(std::vector<LocalJob::Refused> refused, job->AddFiles(files, DecodeLimits{}));
  const double ingest_s = Seconds(Clock::now() - ingest_start);
  if (!refused.empty()) return absl::InternalError(StrCat("refused: ", refused[0].reason));
  const uint64_t busy_before = model->batcher().stats().execute_ns;
  LocalJobOptions run;
  run.workers = options.workers;
  run.max_in_flight = options.max_in_flight;
  run.progress_interval = std::chrono::milliseconds(10);
  const Clock::time_point job_start = Clock::now();
  ASSIGN_OR_RETURN(InferenceRecord done, job->Run(&registry, config.name, params, run));
  const double job_s = Seconds(Clock::now() - job_start);
  const double job_engine_s =
      static_cast<double>(model->batcher().stats().execute_ns - busy_before) / 1e9;
  const BatcherStats stats = model->batcher().stats();
  if (done.status != JobStatus::kCompleted || done.failed_images > 0) {
    return absl::InternalError(
        StrCat("the job ended ", JobStatusName(done.status), ": ", done.note));
  }

  const double plain_rate = static_cast<double>(plain.images) / plain.wall_s;
  const double job_rate = static_cast<double>(done.done) / job_s;
  const double ratio = job_rate / plain_rate;
  const double plain_outside = 1.0 - plain.engine_s / plain.wall_s;
  const double instances = static_cast<double>(config.instances.count);
  const double job_outside = 1.0 - job_engine_s / (job_s * instances);
  const double avg_batch = stats.executions > 0 ? static_cast<double>(stats.inferences) /
                                                      static_cast<double>(stats.executions)
                                                : 0;
  std::cout << absl::StrFormat("%-28s %10s %10s %14s\n", "", "images/s", "wall s", "outside model");
  std::cout << absl::StrFormat("%-28s %10.2f %10.2f %13.1f%%\n", "plain loop (batch 1)", plain_rate,
                               plain.wall_s, 100 * plain_outside);
  std::cout << absl::StrFormat(
      "%-28s %10.2f %10.2f %13.1f%%\n",
      StrCat("job (", config.instances.count, " instance", config.instances.count > 1 ? "s)" : ")"),
      job_rate, job_s, 100 * job_outside);
  std::cout << absl::StrFormat("job ingest (upload side): %.2f s; average batch %.2f\n", ingest_s,
                               avg_batch);
  const nlohmann::json timings = nlohmann::json::parse(done.timings_json, nullptr, false);
  if (timings.is_object() && done.done > 0) {
    const double n = static_cast<double>(done.done);
    std::cout << absl::StrFormat(
        "job per image (worker thread): decode %.1f ms, preprocess %.1f ms, postprocess + encode "
        "+ store %.1f ms\n",
        timings.value("decode_ms", 0.0) / n, timings.value("preprocess_ms", 0.0) / n,
        timings.value("postprocess_ms", 0.0) / n);
  }
  std::cout << absl::StrFormat("ratio job / plain loop: %.3f\n", ratio);
  if (!options.output_json.empty()) {
    nlohmann::json report = {{"model", config.name},
                             {"images", options.images},
                             {"size", options.size},
                             {"plain",
                              {{"images_per_s", plain_rate},
                               {"wall_s", plain.wall_s},
                               {"outside_model", plain_outside},
                               {"errors", plain.errors}}},
                             {"job",
                              {{"images_per_s", job_rate},
                               {"wall_s", job_s},
                               {"outside_model", job_outside},
                               {"ingest_s", ingest_s},
                               {"instances", config.instances.count},
                               {"average_batch", avg_batch}}},
                             {"ratio", ratio}};
    std::ofstream(options.output_json) << report.dump(2) << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

int RunBenchJob(const BenchJobOptions& options) {
  SetLogLevel(LogLevel::kWarning);
  Status s = BenchJob(options);
  if (!s.ok()) {
    std::cerr << "infera bench job: " << s.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace infera
