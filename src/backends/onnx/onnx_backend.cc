#include "backends/onnx/onnx_backend.h"

#include <algorithm>
#include <cstring>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/strings.h"
#include "onnx_import/onnx_import.h"

namespace infera {

namespace {

// OpenCV 4.6's importer wraps a node's failure as
//   "... Node [Clip@ai.onnx]:(onnx_node!p2o.Clip.0) parse error: OpenCV(4.6.0) file:line:
//    error: (-215:Assertion failed) cond in function 'parseClip'"
// and a failure while running as "... error: (-2:Unspecified error) ... in function 'X'".
// Readable keeps the node and op, and the innermost reason without file paths.
std::string Readable(const cv::Exception& e) {
  std::string_view what = e.what();
  std::string node_part;
  const size_t node = what.find("Node [");
  if (node != std::string_view::npos) {
    const size_t at = what.find('@', node);
    const size_t close = what.find(']', node);
    const size_t bang = what.find("onnx_node!", node);
    if (at != std::string_view::npos && close != std::string_view::npos && at < close) {
      std::string_view op = what.substr(node + 6, at - node - 6);
      std::string_view name;
      if (bang != std::string_view::npos) {
        const size_t end = what.find(')', bang);
        name = what.substr(bang + 10, end == std::string_view::npos ? end : end - bang - 10);
      }
      node_part = StrCat("node '", name, "' (op ", op, "): ");
    }
  }
  // The innermost "error: (code:kind) reason in function 'f'".
  std::string_view reason = what;
  const size_t err = what.rfind("error: (");
  if (err != std::string_view::npos) {
    reason = what.substr(err + 7);
    const size_t paren = reason.find(") ");
    if (paren != std::string_view::npos) reason = reason.substr(paren + 2);
  }
  std::string out = StrCat(node_part, reason);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ' || out.back() == '>')) {
    out.pop_back();
  }
  for (char& c : out) {
    if (c == '\n') c = ' ';
  }
  return out;
}

// A network ready to run at one set of input shapes.
struct ShapedNet {
  std::vector<std::vector<int>> shapes;
  cv::dnn::Net net;
};

// `fuse`: OpenCV's layer fusion (BackendOptions::optimize).
StatusOr<cv::dnn::Net> ReadNet(const std::string& bytes, bool fuse) {
  cv::dnn::Net net = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  net.enableFusion(fuse);
  return net;
}

class OnnxBackend final : public Backend {
 public:
  // At most this many networks (one per distinct input shape set) are kept; the least
  // recently used goes first.
  static constexpr size_t kMaxNets = 4;

  OnnxBackend(BackendOptions options, std::string model_bytes, cv::dnn::Net first,
              std::vector<std::string> inputs, std::vector<std::string> outputs,
              int64_t weight_bytes)
      : options_(std::move(options)),
        model_bytes_(std::move(model_bytes)),
        inputs_(std::move(inputs)),
        outputs_(std::move(outputs)),
        weight_bytes_(weight_bytes) {
    spare_ = std::move(first);
  }

  int64_t weight_bytes() const override { return weight_bytes_; }
  std::string graph_optimization() const override {
    return options_.optimize ? "layer fusion" : "none (optimize: false)";
  }
  std::vector<std::string> input_names() const override { return inputs_; }
  std::vector<std::string> output_names() const override {
    return std::vector<std::string>(selected_.begin(), selected_.end());
  }

  void PrepareThread() override {
    if (options_.intra_op_threads > 0) cv::setNumThreads(options_.intra_op_threads);
  }

