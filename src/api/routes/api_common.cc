#include "api/routes/api_common.h"

#include <charconv>
#include <exception>

#include "api/http_status.h"
#include "common/strings.h"
#include "common/task_pool.h"

namespace infera {

StatusOr<int64_t> ParseId(std::string_view text, std::string_view what) {
  int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || text.size() > 18 || ec != std::errc() || end != text.data() + text.size() ||
      id <= 0 || text.front() == '+' || text.front() == '-') {
    std::string shown(text.substr(0, 64));
    return absl::InvalidArgumentError(
        StrCat("invalid ", what, " id '", shown, "' (expected a positive integer)"));
  }
  return id;
}

StatusOr<int64_t> ParseIdJson(const nlohmann::json& value, std::string_view what) {
  if (value.is_number_integer()) {
    const int64_t id = value.get<int64_t>();
    if (id > 0) return id;
    return absl::InvalidArgumentError(
        StrCat("invalid ", what, " id ", id, " (expected a positive integer)"));
  }
  if (value.is_string()) return ParseId(value.get<std::string>(), what);
  return absl::InvalidArgumentError(StrCat("invalid ", what, " id ", value.dump().substr(0, 64),
                                           " (expected a positive integer)"));
}

StatusOr<nlohmann::json> JsonBody(const HttpRequest& request) {
  if (request.body.empty()) return nlohmann::json::object();
  nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
  if (body.is_discarded()) return absl::InvalidArgumentError("malformed JSON body");
  if (!body.is_object()) return absl::InvalidArgumentError("the body must be a JSON object");
  return body;
}

void RunBlocking(const ApiContext& ctx, Responder respond,
                 std::function<StatusOr<HttpResponse>()> work) {
  auto task = [respond, work = std::move(work)]() {
    StatusOr<HttpResponse> response = [&]() -> StatusOr<HttpResponse> {
      try {
        return work();
      } catch (const std::exception& e) {
        return absl::InternalError(StrCat("internal error: ", e.what()));
      }
    }();
    respond(response.ok() ? std::move(*response) : StatusResponse(response.status()));
  };
  if (ctx.blocking == nullptr) {
    task();
    return;
  }
  if (!ctx.blocking->Post(task)) respond(ErrorResponse(503, "the server is shutting down"));
}

Handler Blocking(const ApiContext& ctx, BlockingFn fn) {
  return [ctx, fn = std::move(fn)](HttpRequest&& req, Responder respond) {
    auto shared = std::make_shared<HttpRequest>(std::move(req));
    RunBlocking(ctx, std::move(respond), [ctx, fn, shared] { return fn(ctx, *shared); });
  };
}

Handler Streaming(const ApiContext& ctx, StreamingFn fn) {
  return [ctx, fn = std::move(fn)](HttpRequest&& req, Responder respond) {
    auto shared = std::make_shared<HttpRequest>(std::move(req));
    auto task = [ctx, fn, shared, respond] { fn(ctx, *shared, respond); };
    if (ctx.blocking == nullptr) return task();
    if (!ctx.blocking->Post(task)) respond(ErrorResponse(503, "the server is shutting down"));
  };
}

nlohmann::json DatasetJson(const DatasetRecord& d) {
  return {{"id", d.id},
          {"name", d.name},
          {"description", d.description},
          {"created_at", d.created_at},
          {"file_count", d.file_count},
          {"total_bytes", d.total_bytes}};
}

nlohmann::json FileJson(const FileRecord& f) {
  nlohmann::json j = {{"id", f.id},
                      {"filename", f.filename},
                      {"role", f.role},
                      {"type", f.content_type},
                      {"width", f.width},
                      {"height", f.height},
                      {"channels", f.channels},
                      {"bit_depth", f.bit_depth},
                      {"sample_type", f.sample_type},
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
      {"model_id", job.model_name},
      {"model_version", job.model_version},
      {"runner_name", job.runner_name},
      {"params", params.is_discarded() ? nlohmann::json::object() : params},
      {"status", JobStatusName(job.status)},
      {"note", job.note},
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
  return {{"source_filename", r.source_filename},
          {"source_file_id", r.source_file_id},
          {"class_mask_id", id_or_null(r.class_mask_id)},
          {"instance_mask_id", id_or_null(r.instance_mask_id)},
          {"preview_id", id_or_null(r.preview_id)},
          {"probability_id", id_or_null(r.probability_id)},
          {"summary", summary.is_discarded() ? nlohmann::json::object() : summary},
          {"error", r.error.empty() ? nlohmann::json() : nlohmann::json(r.error)},
          {"elapsed_ms", r.elapsed_ms}};
}

}  // namespace infera
