// RequestContext: what a front end knows about one request and the core carries down to
// the batcher — an id for logs, a priority, a deadline, a cancel flag and a slot for a
// trace span. Every front end (HTTP routes, dataset job workers, the CLI) makes one per
// request or per job image; the services (serving/) copy it into each model call
// (InferenceRequest::context), where the batcher reads priority, deadline and cancel.
//
// Thread-safety: a plain value; copies share the cancel flag and the span. The cancel
// flag may be set from any thread (it is atomic); everything else is fixed once the
// context is handed to the core.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace infera {

// TraceSpan: the tracing layer's span for a request (declared here so that contexts can
// carry one; none is made until tracing exists).
struct TraceSpan;

struct RequestContext {
  // The front end's id for the request (the HTTP request id, or "job-<id>/<file>").
  std::string request_id;
  // Lower runs first: online requests 0, dataset jobs a higher number (jobs.priority).
  int priority = 0;
  // When the caller stops waiting; none: the model's default_timeout_ms applies.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // Optional: set it (any thread) when the result is no longer wanted. Model calls still
  // queued are dropped, and a result that arrives afterwards is not post-processed.
  std::shared_ptr<std::atomic<bool>> canceled;
  // Optional: the request's trace span.
  std::shared_ptr<TraceSpan> span;

  bool IsCanceled() const {
    return canceled != nullptr && canceled->load(std::memory_order_acquire);
  }
};

}  // namespace infera