  StatusOr<std::vector<Tensor>> Execute(std::vector<Tensor>& inputs) override {
    if (inputs.size() != inputs_.size()) {
      return absl::InvalidArgumentError(StrCat("model '", options_.model_name, "' takes ",
                                               inputs_.size(), " inputs, got ", inputs.size()));
    }
    std::vector<std::vector<int>> shapes;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].dtype() != DType::kFP32) {
        return absl::InvalidArgumentError(
            StrCat("model '", options_.model_name, "' (onnx): input '", inputs_[i], "' is ",
                   DTypeName(inputs[i].dtype()), "; the OpenCV DNN backend takes FP32"));
      }
      shapes.emplace_back(inputs[i].shape().begin(), inputs[i].shape().end());
    }
    try {
      ASSIGN_OR_RETURN(cv::dnn::Net * net, NetFor(shapes));
      for (size_t i = 0; i < inputs.size(); ++i) {
        // Wraps the tensor's bytes; setInput copies them into the network's blob.
        cv::Mat blob(static_cast<int>(shapes[i].size()), shapes[i].data(), CV_32F,
                     inputs[i].data());
        net->setInput(blob, inputs_[i]);
      }
      std::vector<cv::Mat> blobs;
      net->forward(blobs, selected_);
      std::vector<Tensor> outputs;
      outputs.reserve(blobs.size());
      for (size_t i = 0; i < blobs.size(); ++i) {
        ASSIGN_OR_RETURN(Tensor out, ToTensor(blobs[i], selected_[i]));
        outputs.push_back(std::move(out));
      }
      return outputs;
    } catch (const cv::Exception& e) {
      return absl::InternalError(
          StrCat("model '", options_.model_name, "' failed in OpenCV DNN: ", Readable(e)));
    }
  }

  // Chooses the outputs Execute returns: the graph outputs at
  // BackendOptions::output_positions, those named by output_names (graph output names),
  // or every graph output.
  Status SelectOutputs() {
    for (const int at : options_.output_positions) {
      if (at < 0 || static_cast<size_t>(at) >= outputs_.size()) {
        return absl::InvalidArgumentError(StrCat("model '", options_.model_name,
                                                 "': the graph has no output at position ", at,
                                                 " (it has ", outputs_.size(), ")"));
      }
      selected_.push_back(outputs_[at]);
    }
    if (!selected_.empty()) return absl::OkStatus();
    if (options_.output_names.empty()) {
      selected_.assign(outputs_.begin(), outputs_.end());
      return absl::OkStatus();
    }
    for (const std::string& name : options_.output_names) {
      if (std::find(outputs_.begin(), outputs_.end(), name) == outputs_.end()) {
        return absl::InvalidArgumentError(StrCat("model '", options_.model_name,
                                                 "': the graph has no output '", name,
                                                 "' (its outputs: ", StrJoin(outputs_, ", "), ")"));
      }
      selected_.push_back(name);
    }
    return absl::OkStatus();
  }

 private:
  // The network for these input shapes. OpenCV 4.6 keeps per-shape state in a network
  // after its first forward (fused layers): running an already used network at another
  // shape gives wrong results (PP-OCR det: off by up to 1.0 after a batch-size change).
  // So each shape set gets its own network, made from the model's bytes when first seen.
  StatusOr<cv::dnn::Net*> NetFor(const std::vector<std::vector<int>>& shapes) {
    for (auto it = nets_.begin(); it != nets_.end(); ++it) {
      if (it->shapes == shapes) {
        if (it != nets_.begin()) std::rotate(nets_.begin(), it, it + 1);  // most recent first
        return &nets_.front().net;
      }
    }
    ShapedNet fresh{shapes, cv::dnn::Net()};
    if (!spare_.empty()) {
      fresh.net = std::move(spare_);
      spare_ = cv::dnn::Net();
    } else {
      ASSIGN_OR_RETURN(fresh.net, ReadNet(model_bytes_, options_.optimize));
    }
    if (nets_.size() >= kMaxNets) nets_.pop_back();
    nets_.insert(nets_.begin(), std::move(fresh));
    return &nets_.front().net;
  }

  StatusOr<Tensor> ToTensor(const cv::Mat& m, const std::string& name) const {
    if (m.depth() != CV_32F) {
      return absl::InternalError(
          StrCat("model '", options_.model_name, "': output '", name, "' is not FP32"));
    }
    Shape shape(m.size.p, m.size.p + m.dims);
    if (m.channels() > 1) shape.push_back(m.channels());
    Tensor out(DType::kFP32, std::move(shape));
    const cv::Mat c = m.isContinuous() ? m : m.clone();
    if (out.byte_size() != c.total() * c.elemSize()) {
      return absl::InternalError(StrCat("model '", options_.model_name, "': output '", name,
                                        "' has an unexpected layout"));
    }
    if (out.byte_size() > 0) std::memcpy(out.data(), c.data, out.byte_size());
    return out;
  }

  const BackendOptions options_;
  const std::string model_bytes_;  // the imported model, for more networks
  const std::vector<std::string> inputs_;
  const std::vector<std::string> outputs_;
  std::vector<cv::String> selected_;
  const int64_t weight_bytes_;
  cv::dnn::Net spare_;           // the network made at load, until a shape claims it
  std::vector<ShapedNet> nets_;  // most recently used first
};

}  // namespace

