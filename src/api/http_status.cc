#include "api/http_status.h"

#include "common/out_of_space.h"
#include "common/strings.h"

namespace infera {

int HttpStatusFor(const Status& status) {
  if (IsOutOfSpace(status)) return 507;
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 413;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    case absl::StatusCode::kUnimplemented:
      return 501;
    default:
      return 500;
  }
}

HttpResponse StatusResponse(const Status& status) {
  if (IsOutOfSpace(status)) {
    // 507 Insufficient Storage (RFC 4918): the server cannot store what the request needs
    // until space is freed; never a 500.
    return ErrorResponse(507, StrCat("the server's storage is full: ", ToStd(status.message()),
                                     "; free disk space and try again"));
  }
  HttpResponse response = ErrorResponse(HttpStatusFor(status), ToStd(status.message()));
  if (status.code() == absl::StatusCode::kUnavailable) response.headers["retry-after"] = "1";
  return response;
}

}  // namespace infera
