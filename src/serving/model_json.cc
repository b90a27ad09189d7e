#include "serving/model_json.h"

#include <algorithm>

#include "serving/oip_metadata.h"

namespace infera {

namespace {

std::string_view ColorName(ColorMode c) {
  switch (c) {
    case ColorMode::kGray:
      return "gray";
    case ColorMode::kRgb:
      return "rgb";
    case ColorMode::kBgr:
      return "bgr";
  }
  return "rgb";
}

std::string_view ModeName(PreferredBatchSizesMode mode) {
  switch (mode) {
    case PreferredBatchSizesMode::kAuto:
      return "auto";
    case PreferredBatchSizesMode::kList:
      return "list";
    case PreferredBatchSizesMode::kNone:
      return "none";
  }
  return "auto";
}

// The preferred batch sizes, where they came from, and (auto) the timings behind them.
nlohmann::json BatchSizesJson(const BatchSizeChoice& choice) {
  nlohmann::json out = {
      {"mode", ModeName(choice.mode)},
      {"preferred", choice.preferred},
  };
  if (choice.mode != PreferredBatchSizesMode::kAuto) return out;
  out["source"] = choice.source;
  out["budget_ms"] = choice.budget.count();
  out["timing_ms"] = choice.spent.count();
  if (!choice.note.empty()) out["note"] = choice.note;
  nlohmann::json sizes = nlohmann::json::array();
  for (const BatchSizeTiming& t : choice.timings) {
    const bool preferred = std::find(choice.preferred.begin(), choice.preferred.end(),
                                     t.batch_size) != choice.preferred.end();
    nlohmann::json entry = {
        {"batch_size", t.batch_size}, {"samples", t.samples}, {"preferred", preferred}};
    if (t.seconds) {
      entry["ms"] = *t.seconds * 1000.0;
      entry["ms_per_image"] = *t.seconds * 1000.0 / static_cast<double>(t.batch_size);
    } else {
      entry["ms"] = nullptr;
      entry["ms_per_image"] = nullptr;
    }
    sizes.push_back(std::move(entry));
  }
  out["timings"] = std::move(sizes);
  return out;
}

}  // namespace

nlohmann::json DescribeModel(const Model& model) {
  const ModelConfig& c = model.config();
  const BatcherStats stats = model.batcher().stats();
  nlohmann::json input = {
      {"name", c.input_name},
      {"color", ColorName(c.input.color)},
      {"size", c.input.size ? nlohmann::json{c.input.size->first, c.input.size->second}
                            : nlohmann::json("keep")},
      {"resize", c.input.resize == ResizeMode::kLetterbox ? "letterbox" : "stretch"},
      {"interpolation", c.input.interpolation == Interpolation::kBilinear ? "bilinear" : "nearest"},
      {"scale", c.input.scale ? nlohmann::json(*c.input.scale) : nlohmann::json("auto")},
      {"mean", c.input.mean},
      {"std", c.input.std},
      {"layout", c.input.layout == Layout::kNCHW ? "NCHW" : "NHWC"},
      {"dtype", DTypeName(c.input.dtype)},
      {"normalized_by", "server"},
  };
  // A uint8 input gets the 8-bit samples as they are (imaging/preprocess.h): the model's
  // graph scales and normalises them itself, so the server applies no scale/mean/std and
  // shows none (the InputSpec defaults, ImageNet's, would mislead).
  if (c.input.dtype == DType::kUInt8) {
    input["scale"] = nullptr;
    input["mean"] = nullptr;
    input["std"] = nullptr;
    input["normalized_by"] = "model";
  }
  nlohmann::json description = {
      {"name", c.name},
      {"version", c.version},
      {"state", "READY"},
      {"backend", c.backend},
      {"platform", OipPlatform(model)},
      {"runner", c.runner},
      {"description", c.description},
      {"input", std::move(input)},
      {"outputs", c.outputs},
      {"num_labels", c.labels.size()},
      {"batching",
       {{"max_batch_size", c.batching.max_batch_size},
        {"max_queue_delay_ms", c.batching.max_queue_delay_ms},
        {"max_queue_size", c.batching.max_queue_size},
        {"default_timeout_ms", c.batching.default_timeout_ms},
        {"preferred_batch_sizes", BatchSizesJson(model.batch_sizes())}}},
      {"instances",
       {{"count", c.instances.count},
        {"device", c.instances.device},
        {"threads", c.instances.threads}}},
      {"graph_optimization", model.graph_optimization()},
      {"load_time_ms", model.load_time().count()},
      {"queue_size", model.batcher().queue_size()},
      {"stats",
       {{"success", stats.success},
        {"failed", stats.failed},
        {"timed_out", stats.timed_out},
        {"rejected", stats.rejected},
        {"executions", stats.executions},
        {"inferences", stats.inferences}}},
  };
  // `outputs: {name: position}`: where each output is in what the model returns.
  if (!c.output_positions.empty()) description["output_positions"] = c.output_positions;
  return description;
}

nlohmann::json StatsJson(const Model& model) {
  const BatcherStats s = model.batcher().stats();
  auto duration = [](uint64_t count, uint64_t ns) {
    return nlohmann::json{{"count", count}, {"ns", ns}};
  };
  return {
      {"name", model.config().name},
      {"version", std::to_string(model.config().version)},
      {"last_inference", s.last_inference_ms},
      {"inference_count", s.inferences},
      {"execution_count", s.executions},
      {"inference_stats",
       {{"success", duration(s.success, 0)},
        {"fail", duration(s.failed, 0)},
        {"queue", duration(s.success + s.failed - s.timed_out, s.queue_ns)},
        {"compute_infer", duration(s.success + s.failed - s.timed_out, s.compute_ns)}}},
      {"pending_request_count", model.batcher().queue_size()},
      {"rejected_count", s.rejected},
      {"timeout_count", s.timed_out},
  };
}

}  // namespace infera
