// `infera train --model M --images DIR --masks DIR [--param k=v]... [--repository DIR]
// [--config FILE] [--work DIR]`: fine-tunes a model version offline on annotated images
// (training/trainer.h) and writes the result as the model folder's next version.
// --param: a training param (TrainingParamsSchema's names: epochs, lr, ...) or else a
// runner param (as a request's `params`, e.g. cellpose's diameter), which the runner
// checks (an unknown key is refused naming it) and training.json records.
//
// Samples: every image file of --images (sorted, hidden files skipped) with a mask in
// --masks of the same file name, or of the same stem with .png (label PNGs: 0
// background, class ids or instance ids as the runner reads them); images without one
// are skipped (and counted). classify models read `labels.csv` in --masks (or --masks
// itself when it is a file): lines "file,class" where class is a label of the model or
// a class index; a first line "file,..." is a header; the format and the matching of
// file names are the server's labels_csv import's (annotations/labels_csv.h). A line that
// is malformed, names an unknown class or labels an image a second time is an error.
// Output: a progress bar on stderr (a line per epoch when stderr is not a terminal),
// a line per epoch, then MODEL_FOLDER/VERSION/ (VERSION = the highest + 1) with the best
// epoch's artifact and training.json (training/training_record.h), and a note when the
// version is held back (its score is below the parent's on the same split).
// --work keeps the checkpoints there (a second run with the same inputs resumes);
// without it they go to a temporary folder removed at the end.
// Exit codes: 0 trained and written; 1 nothing written (bad options, model, images).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "annotations/import_types.h"
#include "annotations/labels_csv.h"
#include "cli/cli.h"
#include "cli/model_source.h"
#include "cli/param_pairs.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/strings.h"
#include "imaging/codec.h"
#include "models/model_config.h"
#include "runners/runner_registry.h"
#include "training/trainer.h"
#include "training/training_record.h"

