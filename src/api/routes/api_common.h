// Shared pieces of the /api route families (datasets, files, models, inferences):
// id parsing, JSON bodies, multipart uploads, running blocking handlers off the I/O
// threads (the JSON forms of store records are in store/record_json.h).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_context.h"
#include "api/http_types.h"
#include "api/multipart.h"
#include "common/status.h"
#include "serving/ownership.h"
#include "store/record_json.h"
#include "store/store.h"

namespace infera {

// A record id from a path parameter or a JSON value: a positive decimal integer
// (a JSON number or a string of digits). InvalidArgument "invalid <what> id '...'"
// otherwise.
StatusOr<int64_t> ParseId(std::string_view text, std::string_view what);
StatusOr<int64_t> ParseIdJson(const nlohmann::json& value, std::string_view what);

// The request body as a JSON object; InvalidArgument for malformed JSON or a
// non-object. An empty body is an empty object.
StatusOr<nlohmann::json> JsonBody(const HttpRequest& request);

// The parts of a multipart/form-data request (body spooled to a file or in memory);
// file parts go to temporary files in ctx.tmp_dir, which *cleanup removes when the
// caller is done. InvalidArgument for a malformed body or a wrong content type.
StatusOr<std::vector<MultipartPart>> ReadMultipart(const ApiContext& ctx, const HttpRequest& req,
                                                   MultipartTempFiles* cleanup);

// Who may call a route when authentication is on (ctx.auth set).
enum class Access { kPublic, kUser, kAdmin };

// A handler that authenticates first (when ctx.auth is set) and then calls `handler`
// with request.principal set: 401 {"error": reason} with `WWW-Authenticate: Bearer`
// when the Authorization header holds no valid token or API key; 403 when `access` is
// kAdmin and the caller is not an admin. With ctx.auth null (auth off) or kPublic it
// calls `handler` directly. Runs the check on the calling thread (a store lookup).
Handler Guarded(const ApiContext& ctx, Access access, Handler handler);

// Ownership (the rules are serving/ownership.h's, applied to request.principal): an
// unknown or someone else's record is "<kind> <id> not found", 404.
int64_t CallerId(const HttpRequest& req);                    // 0 without a principal
std::optional<int64_t> OwnerFilter(const HttpRequest& req);  // nullopt: every owner
StatusOr<DatasetRecord> VisibleDataset(const ApiContext& ctx, const HttpRequest& req, int64_t id);

// After a delete committed: removes the blobs it left unreferenced (SweepUnusedBlobs:
// those another upload pinned meanwhile stay) and returns how many went. A failed sweep
// is logged (blob_sweep_failed) and counts 0; the delete stands.
size_t SweepAfterDelete(const ApiContext& ctx, const std::vector<std::string>& unreferenced);
StatusOr<FileRecord> VisibleFile(const ApiContext& ctx, const HttpRequest& req, int64_t id);

// Runs `work` on ctx.blocking and responds with what it returns (a Status error becomes
// its JSON error response). 503 when the pool is shut down.
void RunBlocking(const ApiContext& ctx, Responder respond,
                 std::function<StatusOr<HttpResponse>()> work);

// A route handler that runs `fn` on the blocking pool (see RunBlocking).
using BlockingFn = std::function<StatusOr<HttpResponse>(const ApiContext&, const HttpRequest&)>;
Handler Blocking(const ApiContext& ctx, BlockingFn fn);

// A route handler that runs `fn` on the blocking pool, where it responds itself (for
// streamed responses: it may respond first and go on producing the body).
using StreamingFn = std::function<void(const ApiContext&, const HttpRequest&, const Responder&)>;
Handler Streaming(const ApiContext& ctx, StreamingFn fn);

}  // namespace infera
