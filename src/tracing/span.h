// TraceSpan: one timed operation of a trace (an HTTP request, a batch, a job image...),
// with attributes, events, links and a status, and SpanData, what an ended span leaves
// for the exporter.
//
// Spans are made by a Tracer (tracer.h) for work that starts a trace or continues one
// from another process, and by StartChildSpan / StartLinkedSpan below for work inside
// one (the core reaches them through RequestContext::span, so no layer needs the
// Tracer itself). A span that is not sampled is *non-recording*: it still has ids, so
// that a response can carry its traceparent, but every setter returns at once and
// nothing is exported; StartChildSpan of it returns null. Code that builds costly
// attribute values checks recording() first.
//
// Thread-safety: every method may be called from any thread (one mutex per span).
// End (or EndAt) hands the span's data to its tracer's queue once; later calls, and
// setters after End, do nothing. A recording span destroyed without End is ended then.
// Ownership: spans are shared (std::shared_ptr) by everything that may add to them; the
// queue they end into is shared too, so a span may outlive its Tracer (its data is then
// dropped and counted).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "tracing/trace_context.h"

namespace infera {

// The OTLP values of SpanKind and Status.code.
enum class SpanKind { kInternal = 1, kServer = 2, kClient = 3, kProducer = 4, kConsumer = 5 };
enum class SpanStatusCode { kUnset = 0, kOk = 1, kError = 2 };

using AttributeValue = std::variant<std::string, int64_t, double, bool>;

struct SpanAttribute {
  std::string key;
  AttributeValue value;
};

struct SpanEvent {
  std::string name;
  int64_t time_unix_nano = 0;
  std::vector<SpanAttribute> attributes;
};

struct SpanLink {
  SpanContext context;
  std::vector<SpanAttribute> attributes;
};

// SpanData: an ended span as the exporter sends it. parent_span_id all zeros: a root.
struct SpanData {
  SpanContext context;
  SpanId parent_span_id{};
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  int64_t start_unix_nano = 0;
  int64_t end_unix_nano = 0;
  std::vector<SpanAttribute> attributes;
  std::vector<SpanEvent> events;
  std::vector<SpanLink> links;
  SpanStatusCode status = SpanStatusCode::kUnset;
  std::string status_message;
};

class SpanQueue;

// The wall clock in nanoseconds since the Unix epoch, as OTLP spells times.
int64_t NowUnixNano();
// The wall-clock time of a steady_clock reading taken earlier (now minus the elapsed
// steady time): for code that timed its work with steady_clock (the batcher).
int64_t UnixNanoFromSteady(std::chrono::steady_clock::time_point t);

// Declared in common/request_context.h (so contexts can carry it); defined here.
struct TraceSpan {
 public:
  // A recording span ending into `queue` (null: non-recording). Prefer the factories
  // (Tracer, StartChildSpan, StartLinkedSpan).
  TraceSpan(SpanContext context, SpanId parent, std::string name, SpanKind kind,
            std::shared_ptr<SpanQueue> queue, int64_t start_unix_nano);
  ~TraceSpan();
  TraceSpan(const TraceSpan&) = delete;
  TraceSpan& operator=(const TraceSpan&) = delete;

  const SpanContext& context() const { return context_; }
  bool recording() const { return queue_ != nullptr; }
  // This span as the `traceparent` of what it calls or answers.
  std::string traceparent() const { return FormatTraceparent(context_); }
  // The queue it ends into (null when non-recording): for spans made beside it.
  const std::shared_ptr<SpanQueue>& queue() const { return queue_; }

  void SetName(std::string name) EXCLUDES(mu_);
  // Replaces an attribute of the same key.
  void SetAttribute(std::string key, AttributeValue value) EXCLUDES(mu_);
  void AddEvent(std::string name, std::vector<SpanAttribute> attributes = {}) EXCLUDES(mu_);
  void AddLink(const SpanContext& context, std::vector<SpanAttribute> attributes = {})
      EXCLUDES(mu_);
  void SetStatus(SpanStatusCode code, std::string message = {}) EXCLUDES(mu_);

  void End() EXCLUDES(mu_) { EndAt(NowUnixNano()); }
  void EndAt(int64_t end_unix_nano) EXCLUDES(mu_);

 private:
  const SpanContext context_;
  const std::shared_ptr<SpanQueue> queue_;
  Mutex mu_;
  bool ended_ GUARDED_BY(mu_) = false;
  SpanData data_ GUARDED_BY(mu_);
};

// Ends `span` (null: does nothing), as an error with the status's message when `status`
// is not OK.
void EndSpan(TraceSpan* span, const Status& status);

// A child of `parent` in its trace (recording), or null when `parent` is null or not
// recording. `start_unix_nano`: when the work began (default: now).
std::shared_ptr<TraceSpan> StartChildSpan(const TraceSpan* parent, std::string name,
                                          std::optional<int64_t> start_unix_nano = {},
                                          SpanKind kind = SpanKind::kInternal);
inline std::shared_ptr<TraceSpan> StartChildSpan(const std::shared_ptr<TraceSpan>& parent,
                                                 std::string name,
                                                 std::optional<int64_t> start_unix_nano = {},
                                                 SpanKind kind = SpanKind::kInternal) {
  return StartChildSpan(parent.get(), std::move(name), start_unix_nano, kind);
}

// A span that starts a trace of its own for work that serves several spans at once (a
// batch serving several requests: OpenTelemetry's batch-receive pattern), linked to
// every span of `served` (nulls skipped). Recording when one of them is (it ends into
// that span's queue); null when none is.
std::shared_ptr<TraceSpan> StartLinkedSpan(const std::vector<const TraceSpan*>& served,
                                           std::string name,
                                           std::optional<int64_t> start_unix_nano = {},
                                           SpanKind kind = SpanKind::kInternal);

}  // namespace infera
