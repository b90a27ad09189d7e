#include "store/record_json.h"

#include "common/utf8.h"

namespace infera {

nlohmann::json DatasetJson(const DatasetRecord& d) {
  return {{"id", d.id},
          {"name", ToValidUtf8(d.name)},
          {"description", ToValidUtf8(d.description)},
          {"created_at", d.created_at},
          {"file_count", d.file_count},
          {"total_bytes", d.total_bytes}};
}

nlohmann::json FileJson(const FileRecord& f) {
  nlohmann::json j = {{"id", f.id},
                      {"filename", ToValidUtf8(f.filename)},
                      {"role", f.role},
                      {"type", ToValidUtf8(f.content_type)},
                      {"width", f.width},
                      {"height", f.height},
                      {"channels", f.channels},
                      {"bit_depth", f.bit_depth},
                      {"sample_type", ToValidUtf8(f.sample_type)},
                      {"pages", f.pages},
                      {"size", f.size},
                      {"sha256", f.sha256},
                      {"created_at", f.created_at}};
  if (f.dataset_id != 0) j["dataset_id"] = f.dataset_id;
  if (f.inference_id != 0) j["inference_id"] = f.inference_id;
  return j;
}

nlohmann::json InferenceJson(const InferenceRecord& job) {
  nlohmann::json params = nlohmann::json::parse(job.params_json, nullptr, false);
  nlohmann::json timings = nlohmann::json::parse(job.timings_json, nullptr, false);
  return {
      {"id", job.id},
      {"inference_id", job.id},
      {"dataset_id", job.dataset_id},
      {"model_id", ToValidUtf8(job.model_name)},
      {"model_version", job.model_version},
      {"runner_name", ToValidUtf8(job.runner_name)},
      {"params", params.is_discarded() ? nlohmann::json::object() : params},
      {"status", JobStatusName(job.status)},
      {"note", ToValidUtf8(job.note)},
      {"progress",
       {{"done", job.done},
        {"total", job.total},
        {"failed", job.failed_images},
        {"fraction", job.total > 0 ? static_cast<double>(job.done) / static_cast<double>(job.total)
                                   : (IsTerminal(job.status) ? 1.0 : 0.0)}}},
      {"cancel_requested", job.cancel_requested},
      {"attempts", job.attempts},
      {"created_at", job.created_at},
      {"started_at", job.started_at},
      {"finished_at", job.finished_at},
      {"timings", timings.is_discarded() ? nlohmann::json::object() : timings}};
}

nlohmann::json ResultJson(const InferenceResultRecord& r) {
  auto id_or_null = [](int64_t id) { return id != 0 ? nlohmann::json(id) : nlohmann::json(); };
  nlohmann::json summary = nlohmann::json::parse(r.summary_json, nullptr, false);
  return {{"source_filename", ToValidUtf8(r.source_filename)},
          {"source_file_id", r.source_file_id},
          {"class_mask_id", id_or_null(r.class_mask_id)},
          {"instance_mask_id", id_or_null(r.instance_mask_id)},
          {"preview_id", id_or_null(r.preview_id)},
          {"probability_id", id_or_null(r.probability_id)},
          {"summary", summary.is_discarded() ? nlohmann::json::object() : summary},
          {"error", r.error.empty() ? nlohmann::json() : nlohmann::json(ToValidUtf8(r.error))},
          {"elapsed_ms", r.elapsed_ms}};
}

}  // namespace infera
