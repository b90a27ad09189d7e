// The one place where Status codes become HTTP status codes:
//   InvalidArgument 400, OutOfRange 400, Unauthenticated 401, PermissionDenied 403,
//   NotFound 404, AlreadyExists 409, FailedPrecondition 409, Aborted 409,
//   ResourceExhausted 413, Unavailable 503 (with Retry-After: 1), DeadlineExceeded 504,
//   Unimplemented 501, everything else 500; out of space (common/out_of_space.h) 507.
#pragma once

#include "api/http_types.h"
#include "common/status.h"

namespace infera {

int HttpStatusFor(const Status& status);
// {"error": status.message()} with the mapped code (and Retry-After for 503).
HttpResponse StatusResponse(const Status& status);

}  // namespace infera
