#include "backends/torchscript/torchscript_backend.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <thread>

#include "absl/strings/str_format.h"
#include "backends/torchscript/cpu_engine.h"
#include "backends/torchscript/torch_types.h"
#include "backends/torchscript/torch_warnings.h"
#include "common/logging.h"
#include "common/strings.h"

namespace infera {

namespace {

StatusOr<c10::ScalarType> ToTorch(DType dtype) {
  std::optional<c10::ScalarType> type = TorchScalarType(dtype);
  if (!type) {
    return absl::InvalidArgumentError(
        StrCat("datatype ", DTypeName(dtype), " is not supported by TorchScript"));
  }
  return *type;
}

StatusOr<DType> FromTorch(c10::ScalarType type) {
  std::optional<DType> dtype = ProtocolDType(type);
  if (!dtype) {
    return absl::InternalError(
        StrCat("output type ", c10::toString(type), " has no protocol datatype"));
  }
  return *dtype;
}

// The first line of a LibTorch exception message (the rest is a C++ backtrace or a
// TorchScript traceback a user cannot act on) plus the innermost "RuntimeError:" line.
std::string Readable(const std::exception& e) {
  std::string_view what = e.what();
  std::string_view first = what.substr(0, what.find('\n'));
  const size_t rt = what.rfind("RuntimeError: ");
  if (rt != std::string_view::npos) {
    std::string_view inner = what.substr(rt + 14);
    inner = inner.substr(0, inner.find('\n'));
    if (inner != first) return StrCat(inner);
  }
  return std::string(first);
}

class TorchScriptBackend final : public Backend {
 public:
  TorchScriptBackend(BackendOptions options, torch::jit::Module module, c10::Device device,
                     int64_t weight_bytes, std::string optimization)
      : options_(std::move(options)),
        module_(std::move(module)),
        device_(device),
        weight_bytes_(weight_bytes),
        optimization_(std::move(optimization)),
        threads_(IntraOpThreads(options_)) {}

  int64_t weight_bytes() const override { return weight_bytes_; }
  std::string graph_optimization() const override { return optimization_; }

  void PrepareThread() override {
    if (device_.is_cpu()) return;  // CPU work runs on a CpuEngine lane
    at::set_num_threads(threads_);
  }

  StatusOr<std::vector<Tensor>> Execute(std::vector<Tensor>& inputs) override {
    if (!device_.is_cpu()) return ExecuteHere(inputs);
    StatusOr<std::vector<Tensor>> result;
    CpuEngine::Get().Run(options_.instance, threads_, [&] { result = ExecuteHere(inputs); });
    return result;
  }

 private:
  StatusOr<std::vector<Tensor>> ExecuteHere(std::vector<Tensor>& inputs) {
    TorchWarningsToLog warnings(options_.model_name);
    try {
      c10::InferenceMode guard;
      std::vector<c10::IValue> args;
      args.reserve(inputs.size());
      for (Tensor& in : inputs) {
        ASSIGN_OR_RETURN(c10::ScalarType type, ToTorch(in.dtype()));
        at::Tensor t = torch::from_blob(in.data(), in.shape(), torch::TensorOptions(type));
        if (!device_.is_cpu()) t = t.to(device_);
        args.emplace_back(std::move(t));
      }
      c10::IValue result = module_.forward(std::move(args));
      return Collect(result);
    } catch (const std::exception& e) {
      return absl::InternalError(StrCat("model '", options_.model_name, "' failed: ", Readable(e)));
    }
  }

  StatusOr<Tensor> Convert(const at::Tensor& value) const {
    at::Tensor t = value.to(at::kCPU).contiguous();
    ASSIGN_OR_RETURN(DType dtype, FromTorch(t.scalar_type()));
    Shape shape(t.sizes().begin(), t.sizes().end());
    Tensor out(dtype, std::move(shape));
    if (out.byte_size() > 0) std::memcpy(out.data(), t.data_ptr(), out.byte_size());
    return out;
  }

  StatusOr<Tensor> ConvertValue(const c10::IValue& v, std::string_view what) const {
    if (!v.isTensor()) {
      return absl::InternalError(StrCat("model '", options_.model_name, "': output ", what,
                                        " is a ", v.tagKind(), ", not a tensor"));
    }
    return Convert(v.toTensor());
  }

