// `infera models import FILE.onnx`: runs the ONNX import step (onnx/onnx_import) on a
// file, prints what it changed (or the ops OpenCV DNN cannot run), and writes the
// rewritten model into a model repository (REPO/NAME/VERSION/model.onnx, with a starter
// model.yaml when the model has none) or to a file (--output).
#include <charconv>
#include <iostream>

#include "cli/cli.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/strings.h"
#include "models/model_config.h"
#include "onnx_import/onnx_import.h"

namespace infera {

namespace {

namespace fs = std::filesystem;

// "N,3,640,640": sizes, the first (the batch) may be N, ? or -1: left free.
StatusOr<std::vector<int64_t>> ParseShape(std::string_view text) {
  std::vector<int64_t> shape;
  for (std::string_view rest = text; !rest.empty();) {
    const size_t comma = rest.find(',');
    std::string_view part = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (shape.empty() && (part == "N" || part == "?" || part == "-1")) {
      shape.push_back(-1);
      continue;
    }
    int64_t v = 0;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (ec != std::errc() || p != part.data() + part.size() || v <= 0) {
      return absl::InvalidArgumentError(
          StrCat("--input-shape: '", text, "' is not a list of sizes such as N,3,640,640"));
    }
    shape.push_back(v);
  }
  return shape;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::vector<std::string> dims;
  for (int64_t d : shape) dims.push_back(d < 0 ? "?" : std::to_string(d));
  return StrCat("[", StrJoin(dims, ","), "]");
}

// The runner a graph's first output suggests: [N,K] scores -> classify, [N,1,H,W] ->
// binary_sigmoid, [N,C,H,W] -> multiclass_argmax.
std::string GuessRunner(const OnnxImportReport& report) {
  if (report.outputs.empty()) return "classify";
  const std::vector<int64_t>& s = report.outputs[0].shape;
  if (s.size() == 4) return s[1] == 1 ? "binary_sigmoid" : "multiclass_argmax";
  return "classify";
}

// A model.yaml to start from: the backend, the input's name and size, the outputs. The
// colour order and normalisation are the model's own business: the file says so.
std::string StarterYaml(const ModelsImportOptions& options, const OnnxImportReport& report) {
  std::string runner = options.runner.empty() ? GuessRunner(report) : options.runner;
  std::string yaml = StrCat("# Written by `infera models import` from ",
                            fs::path(options.file).filename().string(),
                            ".\n# Check input.color, scale, mean and std: they are the model's "
                            "training preprocessing, which the ONNX file does not record.\n",
                            "backend: onnx\nrunner: ", runner, "\n");
  if (!report.inputs.empty()) {
    const auto& in = report.inputs[0];
    yaml += StrCat("input:\n  name: ", in.name, "\n");
    if (in.shape.size() == 4) {
      const bool nhwc = in.shape[3] == 1 || in.shape[3] == 3;
      const bool nchw = in.shape[1] == 1 || in.shape[1] == 3;
      const bool use_nhwc = nhwc && !nchw;
      const int64_t c = use_nhwc ? in.shape[3] : in.shape[1];
      const int64_t h = use_nhwc ? in.shape[1] : in.shape[2];
      const int64_t w = use_nhwc ? in.shape[2] : in.shape[3];
      yaml += StrCat("  size: [", h, ", ", w, "]\n",
                     "  resize: stretch   # or letterbox: keep the aspect ratio, pad\n",
                     "  color: ", c == 1 ? "gray" : "rgb", "\n",
                     "  layout: ", use_nhwc ? "NHWC" : "NCHW", "\n");
    }
  }
  if (!report.outputs.empty()) {
    std::vector<std::string> names;
    for (const auto& out : report.outputs) names.push_back(out.name);
    yaml += StrCat("outputs: [", StrJoin(names, ", "), "]\n");
  }
  return yaml;
}

Status Import(const ModelsImportOptions& options) {
  if (options.repository.empty() == options.output.empty()) {
    return absl::InvalidArgumentError("give either --repository (with --name) or --output");
  }
  ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(options.file));
  OnnxImportOptions import;
  for (const std::string& spec : options.input_shapes) {
    // "name=1,3,640,640" or "1,3,640,640" (the first input).
    const size_t eq = spec.find('=');
    std::string name = eq == std::string::npos ? "" : spec.substr(0, eq);
    ASSIGN_OR_RETURN(std::vector<int64_t> shape,
                     ParseShape(eq == std::string::npos ? spec : spec.substr(eq + 1)));
    if (!shape.empty() && shape[0] == 1) {
      std::cout << "note: batch fixed at 1 (" << spec
                << "): the model will run one image at a time; N as the first size keeps "
                   "the batch free for dynamic batching\n";
    }
    import.input_shapes.emplace_back(std::move(name), std::move(shape));
  }
  OnnxImportReport report;
  StatusOr<std::string> fixed = ImportOnnx(bytes, import, &report);
  for (const std::string& change : report.changes) std::cout << "changed: " << change << "\n";
  for (const std::string& warning : report.warnings) std::cout << "warning: " << warning << "\n";
  if (!fixed.ok()) return fixed.status();
  if (report.changes.empty()) std::cout << "no changes needed\n";
  for (const auto& in : report.inputs) {
    std::cout << "input:  " << in.name << " " << in.dtype << " " << ShapeText(in.shape) << "\n";
  }
  for (const auto& out : report.outputs) {
    std::cout << "output: " << out.name << " " << out.dtype << " " << ShapeText(out.shape) << "\n";
  }

  fs::path target;
  if (!options.output.empty()) {
    target = options.output;
  } else {
    RETURN_IF_ERROR(ValidateModelName(options.name));
    const fs::path dir = fs::path(options.repository) / options.name;
    const int64_t version = options.version > 0 ? options.version : HighestVersionFolder(dir) + 1;
    const fs::path version_dir = dir / std::to_string(version);
    std::error_code ec;
    if (fs::exists(version_dir / "model.onnx", ec) && !options.force) {
      return absl::AlreadyExistsError(
          StrCat(version_dir.string(), " already holds a model.onnx (--force replaces it)"));
    }
    fs::create_directories(version_dir, ec);
    if (ec)
      return absl::InternalError(
          StrCat("cannot create ", version_dir.string(), ": ", ec.message()));
    if (!fs::exists(dir / "model.yaml", ec)) {
      RETURN_IF_ERROR(WriteFileDurably(dir / "model.yaml", StarterYaml(options, report)));
      std::cout << "wrote " << (dir / "model.yaml").string() << " (check its input section)\n";
    }
    target = version_dir / "model.onnx";
  }
  RETURN_IF_ERROR(WriteFileDurably(target, *fixed));
  std::cout << "wrote " << target.string() << "\n";
  return absl::OkStatus();
}

}  // namespace

int RunModelsImport(const ModelsImportOptions& options) {
  SetLogLevel(LogLevel::kWarning);
  Status s = Import(options);
  if (!s.ok()) {
    std::cerr << "infera models import: " << s.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace infera