namespace infera {

namespace fs = std::filesystem;

namespace {

StatusOr<Image> ReadImage(const fs::path& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  StatusOr<Image> image = DecodeImage(
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
  if (!image.ok()) {
    return absl::InvalidArgumentError(StrCat(path.string(), ": ", image.status().message()));
  }
  return image;
}

// The image files of `dir`, sorted by name (hidden entries skipped).
StatusOr<std::vector<fs::path>> ListImages(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return absl::NotFoundError(StrCat("no such folder: ", dir.string()));
  std::vector<fs::path> files;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with(".") || !e.is_regular_file(ec)) continue;
    if (name == "labels.csv") continue;
    files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// labels.csv (annotations/labels_csv.h, as the server's image_labels import reads it):
// index in `images` -> class index. A row naming no image of `images` is skipped (the
// CSV may cover more images than --images holds); any other refused row is an error
// naming its line.
StatusOr<std::map<size_t, int>> ReadLabelsCsv(const fs::path& path,
                                              const std::vector<fs::path>& images,
                                              const ModelConfig& model) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  std::vector<TargetImage> targets;
  for (size_t i = 0; i < images.size(); ++i) {
    targets.push_back({static_cast<int64_t>(i), images[i].filename().string()});
  }
  const ImageMatcher matcher(std::move(targets));
  LabelsCsvResolver resolver(
      [&matcher](std::string_view file) -> StatusOr<LabelsCsvImage> {
        const TargetImage* image = matcher.Find(file);
        if (image == nullptr) return absl::NotFoundError(StrCat("no image '", file, "'"));
        return LabelsCsvImage{image->file_id, image->filename};
      },
      [&model](std::string_view cls) -> StatusOr<int64_t> {
        const auto it = std::find(model.labels.begin(), model.labels.end(), cls);
        if (it != model.labels.end()) return it - model.labels.begin();
        int index = -1;
        const auto [end, errc] = std::from_chars(cls.data(), cls.data() + cls.size(), index);
        if (errc != std::errc() || end != cls.data() + cls.size() || index < 0 ||
            (!model.labels.empty() && index >= static_cast<int>(model.labels.size()))) {
          return absl::InvalidArgumentError(StrCat("'", cls, "' is neither a label of model '",
                                                   model.name, "' nor a class index"));
        }
        return index;
      });
  resolver.Add(path.string(), text);
  std::vector<std::string> errors;
  for (const LabelsCsvRejection& r : resolver.refused()) {
    if (r.code != absl::StatusCode::kNotFound) errors.push_back(StrCat(r.source, ": ", r.reason));
  }
  if (!errors.empty()) return absl::InvalidArgumentError(StrJoin(errors, "\n"));
  std::map<size_t, int> labels;
  for (const LabelsCsvAssignment& a : resolver.assigned()) {
    labels[static_cast<size_t>(a.image)] = static_cast<int>(a.label);
  }
  return labels;
}

StatusOr<std::vector<TrainingSample>> LoadSamples(const TrainOptions& options,
                                                  const ModelConfig& model, int* skipped) {
  ASSIGN_OR_RETURN(std::vector<fs::path> images, ListImages(options.images));
  const fs::path masks(options.masks);
  std::vector<TrainingSample> samples;
  if (model.runner == "classify") {
    std::error_code ec;
    const fs::path csv = fs::is_directory(masks, ec) ? masks / "labels.csv" : masks;
    ASSIGN_OR_RETURN(auto labels, ReadLabelsCsv(csv, images, model));
    for (size_t i = 0; i < images.size(); ++i) {
      const auto it = labels.find(i);
      if (it == labels.end()) {
        ++*skipped;
        continue;
      }
      TrainingSample s;
      s.name = images[i].filename().string();
      ASSIGN_OR_RETURN(s.image, ReadImage(images[i]));
      s.image_label = it->second;
      samples.push_back(std::move(s));
    }
    return samples;
  }
  for (const fs::path& path : images) {
    std::error_code ec;
    fs::path mask = masks / path.filename();
    if (!fs::exists(mask, ec)) mask = masks / (path.stem().string() + ".png");
    if (!fs::exists(mask, ec)) {
      ++*skipped;
      continue;
    }
    TrainingSample s;
    s.name = path.filename().string();
    ASSIGN_OR_RETURN(s.image, ReadImage(path));
    ASSIGN_OR_RETURN(s.mask, ReadImage(mask));
    samples.push_back(std::move(s));
  }
  return samples;
}

// The bar on stderr: redrawn on a terminal; otherwise only the epoch lines.
class TrainProgress {
 public:
  TrainProgress() : tty_(::isatty(STDERR_FILENO) == 1) {}
  void Step(int64_t step, int64_t steps) {
    if (!tty_) return;
    constexpr int kWidth = 30;
    const int filled = steps > 0 ? static_cast<int>(kWidth * step / steps) : kWidth;
    std::string bar(static_cast<size_t>(filled), '=');
    if (filled < kWidth) bar += '>';
    bar.resize(kWidth, ' ');
    std::fprintf(stderr, "\r[%s] step %lld/%lld", bar.c_str(), static_cast<long long>(step),
                 static_cast<long long>(steps));
    std::fflush(stderr);
    drawn_ = true;
  }
  void Line(const std::string& text) {
    if (drawn_) std::fprintf(stderr, "\r\033[K");
    std::fprintf(stderr, "%s\n", text.c_str());
    drawn_ = false;
  }

 private:
  const bool tty_;
  bool drawn_ = false;
};

// A temporary work folder removed on scope exit (none when --work names one).
class TempWork {
 public:
  ~TempWork() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  StatusOr<fs::path> Make() {
    std::string templ = (fs::temp_directory_path() / "infera-train-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) {
      return absl::InternalError("cannot create a temporary work folder");
    }
    path_ = templ;
    return path_;
  }