  // A tuple's or list's outputs: the elements at output_positions, or at positions
  // 0..n-1 for n output_names (each must be a tensor), or with neither every tensor
  // element in order — the first element must be one (runners read the first output);
  // later non-tensor elements (Cellpose's CPnet returns a list of feature maps after its
  // flows) are not outputs.
  StatusOr<std::vector<Tensor>> CollectSequence(const std::vector<c10::IValue>& items) const {
    const auto& names = options_.output_names;
    const auto& positions = options_.output_positions;
    std::vector<Tensor> outputs;
    if (!positions.empty()) {
      for (size_t i = 0; i < positions.size(); ++i) {
        const size_t at = static_cast<size_t>(positions[i]);
        const std::string name = i < names.size() ? names[i] : StrCat("#", i);
        if (at >= items.size()) {
          return absl::InternalError(StrCat("model '", options_.model_name, "' returns ",
                                            items.size(), " outputs but its config puts '", name,
                                            "' at position ", at));
        }
        ASSIGN_OR_RETURN(Tensor t, ConvertValue(items[at], StrCat("#", at, " ('", name, "')")));
        outputs.push_back(std::move(t));
      }
      return outputs;
    }
    if (!names.empty()) {
      if (names.size() > items.size()) {
        return absl::InternalError(StrCat("model '", options_.model_name, "' returns ",
                                          items.size(), " outputs but its config names ",
                                          names.size()));
      }
      for (size_t i = 0; i < names.size(); ++i) {
        if (!items[i].isTensor()) {
          return absl::InternalError(StrCat("model '", options_.model_name, "': output #", i, " ('",
                                            names[i], "') is a ", items[i].tagKind(),
                                            ", not a tensor; to pick outputs by position, write "
                                            "outputs: {name: position, ...} in model.yaml"));
        }
        ASSIGN_OR_RETURN(Tensor t, Convert(items[i].toTensor()));
        outputs.push_back(std::move(t));
      }
      return outputs;
    }
    if (items.empty()) {
      return absl::InternalError(
          StrCat("model '", options_.model_name, "' returned an empty tuple or list"));
    }
    if (!items[0].isTensor()) {
      return absl::InternalError(
          StrCat("model '", options_.model_name, "': output #0 is a ", items[0].tagKind(),
                 ", not a tensor; name the outputs to use by position in model.yaml, e.g. "
                 "outputs: {flows: 1}"));
    }
    for (const c10::IValue& item : items) {
      if (!item.isTensor()) continue;
      ASSIGN_OR_RETURN(Tensor t, Convert(item.toTensor()));
      outputs.push_back(std::move(t));
    }
    return outputs;
  }

  StatusOr<std::vector<Tensor>> Collect(const c10::IValue& result) const {
    const auto& names = options_.output_names;
    std::vector<Tensor> outputs;
    if (!options_.output_positions.empty() && !result.isTuple() && !result.isList()) {
      return absl::InternalError(StrCat("model '", options_.model_name, "' returns a ",
                                        result.tagKind(),
                                        "; outputs: {name: position} applies to a tuple or list"));
    }
    if (result.isTensor()) {
      ASSIGN_OR_RETURN(Tensor t, Convert(result.toTensor()));
      outputs.push_back(std::move(t));
      return outputs;
    }
    if (result.isTuple() || result.isList()) {
      std::vector<c10::IValue> items;
      if (result.isTuple()) {
        const auto& elems = result.toTupleRef().elements();
        items.assign(elems.begin(), elems.end());
      } else {
        for (const c10::IValue& v : result.toListRef()) items.push_back(v);
      }
      return CollectSequence(items);
    }
    if (result.isGenericDict()) {
      const c10::Dict<c10::IValue, c10::IValue> dict = result.toGenericDict();
      if (names.empty()) {
        for (const auto& entry : dict) {
          ASSIGN_OR_RETURN(Tensor t, ConvertValue(entry.value(), entry.key().tagKind()));
          outputs.push_back(std::move(t));
        }
        return outputs;
      }
      for (const std::string& name : names) {
        auto it = dict.find(c10::IValue(name));
        if (it == dict.end()) {
          std::vector<std::string> keys;
          for (const auto& entry : dict) {
            if (entry.key().isString()) keys.push_back(entry.key().toStringRef());
          }
          return absl::InternalError(StrCat("model '", options_.model_name,
                                            "' returned no output named '", name,
                                            "' (it returns: ", StrJoin(keys, ", "), ")"));
        }
        ASSIGN_OR_RETURN(Tensor t, ConvertValue(it->value(), name));
        outputs.push_back(std::move(t));
      }
      return outputs;
    }
    return absl::InternalError(StrCat("model '", options_.model_name, "' returned a ",
                                      result.tagKind(),
                                      "; expected a tensor, tuple, list or dict"));
  }

