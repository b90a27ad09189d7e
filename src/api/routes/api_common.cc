#include "api/routes/api_common.h"

#include <charconv>
#include <exception>
#include <filesystem>

#include "api/http_status.h"
#include "auth/auth_service.h"
#include "common/logging.h"
#include "common/strings.h"
#include "common/task_pool.h"
#include "store/blob_lifetime.h"

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

StatusOr<std::vector<MultipartPart>> ReadMultipart(const ApiContext& ctx, const HttpRequest& req,
                                                   MultipartTempFiles* cleanup) {
  ASSIGN_OR_RETURN(std::string boundary, MultipartBoundary(req.header("content-type")));
  MultipartLimits limits;
  limits.max_parts = static_cast<size_t>(ctx.uploads.max_files_per_upload) + 16;
  std::error_code ec;
  std::filesystem::create_directories(ctx.tmp_dir, ec);
  StatusOr<std::vector<MultipartPart>> parts =
      req.body_file ? ParseMultipartFile(req.body_file->path, boundary, ctx.tmp_dir, limits)
                    : ParseMultipartString(req.body, boundary, ctx.tmp_dir, limits);
  if (parts.ok()) *cleanup = MultipartTempFiles(*parts);
  return parts;
}

Handler Guarded(const ApiContext& ctx, Access access, Handler handler) {
  if (ctx.auth == nullptr || access == Access::kPublic) return handler;
  AuthService* auth = ctx.auth;
  return [auth, access, handler](HttpRequest&& request, Responder respond) {
    StatusOr<Principal> caller = auth->Authenticate(request.header("authorization"));
    if (!caller.ok()) {
      HttpResponse r = StatusResponse(caller.status());
      if (r.status == 401) r.headers["www-authenticate"] = "Bearer";
      return respond(std::move(r));
    }
    if (access == Access::kAdmin && !caller->admin()) {
      return respond(ErrorResponse(403, "this needs an admin"));
    }
    request.principal = std::move(*caller);
    handler(std::move(request), std::move(respond));
  };
}

int64_t CallerId(const HttpRequest& req) { return infera::CallerId(req.principal); }

std::optional<int64_t> OwnerFilter(const HttpRequest& req) {
  return infera::OwnerFilter(req.principal);
}

size_t SweepAfterDelete(const ApiContext& ctx, const std::vector<std::string>& unreferenced) {
  StatusOr<std::vector<std::string>> removed =
      SweepUnusedBlobs(*ctx.store, *ctx.blobs, unreferenced);
  if (!removed.ok()) {
    Log(LogLevel::kWarning, "blob_sweep_failed",
        {{"error", std::string(ToStd(removed.status().message()))}});
    return 0;
  }
  return removed->size();
}

StatusOr<DatasetRecord> VisibleDataset(const ApiContext& ctx, const HttpRequest& req, int64_t id) {
  return infera::VisibleDataset(*ctx.store, req.principal, id);
}

StatusOr<FileRecord> VisibleFile(const ApiContext& ctx, const HttpRequest& req, int64_t id) {
  return infera::VisibleFile(*ctx.store, req.principal, id);
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

}  // namespace infera