 private:
  fs::path path_;
};

// The keys of a JSON Schema's properties.
std::vector<std::string> PropertyNames(const nlohmann::json& schema) {
  std::vector<std::string> names;
  if (schema.contains("properties") && schema["properties"].is_object()) {
    for (const auto& [key, value] : schema["properties"].items()) names.push_back(key);
  }
  return names;
}

// --param pairs split into training params (TrainingParamsSchema's names) and the
// runner's (its params_schema's); InvalidArgument naming both lists for another key.
Status SplitParams(const nlohmann::json& pairs, const Runner& runner, nlohmann::json* training,
                   nlohmann::json* runner_params) {
  const std::vector<std::string> train_names = PropertyNames(TrainingParamsSchema());
  const std::vector<std::string> runner_names = PropertyNames(runner.params_schema());
  *training = nlohmann::json::object();
  *runner_params = nlohmann::json::object();
  for (const auto& [key, value] : pairs.items()) {
    auto has = [&key](const std::vector<std::string>& v) {
      return std::find(v.begin(), v.end(), key) != v.end();
    };
    if (has(train_names)) {
      (*training)[key] = value;
    } else if (has(runner_names)) {
      (*runner_params)[key] = value;
    } else {
      return absl::InvalidArgumentError(StrCat(
          "unknown training param '", key, "' (training params: ", StrJoin(train_names, ", "),
          "; runner ", runner.name(), "'s params: ",
          runner_names.empty() ? std::string("none") : StrJoin(runner_names, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

Status Train(const TrainOptions& options) {
  ASSIGN_OR_RETURN(nlohmann::json param_json, ParseParamPairs(options.params));
  ASSIGN_OR_RETURN(ModelConfig model,
                   ResolveModel(options.config, options.repository, options.model));
  const Runner* runner = FindRunner(model.runner);
  if (runner == nullptr) return absl::InvalidArgumentError(StrCat("unknown runner ", model.runner));
  // Training params by their names; the runner's by its (checked by Trainer::Create).
  nlohmann::json training_json, runner_json;
  RETURN_IF_ERROR(SplitParams(param_json, *runner, &training_json, &runner_json));
  ASSIGN_OR_RETURN(TrainingParams params, ParseTrainingParams(training_json));
  const fs::path folder = model.source.parent_path();
  if (model.source.filename() != "model.yaml") {
    return absl::InvalidArgumentError(StrCat("model '", model.name,
                                             "' is not a model folder (model.yaml with version "
                                             "folders): train writes a new version there"));
  }
  int skipped = 0;
  ASSIGN_OR_RETURN(std::vector<TrainingSample> samples, LoadSamples(options, model, &skipped));
  std::fprintf(stderr, "train: model %s v%lld (runner %s), %zu annotated images%s\n",
               model.name.c_str(), static_cast<long long>(model.version), model.runner.c_str(),
               samples.size(),
               skipped > 0 ? StrCat(", ", skipped, " without a mask skipped").c_str() : "");
  TempWork temp;
  fs::path work(options.work);
  if (work.empty()) {
    ASSIGN_OR_RETURN(work, temp.Make());
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Trainer> trainer,
                   Trainer::Create(model, *runner, params, std::move(samples), work, runner_json));
  TrainProgress progress;
  TrainingCallbacks callbacks;
  callbacks.on_step = [&](int64_t step, int64_t steps) { progress.Step(step, steps); };
  callbacks.log = [&](const std::string& line) { progress.Line(StrCat("train: ", line)); };
  ASSIGN_OR_RETURN(TrainingResult result, trainer->Run(callbacks));
  if (result.stopped) return absl::CancelledError("training stopped");

  const int64_t version = HighestVersionFolder(folder) + 1;
  const fs::path version_dir = folder / std::to_string(version);
  std::error_code ec;
  fs::create_directories(version_dir, ec);
  if (ec)
    return absl::InternalError(StrCat("cannot create ", version_dir.string(), ": ", ec.message()));
  nlohmann::json sources = {{"images", fs::absolute(options.images).string()},
                            {"masks", fs::absolute(options.masks).string()}};
  if (!runner_json.empty()) sources["runner_params"] = runner_json;
  const nlohmann::json record =
      TrainingRecordJson(result, params, model.version, model.runner, sources);
  // training.json first, the artifact last: a folder with the artifact is a complete
  // version (the repository serves only folders that hold it).
  RETURN_IF_ERROR(WriteFileDurably(version_dir / "training.json", record.dump(2) + "\n"));
  RETURN_IF_ERROR(CopyFileDurably(result.artifact, version_dir / model.artifact.filename()));
  std::printf(
      "trained %s in %.1f s (%.1f images/s): best epoch %d, score %.4f (parent v%lld: "
      "%.4f); version %lld written to %s\n",
      model.name.c_str(), result.seconds, result.images_per_second, result.best_epoch,
      result.best_score, static_cast<long long>(model.version), result.parent_score,
      static_cast<long long>(version), version_dir.string().c_str());
  if (HeldBack(result)) {
    std::printf(
        "held back: its validation score %.4f is below the parent's %.4f on the same "
        "split (training.json says held_back: true)\n",
        result.best_score, result.parent_score);
  }
  return absl::OkStatus();
}

}  // namespace

int RunTrain(const TrainOptions& options) {
  SetLogLevel(LogLevel::kWarning);
  const Status status = Train(options);
  if (!status.ok()) {
    std::fprintf(stderr, "infera train: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace infera