  const BackendOptions options_;
  torch::jit::Module module_;
  const c10::Device device_;
  const int64_t weight_bytes_;
  const std::string optimization_;
  const int threads_;  // intra-op threads of every forward
};

StatusOr<c10::Device> ParseDevice(const BackendOptions& options) {
  if (options.device == "cpu") return c10::Device(c10::kCPU);
  if (options.device.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available()) {
      return absl::FailedPreconditionError(StrCat(
          "model '", options.model_name, "': device '", options.device,
          "' requested, but this LibTorch build has no CUDA support or sees no CUDA device"));
    }
    try {
      c10::Device device(options.device);
      if (device.has_index() && device.index() >= static_cast<int>(torch::cuda::device_count())) {
        return absl::FailedPreconditionError(StrCat("model '", options.model_name, "': device '",
                                                    options.device, "' does not exist (",
                                                    torch::cuda::device_count(), " CUDA devices)"));
      }
      return device;
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(
          StrCat("model '", options.model_name, "': bad device '", options.device, "'"));
    }
  }
  return absl::InvalidArgumentError(StrCat("model '", options.model_name, "': unknown device '",
                                           options.device, "' (expected cpu or cuda:N)"));
}

}  // namespace

int IntraOpThreads(const BackendOptions& options) {
  if (options.intra_op_threads > 0) return options.intra_op_threads;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (options.device != "cpu") return cores;
  return std::max(1, cores / std::max(1, options.instances));
}

