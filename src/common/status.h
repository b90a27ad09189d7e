// Status and StatusOr: infera's error values.
//
// We use absl::Status / absl::StatusOr<T> everywhere inside the server; exceptions
// from third-party libraries are caught in the adapter that calls them and turned into
// a Status whose message a user can act on. Codes have fixed meanings (see
// api/http_status.h for how each maps to HTTP):
//   InvalidArgument  bad input from the caller (400)
//   NotFound         unknown model, version, route (404)
//   ResourceExhausted body or image too large (413)
//   Unavailable      queue full, timed out in queue, not ready (503)
//   FailedPrecondition state conflict (409), Internal a bug or engine failure (500).
//
// The two macros below are the ones absl 20220623 does not ship.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace infera {

using absl::Status;
using absl::StatusOr;

}  // namespace infera

#define INFERA_CONCAT_INNER_(a, b) a##b
#define INFERA_CONCAT_(a, b) INFERA_CONCAT_INNER_(a, b)

// RETURN_IF_ERROR(expr): evaluates expr (a Status) and returns it from the calling
// function when it is not OK.
#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::absl::Status infera_status_ = (expr);          \
    if (!infera_status_.ok()) return infera_status_; \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): evaluates expr (a StatusOr<T>); on error returns its
// status, otherwise moves the value into lhs (which may be a declaration).
#define ASSIGN_OR_RETURN(lhs, expr) \
  INFERA_ASSIGN_OR_RETURN_IMPL_(INFERA_CONCAT_(infera_statusor_, __LINE__), lhs, expr)

// `lhs` may be a declaration, so it cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define INFERA_ASSIGN_OR_RETURN_IMPL_(var, lhs, expr) \
  auto var = (expr);                                  \
  if (!var.ok()) return std::move(var).status();      \
  lhs = std::move(var).value()
// NOLINTEND(bugprone-macro-parentheses)