StatusOr<std::unique_ptr<Backend>> CreateOnnxBackend(const BackendOptions& options) {
  if (options.device != "cpu") {
    return absl::FailedPreconditionError(
        StrCat("model '", options.model_name, "': the onnx backend (OpenCV DNN) runs on the CPU; ",
               "device '", options.device, "' is not supported"));
  }
  // OpenCV logs its own copy of every error it throws; the Status carries it.
  static const bool quiet = [] {
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    return true;
  }();
  (void)quiet;
  ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(options.artifact));
  OnnxImportOptions import;
  if (!options.input_shape.empty()) {
    std::vector<int64_t> shape = options.input_shape;
    shape.insert(shape.begin(), -1);  // the batch stays free
    import.input_shapes.emplace_back("", std::move(shape));
  }
  OnnxImportReport report;
  StatusOr<std::string> fixed = ImportOnnx(bytes, import, &report);
  if (!fixed.ok()) {
    return absl::Status(fixed.status().code(), StrCat("model '", options.model_name, "' (",
                                                      options.artifact.filename().string(),
                                                      "): ", fixed.status().message()));
  }
  if (!report.changes.empty()) {
    Log(LogLevel::kInfo, "onnx_rewritten",
        {{"model", options.model_name},
         {"changes", std::to_string(report.changes.size())},
         {"first", report.changes.front()},
         {"hint", "infera models import writes the rewritten model once"}});
  }
  for (const std::string& warning : report.warnings) {
    Log(LogLevel::kWarning, "onnx_import_warning",
        {{"model", options.model_name}, {"warning", warning}});
  }
  std::vector<std::string> inputs, outputs;
  for (const auto& io : report.inputs) inputs.push_back(io.name);
  for (const auto& io : report.outputs) outputs.push_back(io.name);
  try {
    ASSIGN_OR_RETURN(cv::dnn::Net net, ReadNet(*fixed, options.optimize));
    int64_t weights = 0;
    if (!report.inputs.empty()) {
      cv::dnn::MatShape shape(report.inputs[0].shape.begin(), report.inputs[0].shape.end());
      if (!shape.empty() && shape[0] < 0) shape[0] = 1;
      bool fixed_shape = !shape.empty();
      for (int d : shape) fixed_shape = fixed_shape && d > 0;
      if (fixed_shape) {
        size_t weight_bytes = 0, blob_bytes = 0;
        net.getMemoryConsumption(shape, weight_bytes, blob_bytes);
        weights = static_cast<int64_t>(weight_bytes);
      }
    }
    auto backend = std::make_unique<OnnxBackend>(options, std::move(*fixed), std::move(net),
                                                 std::move(inputs), std::move(outputs), weights);
    RETURN_IF_ERROR(backend->SelectOutputs());
    return std::unique_ptr<Backend>(std::move(backend));
  } catch (const cv::Exception& e) {
    return absl::FailedPreconditionError(
        StrCat("model '", options.model_name, "': OpenCV DNN cannot load ",
               options.artifact.filename().string(), ": ", Readable(e)));
  }
}

}  // namespace infera