namespace {

// The loaded module, the bytes of its parameters and buffers (counted before freezing
// turns them into graph constants), and how it was prepared (Backend::graph_optimization).
struct LoadedModule {
  torch::jit::Module module;
  int64_t weight_bytes = 0;
  std::string optimization;
};

// The tensors of a forward's result, in order (a tensor; a tuple's or list's elements; a
// dict's values), nested containers flattened; other values are skipped.
void CollectTensors(const c10::IValue& v, std::vector<at::Tensor>* out) {
  if (v.isTensor()) {
    out->push_back(v.toTensor());
  } else if (v.isTuple()) {
    for (const c10::IValue& e : v.toTupleRef().elements()) CollectTensors(e, out);
  } else if (v.isList()) {
    for (const c10::IValue& e : v.toListRef()) CollectTensors(e, out);
  } else if (v.isGenericDict()) {
    for (const auto& entry : v.toGenericDict()) CollectTensors(entry.value(), out);
  }
}

// The deterministic batch of 2 the self-check feeds (seeded normal values, or uniform
// 0..255 for a UINT8 input), or nullopt with the reason when it cannot build one: the
// input's shape is not fixed in model.yaml, or forward takes more than one input.
std::optional<at::Tensor> ProbeInput(const BackendOptions& options, torch::jit::Module& module,
                                     c10::Device device, std::string* why_not) {
  if (options.input_shape.empty()) {
    *why_not = "the input size is not fixed";
    return std::nullopt;
  }
  const size_t arguments = module.get_method("forward").function().getSchema().arguments().size();
  if (arguments != 2) {  // self and one input
    *why_not = StrCat("forward takes ", arguments - 1, " inputs");
    return std::nullopt;
  }
  std::vector<int64_t> shape{2};
  shape.insert(shape.end(), options.input_shape.begin(), options.input_shape.end());
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(20261123);
  at::Tensor input = options.input_dtype == DType::kUInt8
                         ? at::randint(0, 256, shape, generator, at::TensorOptions(at::kByte))
                         : at::randn(shape, generator, at::TensorOptions(at::kFloat));
  return input.to(device);
}

// The largest difference between the outputs of `a` (the reference) and `b` on `input`,
// relative to max(1, largest magnitude of a's output), over every output tensor (NaN in
// both at the same place counts as equal); +inf when b's forward throws or the outputs
// differ in number or shape. Throws what a's forward throws.
double RelativeDifference(torch::jit::Module& a, torch::jit::Module& b, const at::Tensor& input) {
  c10::InferenceMode guard;
  std::vector<at::Tensor> outs_a, outs_b;
  CollectTensors(a.forward({input}), &outs_a);
  try {
    CollectTensors(b.forward({input}), &outs_b);
  } catch (const std::exception&) {
    return std::numeric_limits<double>::infinity();
  }
  if (outs_a.size() != outs_b.size()) return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (size_t i = 0; i < outs_a.size(); ++i) {
    at::Tensor x = outs_a[i].to(at::kCPU).to(at::kDouble);
    at::Tensor y = outs_b[i].to(at::kCPU).to(at::kDouble);
    if (x.sizes() != y.sizes()) return std::numeric_limits<double>::infinity();
    if (x.numel() == 0) continue;
    const at::Tensor both_nan = x.isnan().logical_and(y.isnan());
    const double diff = at::where(both_nan, at::zeros_like(x), (x - y).abs()).max().item<double>();
    const double scale =
        std::max(1.0, at::where(x.isnan(), at::zeros_like(x), x.abs()).max().item<double>());
    if (std::isnan(diff)) return std::numeric_limits<double>::infinity();
    worst = std::max(worst, diff / scale);
  }
  return worst;
}

// Outputs of an optimised module within this of the module as written pass the check
// (legitimate differences, from other summation orders, are ~1e-6).
constexpr double kOptimizationTolerance = 1e-3;

StatusOr<LoadedModule> LoadAndOptimize(const BackendOptions& options, c10::Device device) {
  TorchWarningsToLog warnings(options.model_name);
  torch::jit::Module module;
  int64_t weight_bytes = 0;
  try {
    module = torch::jit::load(options.artifact.string(), device);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(StrCat("model '", options.model_name,
                                             "': cannot load TorchScript file ",
                                             options.artifact.string(), ": ", Readable(e)));
  }
  for (const at::Tensor& p : module.parameters(/*recurse=*/true)) {
    weight_bytes += static_cast<int64_t>(p.nbytes());
  }
  for (const at::Tensor& b : module.buffers(/*recurse=*/true)) {
    weight_bytes += static_cast<int64_t>(b.nbytes());
  }
  c10::InferenceMode guard(false);
  module.eval();
  if (!options.optimize) return LoadedModule{module, weight_bytes, "none (optimize: false)"};
  torch::jit::Module optimized;
  try {
    torch::jit::Module frozen = torch::jit::freeze(module);  // a clone: `module` stays
    optimized = torch::jit::optimize_for_inference(frozen);
  } catch (const std::exception& e) {
    // Some scripted graphs cannot be frozen (e.g. with mutable attributes); such a model
    // still runs, unoptimized.
    Log(LogLevel::kWarning, "torchscript_not_optimized",
        {{"model", options.model_name}, {"reason", Readable(e)}});
    return LoadedModule{module, weight_bytes, StrCat("none (cannot be frozen: ", Readable(e), ")")};
  }

  // Self-check: torch 1.13's optimize_for_inference miscomputes some graphs (a conv
  // followed by clamp, relu6, hardtanh or hardswish gives outputs off by ~1), so the
  // optimised module must give the module's own outputs on a probe batch. If it does
  // not, the frozen module (freezing alone was right wherever this was seen) is checked
  // the same way; failing that, the module runs as written.
  std::string why_not;
  std::optional<at::Tensor> probe;
  double difference = 0;
  try {
    probe = ProbeInput(options, module, device, &why_not);
    if (probe) difference = RelativeDifference(module, optimized, *probe);
  } catch (const std::exception& e) {
    probe.reset();
    why_not = StrCat("the module as written fails on the probe batch: ", Readable(e));
  }
  if (!probe) {
    return LoadedModule{optimized, weight_bytes,
                        StrCat("optimize_for_inference (not checked: ", why_not, ")")};
  }
  if (difference <= kOptimizationTolerance) {
    return LoadedModule{optimized, weight_bytes, "optimize_for_inference"};
  }
  const std::string changed =
      std::isinf(difference)
          ? std::string(
                "optimize_for_inference's module fails or changes the output shapes "
                "on a probe batch")
          : StrCat("optimize_for_inference changed the outputs by ",
                   absl::StrFormat("%.3g", difference), " of their scale on a probe batch");
  Log(LogLevel::kWarning, "torchscript_optimization_rejected",
      {{"model", options.model_name}, {"reason", changed}});
  try {
    torch::jit::Module frozen = torch::jit::freeze(module);
    if (RelativeDifference(module, frozen, *probe) <= kOptimizationTolerance) {
      return LoadedModule{frozen, weight_bytes, StrCat("frozen (", changed, ")")};
    }
  } catch (const std::exception& e) {
    Log(LogLevel::kWarning, "torchscript_not_frozen",
        {{"model", options.model_name}, {"reason", Readable(e)}});
  }
  return LoadedModule{module, weight_bytes, StrCat("none (", changed, "; freezing too)")};
}

}  // namespace

StatusOr<std::unique_ptr<Backend>> CreateTorchScriptBackend(const BackendOptions& options) {
  ASSIGN_OR_RETURN(c10::Device device, ParseDevice(options));
  StatusOr<LoadedModule> module = absl::UnknownError("not loaded");
  if (device.is_cpu()) {
    // Freezing folds constants with real tensor ops: keep them on an engine thread too —
    // the background lane, so that a load does not hold a serving lane.
    CpuEngine::Get().RunBackground([&] { module = LoadAndOptimize(options, device); });
  } else {
    module = LoadAndOptimize(options, device);
  }
  if (!module.ok()) return module.status();
  return std::unique_ptr<Backend>(std::make_unique<TorchScriptBackend>(
      options, std::move(module->module), device, module->weight_bytes, module->optimization));
}

}  // namespace infera
